package httpapi

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/internal/jsonkeys"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
)

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI is the API's OpenAPI 3 document, as served at /v1/openapi.json.
func OpenAPI() []byte { return openapiDoc }

func (a *api) healthz(w http.ResponseWriter, r *http.Request) error {
	if err := a.health.check(r.Context(), a.srv.Health); err != nil {
		if r.Context().Err() != nil {
			return err
		}
		// The detail is for the operator's log, not for whoever asks.
		a.log.Error("health check", "error", err)
		return &httpError{http.StatusServiceUnavailable, "unavailable", "the store does not take reads or writes: see the server log"}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (a *api) openapi(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiDoc)
	return err
}

func (a *api) policy(w http.ResponseWriter, r *http.Request) error {
	p, err := a.srv.Policy(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p.Document())
	return nil
}

func (a *api) importInventory(w http.ResponseWriter, r *http.Request) error {
	if err := allowSlowUpload(w, r); err != nil {
		return err
	}
	q := r.URL.Query()
	if _, err := seedfile.ParseFormat(q.Get("format")); err != nil {
		return badRequest("%v", err) // said here, in the API's words, before the body is read
	}
	opts := server.ImportOptions{Format: q.Get("format"), Password: q.Get("password")}
	var err error
	if k := q.Get("key"); k != "" {
		if opts.Key, err = hex.DecodeString(k); err != nil {
			return badRequest("key must be hex")
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return badRequest("the body is empty: send the seed file")
	}
	serials, err := a.srv.ImportSeedFile(r.Context(), server.AsAdmin("api"), data, opts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"imported": len(serials), "serials": serials})
	return nil
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ts, err := a.srv.Tokens(r.Context(), server.TokenFilter{OwnerID: q.Get("owner_id"), Status: server.Status(q.Get("status"))})
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []server.TokenView{}
	}
	writeJSON(w, http.StatusOK, ts)
	return nil
}

func (a *api) getToken(w http.ResponseWriter, r *http.Request) error {
	v, err := a.srv.Token(r.Context(), r.PathValue("serial"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// actorBody is the body of the token actions.
type actorBody struct {
	By     json.RawMessage `json:"by"`
	UserID string          `json:"user_id"`
	OTP1   string          `json:"otp1"`
	OTP2   string          `json:"otp2"`
}

// by is who acts, as a body's "by" names them: a kind ("user",
// "org_admin" or "admin"; "" when the body has no "by") and, for the
// object form, the acting account's user ID.
type by struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// The actor kinds "by" names.
const (
	byUser     = "user"
	byOrgAdmin = "org_admin"
	byAdmin    = "admin"
)

// parseBy reads "by": absent or null, a kind as a string ("user",
// "org_admin", "admin"), or an object {"kind":…,"id":…} that also names
// the acting account — the form every route that takes "by" understands,
// since only the token actions have a user_id that says who acts.
func parseBy(raw json.RawMessage) (by, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return by{}, nil
	}
	var b by
	if raw[0] == '{' {
		if err := jsonkeys.Check(raw, reflect.TypeOf(b)); err != nil {
			return by{}, badRequest(`field "by": %v`, err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			return by{}, badRequest(`field "by" must be "user", "org_admin", "admin" or {"kind":…,"id":…} with those two fields, strings`)
		}
		if b.Kind == "" {
			return by{}, badRequest(`field "by" needs "kind": "user", "org_admin" or "admin"`)
		}
	} else if err := json.Unmarshal(raw, &b.Kind); err != nil {
		return by{}, badRequest(`field "by" must be "user", "org_admin", "admin" or {"kind":…,"id":…}`)
	} else if b.Kind == "" {
		return by{}, nil // as absent: "by":"" has always meant the default
	}
	switch b.Kind {
	case byUser, byOrgAdmin, byAdmin:
		return b, nil
	}
	return by{}, badRequest(`field "by" must be "user", "org_admin" or "admin"`)
}

// needAdmin refuses a request without the administrator credential.
func (a *api) needAdmin(r *http.Request, what string) error {
	if !a.isAdmin(r) {
		return &httpError{http.StatusForbidden, string(server.CodeForbidden), what + " needs the administrator credential"}
	}
	return nil
}

// actor decides who acts on a token: an administrator ("by":"admin", which
// needs the administrator credential), an organization administrator
// ("by":"org_admin" with user_id, or "by":{"kind":"org_admin","id":…}),
// or the user — user_id (or by.id), else, for the administrator credential
// only, the token's owner. The service credential must name who acts: it
// fronts many users, and acting as whoever owns the token would let one of
// them (or a bug in the portal) act on anyone's. Whether an organization
// administrator is one, and of the token owner's organization, the server
// checks against their account.
func (a *api) actor(r *http.Request, serial string, b actorBody) (server.Actor, error) {
	who, err := parseBy(b.By)
	if err != nil {
		return server.Actor{}, err
	}
	if who.ID != "" && b.UserID != "" {
		return server.Actor{}, badRequest(`name who acts once: "by":{"id":…} or user_id, not both`)
	}
	id := who.ID + b.UserID
	switch who.Kind {
	case byAdmin:
		if err := a.needAdmin(r, `"by":"admin"`); err != nil {
			return server.Actor{}, err
		}
		return server.AsAdmin("api"), nil
	case byOrgAdmin:
		if id == "" {
			return server.Actor{}, badRequest(`"by":"org_admin" needs the organization administrator's user ID: user_id, or "by":{"kind":"org_admin","id":…}`)
		}
		return server.AsOrgAdmin(id), nil
	}
	if id != "" {
		return server.AsUser(id), nil
	}
	if !a.isAdmin(r) {
		return server.Actor{}, badRequest(`field "user_id" is required with the service credential: give the user who acts`)
	}
	v, err := a.srv.Token(r.Context(), serial)
	if err != nil {
		return server.Actor{}, err
	}
	if v.OwnerID == "" {
		return server.Actor{}, badRequest("token %s has no owner yet: give user_id", serial)
	}
	return server.AsUser(v.OwnerID), nil
}

// accountActor decides who acts in an account route (creating an account,
// connecting two): "by" as an object names an organization administrator
// or a user; "by":"admin", or no "by" with the administrator credential,
// is the administrator; without "by" the service credential gets def
// (forbidden when def is the zero Actor).
func (a *api) accountActor(r *http.Request, raw json.RawMessage, what string, def server.Actor) (server.Actor, error) {
	who, err := parseBy(raw)
	if err != nil {
		return server.Actor{}, err
	}
	switch {
	case who.Kind == byAdmin || who.Kind == "" && a.isAdmin(r):
		if err := a.needAdmin(r, what+` as "by":"admin"`); err != nil {
			return server.Actor{}, err
		}
		return server.AsAdmin("api"), nil
	case who.Kind == "" && def == (server.Actor{}):
		return server.Actor{}, &httpError{http.StatusForbidden, string(server.CodeForbidden),
			what + ` needs the administrator credential, or "by":{"kind":"org_admin","id":…} naming an organization administrator`}
	case who.Kind == "":
		return def, nil
	case who.ID == "":
		return server.Actor{}, badRequest(`field "by" names the account that acts here: {"kind":%q,"id":…}`, who.Kind)
	case who.Kind == byOrgAdmin:
		return server.AsOrgAdmin(who.ID), nil
	}
	return server.AsUser(who.ID), nil
}

// tokenAction runs a lifecycle action and answers with the token's view.
func (a *api) tokenAction(w http.ResponseWriter, r *http.Request, codes bool, do func(server.Actor, string, actorBody) (server.TokenView, error)) error {
	serial := r.PathValue("serial")
	var b actorBody
	if err := decodeOptional(r, &b); err != nil {
		return err
	}
	if codes {
		if err := need("otp1", b.OTP1, "otp2", b.OTP2); err != nil {
			return err
		}
	} else if b.OTP1 != "" || b.OTP2 != "" {
		return badRequest("this action takes no codes")
	}
	actor, err := a.actor(r, serial, b)
	if err != nil {
		return err
	}
	v, err := do(actor, serial, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// decodeOptional reads a JSON body that may be empty.
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decode(r, v)
}

func (a *api) resync(w http.ResponseWriter, r *http.Request) error {
	return a.tokenAction(w, r, true, func(ac server.Actor, serial string, b actorBody) (server.TokenView, error) {
		return a.srv.Resync(r.Context(), ac, serial, b.OTP1, b.OTP2)
	})
}

func (a *api) suspend(w http.ResponseWriter, r *http.Request) error {
	return a.tokenAction(w, r, false, func(ac server.Actor, serial string, _ actorBody) (server.TokenView, error) {
		return a.srv.Suspend(r.Context(), ac, serial)
	})
}

func (a *api) enable(w http.ResponseWriter, r *http.Request) error {
	return a.tokenAction(w, r, false, func(ac server.Actor, serial string, _ actorBody) (server.TokenView, error) {
		return a.srv.Enable(r.Context(), ac, serial)
	})
}

func (a *api) revoke(w http.ResponseWriter, r *http.Request) error {
	return a.tokenAction(w, r, false, func(ac server.Actor, serial string, _ actorBody) (server.TokenView, error) {
		return a.srv.Revoke(r.Context(), ac, serial)
	})
}

func (a *api) renew(w http.ResponseWriter, r *http.Request) error {
	return a.tokenAction(w, r, false, func(ac server.Actor, serial string, _ actorBody) (server.TokenView, error) {
		return a.srv.Renew(r.Context(), ac, serial)
	})
}

func (a *api) reset(w http.ResponseWriter, r *http.Request) error {
	v, err := a.srv.Reset(r.Context(), server.AsAdmin("api"), r.PathValue("serial"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) approve(w http.ResponseWriter, r *http.Request) error {
	v, err := a.srv.Approve(r.Context(), server.AsAdmin("api"), r.PathValue("serial"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) createAccount(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		server.NewAccount
		By json.RawMessage `json:"by"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	actor, err := a.accountActor(r, b.By, "creating an account", server.Actor{})
	if err != nil {
		return err
	}
	v, err := a.srv.CreateAccount(r.Context(), actor, b.NewAccount)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (a *api) listAccounts(w http.ResponseWriter, r *http.Request) error {
	as, err := a.srv.Accounts(r.Context())
	if err != nil {
		return err
	}
	if as == nil {
		as = []server.AccountView{}
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

func (a *api) getAccount(w http.ResponseWriter, r *http.Request) error {
	v, err := a.srv.Account(r.Context(), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) connect(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		ParentID string          `json:"parent_id"`
		ChildID  string          `json:"child_id"`
		By       json.RawMessage `json:"by"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("parent_id", b.ParentID, "child_id", b.ChildID); err != nil {
		return err
	}
	// Without "by", the service credential acts as the parent, as it
	// always has.
	actor, err := a.accountActor(r, b.By, "connecting accounts", server.AsUser(b.ParentID))
	if err != nil {
		return err
	}
	v, err := a.srv.Connect(r.Context(), actor, b.ParentID, b.ChildID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) sponsor(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserID        string     `json:"user_id"`
		Serial        string     `json:"serial"`
		ActivateBy    *time.Time `json:"activate_by"`
		ApplicationID string     `json:"application_id"`
		Level         int        `json:"level"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("user_id", b.UserID, "serial", b.Serial); err != nil {
		return err
	}
	sp := server.Sponsorship{UserID: b.UserID, Serial: b.Serial, ApplicationID: b.ApplicationID, Level: server.Level(b.Level)}
	if b.ActivateBy != nil {
		sp.ActivateBy = *b.ActivateBy
	}
	sp, err := a.srv.Sponsor(r.Context(), server.AsAdmin("api"), sp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sp)
	return nil
}

func (a *api) createLicence(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Serial string `json:"serial"`
		Level  int    `json:"level"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("serial", b.Serial); err != nil {
		return err
	}
	key, err := a.srv.CreateLicenceKey(r.Context(), server.AsAdmin("api"), b.Serial, server.Level(b.Level))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"key": key, "serial": b.Serial})
	return nil
}

func (a *api) redeemLicence(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserID string `json:"user_id"`
		Key    string `json:"key"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("user_id", b.UserID, "key", b.Key); err != nil {
		return err
	}
	if err := a.srv.RedeemLicenceKey(r.Context(), b.UserID, b.Key); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "redeemed"})
	return nil
}

func (a *api) createApplication(w http.ResponseWriter, r *http.Request) error {
	var app server.Application
	if err := decode(r, &app); err != nil {
		return err
	}
	if app.MinStrength.Level == 0 {
		app.MinStrength.Level = 1
	}
	if err := a.srv.CreateApplication(r.Context(), server.AsAdmin("api"), app); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, app)
	return nil
}

func (a *api) acceptTerms(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserID string `json:"user_id"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("user_id", b.UserID); err != nil {
		return err
	}
	if err := a.srv.AcceptTerms(r.Context(), b.UserID, r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "accepted"})
	return nil
}

func (a *api) changePassword(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("current", b.Current, "new", b.New); err != nil {
		return err
	}
	if err := a.srv.ChangePassword(r.Context(), r.PathValue("user_id"), b.Current, b.New); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "changed"})
	return nil
}

func (a *api) activate(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserID string `json:"user_id"`
		Serial string `json:"serial"`
		OTP1   string `json:"otp1"`
		OTP2   string `json:"otp2"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("user_id", b.UserID, "serial", b.Serial, "otp1", b.OTP1, "otp2", b.OTP2); err != nil {
		return err
	}
	v, err := a.srv.Activate(r.Context(), b.UserID, b.Serial, b.OTP1, b.OTP2)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) verifyCode(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserID string `json:"user_id"`
		OTP    string `json:"otp"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("user_id", b.UserID, "otp", b.OTP); err != nil {
		return err
	}
	v, err := a.srv.Verify(r.Context(), b.UserID, b.OTP)
	outcome := "ok"
	if c := server.CodeOf(err); c != "" {
		outcome = string(c)
	}
	a.verify.WithLabelValues(outcome).Inc()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) login(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserID    string `json:"user_id"`
		Password  string `json:"password"`
		OTP       string `json:"otp"`
		Phone     string `json:"phone"`
		PhoneCode string `json:"phone_code"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("user_id", b.UserID, "password", b.Password); err != nil {
		return err
	}
	if byPhone, err := phoneFields(b.OTP, b.Phone, b.PhoneCode); err != nil || byPhone {
		return a.loginWithPhone(w, r, b.UserID, b.Password, b.Phone, b.PhoneCode, err)
	}
	s, err := a.srv.Login(r.Context(), b.UserID, b.Password, b.OTP)
	if b.OTP != "" {
		outcome := "ok"
		if c := server.CodeOf(err); c != "" {
			outcome = string(c)
		}
		a.verify.WithLabelValues(outcome).Inc()
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s)
	return nil
}

func (a *api) getSession(w http.ResponseWriter, r *http.Request) error {
	s, err := a.srv.Session(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (a *api) elevate(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		OTP       string `json:"otp"`
		Phone     string `json:"phone"`
		PhoneCode string `json:"phone_code"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if byPhone, err := phoneFields(b.OTP, b.Phone, b.PhoneCode); err != nil || byPhone {
		return a.elevateWithPhone(w, r, b.Phone, b.PhoneCode, err)
	}
	if err := need("otp", b.OTP); err != nil {
		return err
	}
	s, err := a.srv.Elevate(r.Context(), r.PathValue("id"), b.OTP)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (a *api) accessApp(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		ApplicationID string `json:"application_id"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	if err := need("application_id", b.ApplicationID); err != nil {
		return err
	}
	if err := a.srv.Access(r.Context(), r.PathValue("id"), b.ApplicationID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "granted"})
	return nil
}

func (a *api) logout(w http.ResponseWriter, r *http.Request) error {
	if err := a.srv.Logout(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) notifications(w http.ResponseWriter, r *http.Request) error {
	ns, err := a.srv.Notifications(r.Context(), r.URL.Query().Get("user_id"))
	if err != nil {
		return err
	}
	if ns == nil {
		ns = []server.Notification{}
	}
	writeJSON(w, http.StatusOK, ns)
	return nil
}

func (a *api) audit(w http.ResponseWriter, r *http.Request) error {
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return badRequest("limit must be a non-negative integer")
		}
		limit = n
	}
	es, err := a.srv.Audit(r.Context(), r.URL.Query().Get("target"), limit)
	if err != nil {
		return err
	}
	if es == nil {
		es = []server.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, es)
	return nil
}

func (a *api) getClock(w http.ResponseWriter, r *http.Request) error {
	now, err := a.srv.Now(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": now.UTC().Format(time.RFC3339Nano), "virtual": a.opts.VirtualClock != nil})
	return nil
}

func (a *api) moveClock(w http.ResponseWriter, r *http.Request) error {
	vc := a.opts.VirtualClock
	if vc == nil {
		return &httpError{http.StatusNotFound, string(server.CodeNotFound), "the clock is real: start tokenlab serve with --virtual-clock to move it"}
	}
	var b struct {
		Advance string     `json:"advance"`
		Set     *time.Time `json:"set"`
	}
	if err := decode(r, &b); err != nil {
		return err
	}
	switch {
	case b.Advance != "" && b.Set != nil:
		return badRequest(`give "advance" or "set", not both`)
	case b.Advance != "":
		d, err := ParseDuration(b.Advance)
		if err != nil {
			return badRequest("%v", err)
		}
		if _, err := vc.StepContext(r.Context(), d); err != nil {
			return err
		}
	case b.Set != nil:
		if _, err := vc.SetContext(r.Context(), *b.Set); err != nil {
			return err
		}
	default:
		return badRequest(`give "advance" (e.g. "90s", "30d") or "set" (RFC 3339)`)
	}
	rep, err := a.srv.Sweep(r.Context())
	if err != nil {
		return err
	}
	// The time after the sweep, as before: another replica may have moved
	// the clock since, and the answer says the time the sweep reached.
	now, err := a.srv.Now(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"now": now.UTC().Format(time.RFC3339Nano), "virtual": true, "sweep": rep})
	return nil
}

func (a *api) sweep(w http.ResponseWriter, r *http.Request) error {
	rep, err := a.srv.Sweep(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// ParseDuration reads a Go duration, with "d" for days allowed as the last
// unit: "90s", "-2m", "30d", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	var days time.Duration
	if i := strings.Index(body, "d"); i > 0 {
		n, err := strconv.Atoi(body[:i])
		if err != nil || n > 100000 {
			return 0, errDuration(s)
		}
		days, body = time.Duration(n)*24*time.Hour, body[i+1:]
	}
	var rest time.Duration
	if body != "" {
		var err error
		if rest, err = time.ParseDuration(body); err != nil || rest < 0 {
			return 0, errDuration(s)
		}
	} else if days == 0 {
		return 0, errDuration(s)
	}
	d := days + rest
	if neg {
		d = -d
	}
	return d, nil
}

func errDuration(s string) error {
	return badRequest("duration %q: use e.g. 90s, 2h30m or 30d", s)
}
