// Package httpapi serves the verification server over HTTP: the JSON API of
// the token lifecycle (docs/lifecycle.md) that scenarios, the web console, a
// portal under test and curl use.
//
// # Authentication
//
// Every /v1 route needs a bearer token: Authorization: Bearer TOKEN.
//
//   - The administrator credential is accepted everywhere. A test harness
//     uses it to act for any user: a user's request carries its user_id.
//
//   - The service credential (optional) is for a portal that fronts users:
//     it may run the user flows (activate, verify, sessions, a password
//     change, a user's own resync, suspend, enable, revoke and renew,
//     accepting terms, phones and proofing codes) and what an organization administrator does, but
//     none of the administrator actions (inventory, sponsorships, licence
//     keys, applications, resets, approvals, "by":"admin", proofing outcomes, the clock, the
//     outbox, the audit log). It always names who acts (user_id, or "by"):
//     only the administrator credential may leave a token action to the
//     token's owner, or create an account with no "by".
//
//   - An organization administrator is an account (role org_admin, an
//     organization) that a portal says acts: "by":{"kind":"org_admin",
//     "id":USER_ID} on the token actions, POST /v1/accounts and POST
//     /v1/connections (on the token actions also "by":"org_admin" with
//     user_id). The server checks the role against the account and lets
//     them act on the accounts of their organization only; a portal cannot
//     make a user an administrator by saying so. This is the portal's
//     "Administration" tab: the organization administrator is logged in to
//     the portal, which acts for them with its own credential, as it acts
//     for a user.
//
//   - The metrics credential (optional) reads /metrics and nothing else.
//
// /healthz and /v1/openapi.json need no credential; /metrics needs the
// administrator or the metrics credential, unless Options.MetricsPublic.
//
// # Errors
//
// Every refusal is {"error":{"code":"…","message":"…"}} with a stable code
// (server.Catalogue, plus unauthorized, internal and unavailable here) and
// the HTTP status StatusOf gives. Malformed JSON, unknown fields, wrong
// types, missing fields, a key twice in one object and a field name in
// another case (see jsonkeys.Check) are bad_request (400); a body over 64 KiB is
// bad_request with 413 (seed files on /v1/inventory may be 64 MiB). A
// refused request changes nothing, except what the lifecycle says a failed
// attempt changes
// (a failure counter, a lock).
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tokenlab/tokenlab/internal/jsonkeys"
	"github.com/tokenlab/tokenlab/server"
)

// Body limits. A JSON body of the API is a few hundred bytes (an
// application's terms the longest); 64 KiB leaves room and bounds what the
// duplicate-key check, which anyone with a credential can make run, costs.
const (
	MaxBody     = 64 << 10
	MaxSeedFile = 64 << 20
)

// Options configure the API.
type Options struct {
	// AdminToken is required; ServiceToken is optional. Each must hold 128
	// bits: see CheckCredential and Validate.
	AdminToken   string
	ServiceToken string
	// MetricsToken, optional, is a credential that reads /metrics and
	// nothing else, for a scraper. /metrics otherwise needs the
	// administrator credential, unless MetricsPublic.
	MetricsToken  string
	MetricsPublic bool
	// VirtualClock, when set, is the server's clock and may be moved with
	// POST /v1/clock; without it that route answers 404. It is a
	// *server.VirtualClock, or the database's clock that every replica on
	// it shares (server/pgstore).
	VirtualClock server.ClockMover
	Logger       *slog.Logger
	// Registry receives the metrics; nil makes a new one.
	Registry *prometheus.Registry
}

type api struct {
	srv            *server.Server
	opts           Options
	admin, service credential
	metrics        credential
	health         healthProbe
	log            *slog.Logger
	verify         *prometheus.CounterVec
	latency        *prometheus.HistogramVec
}

// access is what a route needs from the caller.
type access int

const (
	public access = iota
	service
	admin
)

// Route is one entry of the API, as the OpenAPI document must list it.
type Route struct {
	Method, Path string
	Access       access
	handle       func(a *api, w http.ResponseWriter, r *http.Request) error
}

// AccessName is "public", "service" or "admin".
func (r Route) AccessName() string { return [...]string{"public", "service", "admin"}[r.Access] }

// Routes lists every route the API serves.
func Routes() []Route { return routes }

var routes = []Route{
	{"GET", "/healthz", public, (*api).healthz},
	{"GET", "/v1/openapi.json", public, (*api).openapi},
	{"GET", "/v1/policy", service, (*api).policy},
	{"POST", "/v1/inventory", admin, (*api).importInventory},
	{"GET", "/v1/tokens", admin, (*api).listTokens},
	{"GET", "/v1/tokens/{serial}", service, (*api).getToken},
	{"POST", "/v1/tokens/{serial}/resync", service, (*api).resync},
	{"POST", "/v1/tokens/{serial}/suspend", service, (*api).suspend},
	{"POST", "/v1/tokens/{serial}/enable", service, (*api).enable},
	{"POST", "/v1/tokens/{serial}/revoke", service, (*api).revoke},
	{"POST", "/v1/tokens/{serial}/renew", service, (*api).renew},
	{"POST", "/v1/tokens/{serial}/reset", admin, (*api).reset},
	{"POST", "/v1/tokens/{serial}/approve", admin, (*api).approve},
	{"POST", "/v1/accounts", service, (*api).createAccount}, // the service credential with "by" an organization administrator
	{"GET", "/v1/accounts", admin, (*api).listAccounts},
	{"GET", "/v1/accounts/{user_id}", service, (*api).getAccount},
	{"POST", "/v1/accounts/{user_id}/password", service, (*api).changePassword},
	{"POST", "/v1/connections", service, (*api).connect},
	{"POST", "/v1/sponsorships", admin, (*api).sponsor},
	{"POST", "/v1/licence-keys", admin, (*api).createLicence},
	{"POST", "/v1/licence-keys/redeem", service, (*api).redeemLicence},
	{"POST", "/v1/applications", admin, (*api).createApplication},
	{"POST", "/v1/applications/{id}/accept-terms", service, (*api).acceptTerms},
	{"POST", "/v1/activate", service, (*api).activate},
	{"POST", "/v1/verify", service, (*api).verifyCode},
	{"POST", "/v1/sessions", service, (*api).login},
	{"GET", "/v1/sessions/{id}", service, (*api).getSession},
	{"POST", "/v1/sessions/{id}/elevate", service, (*api).elevate},
	{"POST", "/v1/sessions/{id}/access", service, (*api).accessApp},
	{"DELETE", "/v1/sessions/{id}", service, (*api).logout},
	{"GET", "/v1/notifications", admin, (*api).notifications}, // it holds temporary passwords and codes
	{"GET", "/v1/audit", admin, (*api).audit},
	{"GET", "/v1/clock", service, (*api).getClock},
	{"POST", "/v1/clock", admin, (*api).moveClock},
	{"POST", "/v1/sweep", admin, (*api).sweep},
}

// Credential strength. A credential is a shared secret that anyone who
// reaches the server may try to guess, as often as they like; 128 bits is
// the floor for such a secret. Only the length can be checked, not the
// randomness: 16 random bytes are 32 hex digits or 22 base64url
// characters, so a credential made of hex digits only needs 32 characters
// and any other 22.
const (
	MinCredentialLen    = 22
	MinHexCredentialLen = 32
)

// CheckCredential refuses a credential too short to hold 128 bits, saying
// how to make one that is not.
func CheckCredential(tok string) error {
	const how = "use 16 random bytes: 32 hex digits (openssl rand -hex 16) or 22 base64url characters"
	if tok != "" && strings.Trim(tok, "0123456789abcdefABCDEF") == "" && len(tok) < MinHexCredentialLen {
		return fmt.Errorf("too short: %d hex digits are %d bits; %s", len(tok), 4*len(tok), how)
	}
	if len(tok) < MinCredentialLen {
		return fmt.Errorf("too short: %d characters; %s", len(tok), how)
	}
	return nil
}

// Validate checks the options as New needs them: an administrator
// credential, and every credential strong enough (CheckCredential). New
// does not call it, so that tests may use short credentials; a program
// that takes credentials from its user, as tokenlab serve does, calls it
// first.
func (o Options) Validate() error {
	if o.AdminToken == "" {
		return errors.New("no administrator credential: set one (openssl rand -hex 16)")
	}
	if err := CheckCredential(o.AdminToken); err != nil {
		return fmt.Errorf("the administrator credential is %w", err)
	}
	if o.ServiceToken != "" {
		if err := CheckCredential(o.ServiceToken); err != nil {
			return fmt.Errorf("the service credential is %w", err)
		}
	}
	if o.MetricsToken != "" {
		if err := CheckCredential(o.MetricsToken); err != nil {
			return fmt.Errorf("the metrics credential is %w", err)
		}
	}
	return nil
}

// New returns the API's handler, with /metrics. Check opts with Validate
// first.
func New(srv *server.Server, opts Options) http.Handler {
	if v, ok := opts.VirtualClock.(*server.VirtualClock); ok && v == nil {
		opts.VirtualClock = nil // a nil *VirtualClock is a real clock, as it was before the field took a ClockMover
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	a := &api{srv: srv, opts: opts, log: opts.Logger, admin: newCredential(opts.AdminToken), service: newCredential(opts.ServiceToken),
		metrics: newCredential(opts.MetricsToken),
		verify: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tokenlab_verifications_total",
			Help: "Login code verifications by outcome: ok or the refusal's code."}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tokenlab_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}}, []string{"route", "status"}),
	}
	opts.Registry.MustRegister(a.verify, a.latency, collectors.NewGoCollector())
	mux := http.NewServeMux()
	paths := map[string]bool{}
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+rt.Path, a.wrap(rt))
		paths[rt.Path] = true
	}
	// Known paths with another method, and unknown paths, answer in JSON too.
	for p := range paths {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeErr(w, http.StatusMethodNotAllowed, "bad_request", fmt.Sprintf("%s does not accept %s: see /v1/openapi.json", r.URL.Path, r.Method))
		})
	}
	mux.Handle("GET /metrics", a.metricsAuth(promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "not_found", "no such route: see /v1/openapi.json")
	})
	return mux
}

// httpError is a refusal made by the HTTP layer itself.
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return e.code + ": " + e.message }

func badRequest(format string, a ...any) error {
	return &httpError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, a...)}
}

// StatusOf maps each refusal code to its HTTP status.
var StatusOf = map[server.Code]int{
	server.CodeBadRequest:          http.StatusBadRequest,
	server.CodeCredentialsInvalid:  http.StatusUnauthorized,
	server.CodeSessionInvalid:      http.StatusUnauthorized,
	server.CodeForbidden:           http.StatusForbidden,
	server.CodeNotFound:            http.StatusNotFound,
	server.CodeConflict:            http.StatusConflict,
	server.CodeOTPReplayed:         http.StatusConflict,
	server.CodeSerialIncorrect:     http.StatusUnprocessableEntity,
	server.CodeOTPIncorrect:        http.StatusUnprocessableEntity,
	server.CodeOTPInvalid:          http.StatusUnprocessableEntity,
	server.CodePhoneCodeIncorrect:  http.StatusUnprocessableEntity,
	server.CodeProofingCodeInvalid: http.StatusUnprocessableEntity,
	server.CodePasswordRejected:    http.StatusUnprocessableEntity,
	server.CodeTokenLocked:         http.StatusLocked,
	server.CodeActivationBlocked:   http.StatusLocked,
	server.CodeTokenUnusable:       http.StatusForbidden,
	server.CodeTokenExpired:        http.StatusForbidden,
	server.CodeTokenRevoked:        http.StatusForbidden,
	server.CodeActionUnavailable:   http.StatusForbidden,
	server.CodeNoToken:             http.StatusForbidden,
	server.CodeStrengthTooLow:      http.StatusForbidden,
	server.CodeTermsNotAccepted:    http.StatusForbidden,
	server.CodePhoneLimit:          http.StatusForbidden,
	// The session is authenticated; what it may open is what is refused.
	server.CodePasswordChangeRequired: http.StatusForbidden,
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *api) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		limit := int64(MaxBody)
		if rt.Path == "/v1/inventory" {
			limit = MaxSeedFile
		}
		r.Body = http.MaxBytesReader(sw, r.Body, limit)
		code := ""
		if err := a.authorise(r, rt.Access); err != nil {
			code = a.fail(sw, r, err)
		} else if err := rt.handle(a, sw, r); err != nil {
			code = a.fail(sw, r, err)
		}
		a.latency.WithLabelValues(rt.Path, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
		// Never log a body: it may hold a password, a code or a seed file.
		a.log.Info("request", "method", r.Method, "route", rt.Path, "status", sw.status, "code", code, "duration", time.Since(start))
	})
}

// authorise checks the bearer token against what the route needs.
func (a *api) authorise(r *http.Request, need access) error {
	if need == public {
		return nil
	}
	sum, ok := presented(r)
	switch {
	case ok && a.admin.matches(sum):
		return nil
	case ok && need == service && a.service.matches(sum):
		return nil
	case ok && a.service.matches(sum):
		return &httpError{http.StatusForbidden, string(server.CodeForbidden), "this needs the administrator credential"}
	}
	return &httpError{http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer with the administrator or service credential"}
}

// credential is the SHA-256 digest of a configured credential. Requests
// are checked by comparing digests: subtle.ConstantTimeCompare returns at
// once on inputs of different lengths, so comparing the presented string
// itself would tell an attacker the credential's length; digests are all
// 32 bytes.
type credential struct {
	set bool
	sum [sha256.Size]byte
}

func newCredential(tok string) credential {
	if tok == "" {
		return credential{}
	}
	return credential{set: true, sum: sha256.Sum256([]byte(tok))}
}

// matches reports, in constant time, whether sum is the credential's digest.
func (c credential) matches(sum [sha256.Size]byte) bool {
	return c.set && constantTimeCompare(sum[:], c.sum[:]) == 1
}

// constantTimeCompare is subtle.ConstantTimeCompare; a test replaces it to
// see what the credential checks compare.
var constantTimeCompare = subtle.ConstantTimeCompare

// presented is the digest of the request's bearer token, if it has one.
func presented(r *http.Request) ([sha256.Size]byte, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256([]byte(tok)), true
}

// metricsAuth guards /metrics: the verification outcomes and the traffic
// by route are an attacker's progress report, so they need the
// administrator or the metrics credential unless the operator made them
// public.
func (a *api) metricsAuth(h http.Handler) http.Handler {
	if a.opts.MetricsPublic {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum, ok := presented(r)
		switch {
		case ok && (a.admin.matches(sum) || a.metrics.matches(sum)):
			h.ServeHTTP(w, r)
		case ok && a.service.matches(sum):
			writeErr(w, http.StatusForbidden, string(server.CodeForbidden), "the metrics need the administrator or the metrics credential")
		default:
			writeErr(w, http.StatusUnauthorized, "unauthorized", "send Authorization: Bearer with the administrator or the metrics credential")
		}
	})
}

// isAdmin reports whether the request carries the administrator credential.
func (a *api) isAdmin(r *http.Request) bool {
	sum, ok := presented(r)
	return ok && a.admin.matches(sum)
}

// fail writes an error response and returns its code.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) string {
	var se *server.Error
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		status, ok := StatusOf[se.Code]
		if !ok {
			status = http.StatusInternalServerError
		}
		writeErr(w, status, string(se.Code), se.Message)
		return string(se.Code)
	case errors.As(err, &mbe):
		writeErr(w, http.StatusRequestEntityTooLarge, "bad_request", fmt.Sprintf("the body is larger than %d bytes", mbe.Limit))
		return "bad_request"
	case errors.Is(err, os.ErrDeadlineExceeded): // the server's read timeout (NewHTTPServer)
		writeErr(w, http.StatusRequestTimeout, "bad_request", "the body came too slowly: send it at once")
		return "bad_request"
	case errors.As(err, &he):
		writeErr(w, he.status, he.code, he.message)
		return he.code
	case errors.Is(err, server.ErrUnavailable):
		// The database, not the request: the client may try again, and
		// the operator reads the cause in the log.
		a.log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", "1")
		writeErr(w, http.StatusServiceUnavailable, "unavailable", "the database is unavailable for now: try again shortly")
		return "unavailable"
	case errors.Is(err, context.Canceled):
		writeErr(w, 499, "bad_request", "the client went away")
		return "canceled"
	}
	a.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "error", err)
	writeErr(w, http.StatusInternalServerError, "internal", "an internal error occurred; see the server log")
	return "internal"
}

func writeErr(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// decode reads a JSON body strictly into v: unknown fields, wrong types,
// trailing data, oversized bodies, and keys that another JSON reader
// would take differently (duplicates, case variants: see jsonkeys.Check) are
// refused.
func decode(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body) // at most MaxBody: wrap's MaxBytesReader
	if err != nil {
		return err
	}
	if err := jsonkeys.Check(data, reflect.TypeOf(v)); err != nil {
		return badRequest("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		mbe  *http.MaxBytesError
		text interface{ Error() string }
	)
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("the body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the JSON body ends too early")
	case errors.As(err, &syn):
		return badRequest("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return badRequest("field %q must be a %s, not %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.As(err, &text):
		return badRequest("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return badRequest("invalid JSON")
}

// need refuses empty required fields.
func need(fields ...string) error {
	for i := 0; i < len(fields); i += 2 {
		if fields[i+1] == "" {
			return badRequest("field %q is required", fields[i])
		}
	}
	return nil
}
