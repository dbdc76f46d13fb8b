package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// DefaultTimeout is the timeout of the HTTP client New makes.
const DefaultTimeout = 30 * time.Second

// MaxIdleConnsPerServer is how many idle connections to one server the
// clients New makes keep open. A portal verifies logins concurrently;
// net/http's default of 2 would close and reopen a connection for most
// requests beyond the second in flight.
const MaxIdleConnsPerServer = 128

// transport is the connection pool the clients New makes share.
var transport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = MaxIdleConnsPerServer
	t.MaxIdleConns = max(t.MaxIdleConns, MaxIdleConnsPerServer)
	return t
}()

// maxErrorBody is how much of an error response is read.
const maxErrorBody = 1 << 20

// Client calls a tokenlab server's HTTP API. Its fields may be set directly;
// a nil HTTP means a client with DefaultTimeout. It is safe for concurrent
// use once its fields are set, and keeps up to MaxIdleConnsPerServer
// connections to the server open for reuse.
type Client struct {
	// BaseURL is the server's address, e.g. "http://localhost:8080".
	BaseURL string
	// AuthToken is the bearer credential (administrator or service); empty
	// sends no Authorization header. (It is not named Token: that is the
	// method, named as server.Server's.)
	AuthToken string
	HTTP      *http.Client
}

// New returns a client of the server at baseURL (a trailing "/" is trimmed)
// that authenticates with token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), AuthToken: token, HTTP: &http.Client{Timeout: DefaultTimeout, Transport: transport}}
}

// Error is a refusal from the server: the HTTP status and the
// {"error":{"code","message"}} it answered with. An answer that is not that
// JSON gets the code "http_<status>" and the start of the body as message.
//
// It matches the server's sentinels by code, so code written against the
// in-process server works unchanged against a remote one:
// errors.Is(err, server.ErrTokenLocked) is true for a token_locked answer,
// and errors.As(err, &se) with se a *server.Error fills se's Code and
// Message (never its Detail, which the API does not send).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Message, e.Status)
}

// Is reports whether target is a *server.Error or *Error with the same code,
// or server.ErrUnavailable for the API's unavailable (503): the server's
// database cannot answer for now, and the call may be tried again.
func (e *Error) Is(target error) bool {
	if target == server.ErrUnavailable {
		return e.Code == "unavailable"
	}
	switch t := target.(type) {
	case *server.Error:
		return t != nil && string(t.Code) == e.Code
	case *Error:
		return t != nil && t.Code == e.Code
	}
	return false
}

// As fills a **server.Error with a new server.Error of e's code and message.
func (e *Error) As(target any) bool {
	if t, ok := target.(**server.Error); ok {
		*t = &server.Error{Code: server.Code(e.Code), Message: e.Message}
		return true
	}
	return false
}

// call sends a request and decodes a JSON answer into out (when not nil).
// route is the route's pattern, e.g. "/v1/tokens/{serial}"; args fill its
// {…} segments in order, path-escaped. Errors name the method and the
// pattern only: never the credential, a body, the query (which may hold a
// seed file's password) or a path value (which may be a session id).
func (c *Client) call(ctx context.Context, method, route string, args []string, query url.Values, in any, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("tokenlab client: %s %s: encoding the request: %w", method, route, err)
		}
		body = b
	}
	return c.send(ctx, method, route, args, query, "application/json", body, out)
}

func (c *Client) send(ctx context.Context, method, route string, args []string, query url.Values, contentType string, body []byte, out any) error {
	fail := func(what string, err error) error {
		return fmt.Errorf("tokenlab client: %s %s: %s%w", method, route, what, err)
	}
	u := strings.TrimSuffix(c.BaseURL, "/") + fill(route, args)
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fail("", stripURL(err))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+c.AuthToken)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fail("", stripURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && len(data) == 0 {
			return fail("reading the error answer: ", stripURL(err))
		}
		return errorOf(resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fail("decoding the answer: ", stripURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}

var defaultHTTP = &http.Client{Timeout: DefaultTimeout, Transport: transport}

// fill puts the path-escaped args into route's {…} segments, in order.
func fill(route string, args []string) string {
	if len(args) == 0 {
		return route
	}
	var b strings.Builder
	for i := 0; ; i++ {
		open := strings.IndexByte(route, '{')
		if open < 0 || i >= len(args) {
			b.WriteString(route)
			return b.String()
		}
		end := strings.IndexByte(route[open:], '}')
		b.WriteString(route[:open])
		b.WriteString(escape(args[i]))
		route = route[open+end+1:]
	}
}

// escape path-escapes a path segment, dots too, so that "." and ".." stay
// values rather than moving up the path.
func escape(s string) string {
	e := url.PathEscape(s)
	if strings.Trim(e, ".") == "" {
		e = strings.ReplaceAll(e, ".", "%2E")
	}
	return e
}

// stripURL drops the *url.Error layer, whose message holds the whole URL
// with its query (a seed file's password or key); what it wrapped stays
// reachable for errors.Is (context.Canceled, a timeout).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorOf makes the *Error of an answer with a status outside 2xx.
func errorOf(status int, data []byte) *Error {
	var env struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && env.Error != nil && env.Error.Code != "" {
		return &Error{Status: status, Code: env.Error.Code, Message: env.Error.Message}
	}
	msg := data
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return &Error{Status: status, Code: "http_" + strconv.Itoa(status), Message: strings.ToValidUTF8(string(msg), "\uFFFD")}
}

// Health checks that the server and its store answer.
func (c *Client) Health(ctx context.Context) error {
	return c.call(ctx, "GET", "/healthz", nil, nil, nil, nil)
}

// Policy returns the policy in force, read back from the API's document
// (GET /v1/policy).
func (c *Client) Policy(ctx context.Context) (server.Policy, error) {
	var doc json.RawMessage
	if err := c.call(ctx, "GET", "/v1/policy", nil, nil, nil, &doc); err != nil {
		return server.Policy{}, err
	}
	p, err := server.PolicyFromDocument(doc)
	if err != nil {
		return server.Policy{}, fmt.Errorf("GET /v1/policy: %w", err)
	}
	return p, nil
}

// The server and the HTTP client are one service.
var _ server.Service = (*Client)(nil)

// ImportSeedFile imports a seed file, all or nothing, and returns the
// serials. opts.Format is auto (or ""), pskc, csv or otpauth; opts.Key (sent
// hex-encoded) and opts.Password decrypt a PSKC file. Empty options are left
// out of the query.
func (c *Client) ImportSeedFile(ctx context.Context, actor server.Actor, data []byte, opts server.ImportOptions) ([]string, error) {
	if err := server.CheckAdmin(actor, "imports tokens"); err != nil {
		return nil, err
	}
	q := url.Values{}
	if opts.Format != "" {
		q.Set("format", opts.Format)
	}
	if len(opts.Key) > 0 {
		q.Set("key", hex.EncodeToString(opts.Key))
	}
	if opts.Password != "" {
		q.Set("password", opts.Password)
	}
	if data == nil {
		data = []byte{}
	}
	var out struct {
		Serials []string `json:"serials"`
	}
	err := c.send(ctx, "POST", "/v1/inventory", nil, q, "text/plain", data, &out)
	return out.Serials, err
}

// CreateAccount creates an account. An administrator needs the
// administrator credential; an organization administrator (or a user, whom
// the server refuses) is sent as "by", which the service credential may
// send too.
func (c *Client) CreateAccount(ctx context.Context, actor server.Actor, n server.NewAccount) (server.AccountView, error) {
	who, err := byOf(actor)
	if err != nil {
		return server.AccountView{}, err
	}
	in := struct {
		server.NewAccount
		By any `json:"by,omitempty"`
	}{n, who}
	if actor.Admin {
		in.By = nil // the administrator credential's own act, as before "by" existed
	}
	var out server.AccountView
	err = c.call(ctx, "POST", "/v1/accounts", nil, nil, in, &out)
	return out, err
}

// byObject is the object form of "by": the kind of actor and the acting
// account.
type byObject struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
}

// byOf is how the API names an actor in "by": "admin", or the object form
// with the acting account for an organization administrator or a user.
func byOf(actor server.Actor) (any, error) {
	if err := server.CheckActor(actor); err != nil {
		return nil, err
	}
	switch {
	case actor.Admin:
		return "admin", nil
	case actor.OrgAdmin:
		return byObject{"org_admin", actor.ID}, nil
	}
	return byObject{"user", actor.ID}, nil
}

// Accounts lists the accounts.
func (c *Client) Accounts(ctx context.Context) ([]server.AccountView, error) {
	var out []server.AccountView
	err := c.call(ctx, "GET", "/v1/accounts", nil, nil, nil, &out)
	return out, err
}

// Account returns an account.
func (c *Client) Account(ctx context.Context, userID string) (server.AccountView, error) {
	var out server.AccountView
	err := c.call(ctx, "GET", "/v1/accounts/{user_id}", []string{userID}, nil, nil, &out)
	return out, err
}

// Connect connects a child account to a parent and returns the child. The
// actor is sent as "by": an administrator needs the administrator
// credential.
func (c *Client) Connect(ctx context.Context, actor server.Actor, parentID, childID string) (server.AccountView, error) {
	who, err := byOf(actor)
	if err != nil {
		return server.AccountView{}, err
	}
	in := struct {
		ParentID string `json:"parent_id"`
		ChildID  string `json:"child_id"`
		By       any    `json:"by"`
	}{parentID, childID, who}
	var out server.AccountView
	err = c.call(ctx, "POST", "/v1/connections", nil, nil, in, &out)
	return out, err
}

// Sponsor makes a pending token the user's to activate: sp's UserID,
// Serial and, when set, ActivateBy (zero: the policy's deadline),
// ApplicationID and Level (0 means 2) are sent.
func (c *Client) Sponsor(ctx context.Context, actor server.Actor, sp server.Sponsorship) (server.Sponsorship, error) {
	if err := server.CheckAdmin(actor, "sponsors a token"); err != nil {
		return server.Sponsorship{}, err
	}
	in := struct {
		UserID        string       `json:"user_id"`
		Serial        string       `json:"serial"`
		ActivateBy    *time.Time   `json:"activate_by,omitempty"`
		ApplicationID string       `json:"application_id,omitempty"`
		Level         server.Level `json:"level,omitempty"`
	}{UserID: sp.UserID, Serial: sp.Serial, ApplicationID: sp.ApplicationID, Level: sp.Level}
	if !sp.ActivateBy.IsZero() {
		in.ActivateBy = &sp.ActivateBy
	}
	var out server.Sponsorship
	err := c.call(ctx, "POST", "/v1/sponsorships", nil, nil, in, &out)
	return out, err
}

// CreateLicenceKey sells a pending token: a licence key bound to serial at
// level (0 means 2).
func (c *Client) CreateLicenceKey(ctx context.Context, actor server.Actor, serial string, level server.Level) (string, error) {
	if err := server.CheckAdmin(actor, "creates licence keys"); err != nil {
		return "", err
	}
	in := struct {
		Serial string       `json:"serial"`
		Level  server.Level `json:"level,omitempty"`
	}{serial, level}
	var out struct {
		Key string `json:"key"`
	}
	err := c.call(ctx, "POST", "/v1/licence-keys", nil, nil, in, &out)
	return out.Key, err
}

// RedeemLicenceKey is a user entering a licence key.
func (c *Client) RedeemLicenceKey(ctx context.Context, userID, key string) error {
	in := struct {
		UserID string `json:"user_id"`
		Key    string `json:"key"`
	}{userID, key}
	return c.call(ctx, "POST", "/v1/licence-keys/redeem", nil, nil, in, nil)
}

// CreateApplication registers a partner application. A zero (or unknown)
// MinStrength.Credential is sent as absent, so the server refuses it as a
// bad request, as the in-process server does.
func (c *Client) CreateApplication(ctx context.Context, actor server.Actor, app server.Application) error {
	if err := server.CheckAdmin(actor, "registers applications"); err != nil {
		return err
	}
	type strength struct {
		Credential *server.Credential `json:"credential,omitempty"`
		Level      server.Level       `json:"level"`
	}
	in := struct {
		ID          string   `json:"id"`
		Name        string   `json:"name"`
		MinStrength strength `json:"min_strength"`
		Terms       string   `json:"terms,omitempty"`
	}{ID: app.ID, Name: app.Name, MinStrength: strength{Level: app.MinStrength.Level}, Terms: app.Terms}
	if cred := app.MinStrength.Credential; cred.String() != "" {
		in.MinStrength.Credential = &cred
	}
	return c.call(ctx, "POST", "/v1/applications", nil, nil, in, nil)
}

// AcceptTerms records that a user accepted an application's terms.
func (c *Client) AcceptTerms(ctx context.Context, userID, appID string) error {
	in := struct {
		UserID string `json:"user_id"`
	}{userID}
	return c.call(ctx, "POST", "/v1/applications/{id}/accept-terms", []string{appID}, nil, in, nil)
}

// ChangePassword sets a user's new permanent password, given the current
// one (POST /v1/accounts/{user_id}/password).
func (c *Client) ChangePassword(ctx context.Context, userID, current, next string) error {
	in := struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}{current, next}
	return c.call(ctx, "POST", "/v1/accounts/{user_id}/password", []string{userID}, nil, in, nil)
}

// Activate registers a token on the user's account with two consecutive codes.
func (c *Client) Activate(ctx context.Context, userID, serial, otp1, otp2 string) (server.TokenView, error) {
	in := struct {
		UserID string `json:"user_id"`
		Serial string `json:"serial"`
		OTP1   string `json:"otp1"`
		OTP2   string `json:"otp2"`
	}{userID, serial, otp1, otp2}
	var out server.TokenView
	err := c.call(ctx, "POST", "/v1/activate", nil, nil, in, &out)
	return out, err
}

// Verify checks a login code of the user's hardware token.
func (c *Client) Verify(ctx context.Context, userID, otp string) (server.Verification, error) {
	in := struct {
		UserID string `json:"user_id"`
		OTP    string `json:"otp"`
	}{userID, otp}
	var out server.Verification
	err := c.call(ctx, "POST", "/v1/verify", nil, nil, in, &out)
	return out, err
}

// Token returns a token's view.
func (c *Client) Token(ctx context.Context, serial string) (server.TokenView, error) {
	var out server.TokenView
	err := c.call(ctx, "GET", "/v1/tokens/{serial}", []string{serial}, nil, nil, &out)
	return out, err
}

// Tokens lists tokens, filtered by owner and status (empty: any).
func (c *Client) Tokens(ctx context.Context, f server.TokenFilter) ([]server.TokenView, error) {
	q := url.Values{}
	if f.OwnerID != "" {
		q.Set("owner_id", f.OwnerID)
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	var out []server.TokenView
	err := c.call(ctx, "GET", "/v1/tokens", nil, q, nil, &out)
	return out, err
}

type actionBody struct {
	By     string `json:"by,omitempty"`
	UserID string `json:"user_id,omitempty"`
	OTP1   string `json:"otp1,omitempty"`
	OTP2   string `json:"otp2,omitempty"`
}

// actionOf is how the API names who acts on a token: "by":"admin" (which
// needs the administrator credential), or the acting account by ID, a
// user or an organization administrator.
func actionOf(actor server.Actor) (actionBody, error) {
	if err := server.CheckActor(actor); err != nil {
		return actionBody{}, err
	}
	switch {
	case actor.Admin:
		return actionBody{By: "admin"}, nil
	case actor.OrgAdmin:
		return actionBody{By: "org_admin", UserID: actor.ID}, nil
	}
	return actionBody{By: "user", UserID: actor.ID}, nil
}

func (c *Client) action(ctx context.Context, route string, actor server.Actor, serial string, otps ...string) (server.TokenView, error) {
	in, err := actionOf(actor)
	if err != nil {
		return server.TokenView{}, err
	}
	if len(otps) == 2 {
		in.OTP1, in.OTP2 = otps[0], otps[1]
	}
	var out server.TokenView
	err = c.call(ctx, "POST", route, []string{serial}, nil, in, &out)
	return out, err
}

// adminAction is an action only an administrator takes; it sends no body.
func (c *Client) adminAction(ctx context.Context, route string, actor server.Actor, serial, what string) (server.TokenView, error) {
	if err := server.CheckAdmin(actor, what); err != nil {
		return server.TokenView{}, err
	}
	var out server.TokenView
	err := c.call(ctx, "POST", route, []string{serial}, nil, nil, &out)
	return out, err
}

// Resync re-synchronises a token with two consecutive codes.
func (c *Client) Resync(ctx context.Context, actor server.Actor, serial, otp1, otp2 string) (server.TokenView, error) {
	return c.action(ctx, "/v1/tokens/{serial}/resync", actor, serial, otp1, otp2)
}

// Suspend suspends an active token.
func (c *Client) Suspend(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	return c.action(ctx, "/v1/tokens/{serial}/suspend", actor, serial)
}

// Enable re-enables a suspended token.
func (c *Client) Enable(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	return c.action(ctx, "/v1/tokens/{serial}/enable", actor, serial)
}

// Revoke revokes a token for good.
func (c *Client) Revoke(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	return c.action(ctx, "/v1/tokens/{serial}/revoke", actor, serial)
}

// Renew moves a token's expiry one validity period on.
func (c *Client) Renew(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	return c.action(ctx, "/v1/tokens/{serial}/renew", actor, serial)
}

// Reset is an administrator unblocking a token's activation and resync.
func (c *Client) Reset(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	return c.adminAction(ctx, "/v1/tokens/{serial}/reset", actor, serial, "resets a token")
}

// Approve moves a token from Pending Approval to Active.
func (c *Client) Approve(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	return c.adminAction(ctx, "/v1/tokens/{serial}/approve", actor, serial, "approves a token")
}

// Login opens a session with a password and, when otp is not empty, a code
// of the user's hardware token.
func (c *Client) Login(ctx context.Context, userID, password, otp string) (server.Session, error) {
	in := struct {
		UserID   string `json:"user_id"`
		Password string `json:"password"`
		OTP      string `json:"otp,omitempty"`
	}{userID, password, otp}
	var out server.Session
	err := c.call(ctx, "POST", "/v1/sessions", nil, nil, in, &out)
	return out, err
}

// Session returns a session (an ended one too).
func (c *Client) Session(ctx context.Context, id string) (server.Session, error) {
	var out server.Session
	err := c.call(ctx, "GET", "/v1/sessions/{id}", []string{id}, nil, nil, &out)
	return out, err
}

// Elevate raises a session to hardware OTP strength with a code.
func (c *Client) Elevate(ctx context.Context, id, otp string) (server.Session, error) {
	in := struct {
		OTP string `json:"otp"`
	}{otp}
	var out server.Session
	err := c.call(ctx, "POST", "/v1/sessions/{id}/elevate", []string{id}, nil, in, &out)
	return out, err
}

// Access is a session launching an application.
func (c *Client) Access(ctx context.Context, id, appID string) error {
	in := struct {
		ApplicationID string `json:"application_id"`
	}{appID}
	return c.call(ctx, "POST", "/v1/sessions/{id}/access", []string{id}, nil, in, nil)
}

// Logout ends a session.
func (c *Client) Logout(ctx context.Context, id string) error {
	return c.call(ctx, "DELETE", "/v1/sessions/{id}", []string{id}, nil, nil, nil)
}

// Notifications lists a user's outbox, oldest first; "" lists everyone's
// (administrator credential only).
func (c *Client) Notifications(ctx context.Context, userID string) ([]server.Notification, error) {
	q := url.Values{}
	if userID != "" {
		q.Set("user_id", userID)
	}
	var out []server.Notification
	err := c.call(ctx, "GET", "/v1/notifications", nil, q, nil, &out)
	return out, err
}

// Audit lists the audit log of a target ("" for all), oldest first, at most
// limit entries (the newest; 0 for all).
func (c *Client) Audit(ctx context.Context, target string, limit int) ([]server.AuditEntry, error) {
	q := url.Values{}
	if target != "" {
		q.Set("target", target)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []server.AuditEntry
	err := c.call(ctx, "GET", "/v1/audit", nil, q, nil, &out)
	return out, err
}

// ClockState is the server's clock; Sweep is what the sweep run by a move
// of the virtual clock did.
type ClockState struct {
	Now     time.Time           `json:"now"`
	Virtual bool                `json:"virtual"`
	Sweep   *server.SweepReport `json:"sweep,omitempty"`
}

// Now is the server's time.
func (c *Client) Now(ctx context.Context) (time.Time, error) {
	cs, err := c.Clock(ctx)
	return cs.Now, err
}

// Clock returns the server's time and whether its clock is virtual.
func (c *Client) Clock(ctx context.Context) (ClockState, error) {
	var out ClockState
	err := c.call(ctx, "GET", "/v1/clock", nil, nil, nil, &out)
	return out, err
}

// AdvanceClock moves a virtual clock by d ("90s", "2h30m", "30d"; negative
// goes back) and sweeps.
func (c *Client) AdvanceClock(ctx context.Context, d string) (ClockState, error) {
	in := struct {
		Advance string `json:"advance"`
	}{d}
	var out ClockState
	err := c.call(ctx, "POST", "/v1/clock", nil, nil, in, &out)
	return out, err
}

// SetClock puts a virtual clock at t and sweeps.
func (c *Client) SetClock(ctx context.Context, t time.Time) (ClockState, error) {
	in := struct {
		Set time.Time `json:"set"`
	}{t}
	var out ClockState
	err := c.call(ctx, "POST", "/v1/clock", nil, nil, in, &out)
	return out, err
}

// Sweep applies every reminder, expiry and revocation due now.
func (c *Client) Sweep(ctx context.Context) (server.SweepReport, error) {
	var out server.SweepReport
	err := c.call(ctx, "POST", "/v1/sweep", nil, nil, nil, &out)
	return out, err
}
