// Package console is tokenlab's web console, served by tokenlab serve at
// "/": a page of virtual tokens that look like hardware (press the button,
// read the LCD, copy the code, set drift and faults, activate) and views of
// the verification server (the inventory, accounts, the outbox, the audit
// log, and with a virtual clock buttons that move it and run the sweeps).
//
// It is server-rendered HTML (html/template) with a small script for the
// countdown and the copy button; templates, CSS and JavaScript are embedded,
// nothing is fetched from elsewhere, and every action is a plain form POST
// answered with a redirect (Post/Redirect/Get), so it works without
// JavaScript too.
//
// Access needs the administrator credential, in the login form (a POST) or
// an Authorization: Bearer header to /login, never in a URL; or a login link
// (Console.LoginLink: /login?nonce=N, once, within LoginLinkTTL), which
// tokenlab serve prints. Either starts a session, and every form carries a
// CSRF field derived from the credential.
//
// Sessions are random values kept in memory, so a restart signs everyone
// out. The cookie is HttpOnly and SameSite=Strict, and over TLS (or with
// Options.BehindTLS) Secure and named "__Host-" + CookieName. A session
// ends on logout, after Options.SessionIdle unused (30 minutes by default)
// and Options.SessionMax after sign-in (12 hours by default), on the
// console's own clock (Options.Clock).
package console

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/server"
)

//go:embed templates/*.html static/*
var assets embed.FS

// CookieName is the console's session cookie; over TLS it is
// "__Host-" + CookieName, which browsers accept only Secure, for this host
// and path "/".
const CookieName = "tokenlab_console"

// Options is what the console needs.
type Options struct {
	// Server is the verification server the console shows and acts on.
	Server *server.Server
	// Store holds the virtual tokens of the tokens page.
	Store *emulator.Store
	// AdminToken is the administrator credential; the CSRF field is derived
	// from it.
	AdminToken string
	// VirtualClock is the server's clock when it is virtual: the console
	// then offers buttons that move it. Nil: a real clock, no buttons.
	VirtualClock clock.Mover
	// Logger receives one line per action; nil discards them.
	Logger *slog.Logger
	// Clock is the console's own clock, for session limits and login
	// links; nil: the system clock. It is deliberately not the server's
	// (virtual) clock: moving that 30 days must not sign the console out.
	Clock clock.Clock
	// SessionIdle ends a session unused for this long; zero:
	// DefaultSessionIdle.
	SessionIdle time.Duration
	// SessionMax ends a session this long after sign-in, however busy;
	// zero: DefaultSessionMax.
	SessionMax time.Duration
	// BehindTLS says that a proxy in front terminates TLS, so requests
	// arrive over plain HTTP: the cookie is then Secure and named
	// "__Host-" + CookieName all the same. A request over TLS (r.TLS set)
	// gets that without it.
	BehindTLS bool
}

// The session limits when Options leaves them zero.
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 12 * time.Hour
)

// Console is the console's handler.
type Console struct {
	srv       *server.Server
	store     *emulator.Store
	vclk      clock.Mover
	log       *slog.Logger
	adminID   [sha256.Size]byte // SHA-256 of the credential, for a constant-time check
	csrf      string            // the forms' csrf field
	clk       clock.Clock       // the console's own clock: sessions and login links
	idle, max time.Duration     // the session limits
	behindTLS bool
	pages     map[string]*template.Template
	static    http.Handler
	mux       *http.ServeMux

	mu       sync.Mutex
	lcds     map[string]lcdState             // the last press of each token, by serial
	flashes  map[string]flash                // messages for the page after a POST, by id
	sessions map[[sha256.Size]byte]*session  // by SHA-256 of the cookie's value
	nonces   map[[sha256.Size]byte]time.Time // login links' nonces: when each was minted
}

// session is a signed-in browser.
type session struct {
	created, used time.Time
}

// maxSessions bounds the sessions kept; past it the least recently used
// goes, so that a loop of sign-ins cannot fill the memory.
const maxSessions = 1000

// actor is who the console acts as on the server.
var actor = server.AsAdmin("console")

// New returns the console's handler.
func New(o Options) (*Console, error) {
	if v, ok := o.VirtualClock.(*clock.Virtual); ok && v == nil {
		o.VirtualClock = nil // a nil *clock.Virtual is a real clock
	}
	if o.Server == nil {
		return nil, errors.New("console: no server")
	}
	if o.Store == nil {
		return nil, errors.New("console: no token store")
	}
	if o.AdminToken == "" {
		return nil, errors.New("console: no administrator credential")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.SessionIdle == 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.SessionMax == 0 {
		o.SessionMax = DefaultSessionMax
	}
	if o.SessionIdle < 0 || o.SessionMax < 0 {
		return nil, errors.New("console: negative session limit: use a positive duration, or zero for the default")
	}
	c := &Console{
		srv: o.Server, store: o.Store, vclk: o.VirtualClock, log: o.Logger.With("component", "console"),
		adminID: sha256.Sum256([]byte(o.AdminToken)),
		csrf:    macHex(o.AdminToken, "tokenlab console csrf"),
		clk:     o.Clock, idle: o.SessionIdle, max: o.SessionMax, behindTLS: o.BehindTLS,
		pages: map[string]*template.Template{},
		lcds:  map[string]lcdState{}, flashes: map[string]flash{},
		sessions: map[[sha256.Size]byte]*session{},
		nonces:   map[[sha256.Size]byte]time.Time{},
	}
	for _, name := range []string{"login", "tokens", "server", "account", "outbox", "audit", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix("/static/", http.FileServerFS(static))
	c.routes()
	return c, nil
}

// macHex is hex(HMAC-SHA256(key, msg)).
func macHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.loginPage)
	m.HandleFunc("POST /logout", c.logout)
	m.HandleFunc("GET /{$}", c.tokensPage)
	m.HandleFunc("POST /tokens", c.createToken)
	m.HandleFunc("POST /tokens/{serial}/press", c.pressToken)
	m.HandleFunc("POST /tokens/{serial}/drift", c.setDrift)
	m.HandleFunc("POST /tokens/{serial}/faults", c.setFaults)
	m.HandleFunc("POST /tokens/{serial}/activate", c.activateToken)
	m.HandleFunc("POST /tokens/{serial}/import", c.importToken)
	m.HandleFunc("GET /server", c.serverPage)
	m.HandleFunc("POST /server/sponsor", c.sponsor)
	m.HandleFunc("POST /server/accounts", c.createAccount)
	m.HandleFunc("GET /server/accounts/{id}", c.accountPage)
	m.HandleFunc("GET /server/notifications", c.outboxPage)
	m.HandleFunc("GET /server/audit", c.auditPage)
	m.HandleFunc("POST /clock", c.moveClock)
	m.HandleFunc("POST /sweep", c.sweep)
	m.HandleFunc("/", c.notFound)
	c.mux = m
}

// maxForm bounds a form's body.
const maxForm = 64 << 10

func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if strings.HasPrefix(r.URL.Path, "/static/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		h.Set("Cache-Control", "no-cache")
		c.static.ServeHTTP(w, r)
		return
	}
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	if r.URL.Path == "/login" {
		c.mux.ServeHTTP(w, r)
		return
	}
	if !c.signedIn(r) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "400 bad request: the form cannot be read", http.StatusBadRequest)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(c.csrf)) != 1 {
			http.Error(w, "403 forbidden: the form's csrf field is missing or wrong; reload the page and try again", http.StatusForbidden)
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// LoginLinkTTL is how long a login link works: long enough to copy it from
// a terminal into a browser, short enough that one found later in a log or
// the browser's history is dead. It also works once only.
const LoginLinkTTL = 10 * time.Minute

// maxNonces bounds the login links kept; past it the oldest goes.
const maxNonces = 100

// LoginLink returns a link that signs a browser in without the
// credential: base + "/login?nonce=N", N random, for one use within
// LoginLinkTTL. It is kept in memory: a restart forgets it.
func (c *Console) LoginLink(base string) string {
	nonce := randomHex(32)
	now := c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var oldest [sha256.Size]byte
	var oldestAt time.Time
	for k, at := range c.nonces {
		if now.Sub(at) >= LoginLinkTTL {
			delete(c.nonces, k)
		} else if oldestAt.IsZero() || at.Before(oldestAt) {
			oldest, oldestAt = k, at
		}
	}
	if len(c.nonces) >= maxNonces {
		delete(c.nonces, oldest)
	}
	c.nonces[sessionKey(nonce)] = now
	return strings.TrimRight(base, "/") + "/login?nonce=" + nonce
}

// secure reports whether the browser talks to us over TLS, directly or
// through a proxy.
func (c *Console) secure(r *http.Request) bool { return r.TLS != nil || c.behindTLS }

// cookieName is CookieName, with the "__Host-" prefix over TLS: a browser
// then refuses the cookie from a sibling subdomain or from plain HTTP.
func (c *Console) cookieName(r *http.Request) string {
	if c.secure(r) {
		return "__Host-" + CookieName
	}
	return CookieName
}

// setCookie sets (or, with value "", deletes) the session cookie. It has
// no Max-Age: the server ends the session; the browser drops it on exit.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, value string) {
	ck := &http.Cookie{Name: c.cookieName(r), Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(r)}
	if value == "" {
		ck.MaxAge = -1
	}
	http.SetCookie(w, ck)
}

// sessionKey is the map key of a cookie's value: its SHA-256, so that the
// map's lookup time says nothing about a live value.
func sessionKey(value string) [sha256.Size]byte { return sha256.Sum256([]byte(value)) }

// startSession starts a session and returns the cookie's value.
func (c *Console) startSession() string {
	value := randomHex(32)
	now := c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var lru [sha256.Size]byte
	var lruUsed time.Time
	for k, s := range c.sessions {
		if !c.live(s, now) {
			delete(c.sessions, k)
		} else if lruUsed.IsZero() || s.used.Before(lruUsed) {
			lru, lruUsed = k, s.used
		}
	}
	if len(c.sessions) >= maxSessions {
		delete(c.sessions, lru)
	}
	c.sessions[sessionKey(value)] = &session{created: now, used: now}
	return value
}

// live reports whether s is within both limits at now.
func (c *Console) live(s *session, now time.Time) bool {
	return now.Sub(s.used) < c.idle && now.Sub(s.created) < c.max
}

// signedIn reports a live session cookie, and counts the request as a use.
func (c *Console) signedIn(r *http.Request) bool {
	ck, err := r.Cookie(c.cookieName(r))
	if err != nil || ck.Value == "" {
		return false
	}
	key := sessionKey(ck.Value)
	now := c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[key]
	if !ok {
		return false
	}
	if !c.live(s, now) {
		delete(c.sessions, key) // over is over, even if the clock goes back
		return false
	}
	if now.After(s.used) {
		s.used = now
	}
	return true
}

// endSession forgets the request's session, if any.
func (c *Console) endSession(r *http.Request) {
	if ck, err := r.Cookie(c.cookieName(r)); err == nil {
		c.mu.Lock()
		delete(c.sessions, sessionKey(ck.Value))
		c.mu.Unlock()
	}
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// credentialOK checks a credential against the administrator's in constant time.
func (c *Console) credentialOK(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return token != "" && subtle.ConstantTimeCompare(sum[:], c.adminID[:]) == 1
}

// loginPage signs a browser in with the credential from the login form
// (POST) or an Authorization: Bearer header, or with a login link's nonce
// (see LoginLink). The credential in a URL is refused: URLs end up in
// logs, proxies and the browser's history.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("token") {
		c.log.Warn("sign-in refused: the credential in a URL", "remote", r.RemoteAddr)
		c.renderStatus(w, r, http.StatusBadRequest, "login", &page{Title: "Log in", Message: &flash{Kind: "error",
			Text: "The administrator credential is not accepted in a URL, where logs and the browser's history keep it: paste it in the form below, or open the /login?nonce=… link tokenlab serve printed."}})
		return
	}
	var given, ok bool
	refusal := "That is not the administrator credential. Use the one tokenlab serve printed when it generated it (it is in DATA/admin.token), or the --admin-token or TOKENLAB_ADMIN_TOKEN it was given."
	switch {
	case r.Header.Get("Authorization") != "":
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		given, ok = true, strings.EqualFold(scheme, "Bearer") && c.credentialOK(strings.TrimSpace(token))
	case r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			http.Error(w, "400 bad request: the form cannot be read", http.StatusBadRequest)
			return
		}
		given, ok = true, c.credentialOK(r.PostForm.Get("token"))
	case q.Has("nonce"):
		given, ok = true, c.useNonce(q.Get("nonce"))
		refusal = fmt.Sprintf("That login link was used already or expired: it works once, within %d minutes. Log in with the administrator credential below, or restart tokenlab serve for a new link.", int(LoginLinkTTL.Minutes()))
	}
	if ok {
		c.endSession(r) // a new value on every sign-in: no session fixation
		c.setCookie(w, r, c.startSession())
		c.log.Info("signed in", "remote", r.RemoteAddr)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !given && c.signedIn(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p := &page{Title: "Log in"}
	status := http.StatusOK
	if given {
		status = http.StatusUnauthorized
		p.Message = &flash{Kind: "error", Text: refusal}
		c.log.Warn("sign-in refused", "remote", r.RemoteAddr)
	}
	c.renderStatus(w, r, status, "login", p)
}

// useNonce spends a login link's nonce: true once, within LoginLinkTTL.
func (c *Console) useNonce(nonce string) bool {
	if nonce == "" {
		return false
	}
	key, now := sessionKey(nonce), c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.nonces[key]
	delete(c.nonces, key)
	return ok && now.Sub(at) < LoginLinkTTL
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.endSession(r) // the server forgets it: a copy of the cookie is dead too
	c.setCookie(w, r, "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Not found", Message: &flash{Kind: "error", Text: "There is no console page at " + r.URL.Path + "."}}
	c.renderStatus(w, r, http.StatusNotFound, "error", p)
}

// flash is a message shown on the page after an action.
type flash struct {
	// Kind is "ok" or "error".
	Kind, Text, Detail string
	at                 time.Time
}

// flashTTL is how long a flash message stays available to its redirect.
const flashTTL = 5 * time.Minute

// putFlash keeps f and returns its id for the redirect's query.
func (c *Console) putFlash(f flash) string {
	id := randomHex(12)
	f.at = time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, old := range c.flashes {
		if time.Since(old.at) > flashTTL || len(c.flashes) > 1000 {
			delete(c.flashes, k)
		}
	}
	c.flashes[id] = f
	return id
}

func (c *Console) getFlash(id string) *flash {
	if id == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.flashes[id]
	if !ok || time.Since(f.at) > flashTTL {
		return nil
	}
	return &f
}

// done answers an action: the flash for the next page, and a 303 back to
// the page the form came from (its "back" field), else fallback.
func (c *Console) done(w http.ResponseWriter, r *http.Request, fallback, fragment string, f flash) {
	target := fallback
	if b := r.PostForm.Get("back"); localPath(b) {
		target = b
	}
	u, err := url.Parse(target)
	if err != nil {
		u = &url.URL{Path: fallback}
	}
	q := u.Query()
	q.Set("m", c.putFlash(f))
	u.RawQuery, u.Fragment = q.Encode(), fragment
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// ok and fail are the two kinds of answer to an action.
func (c *Console) ok(w http.ResponseWriter, r *http.Request, fallback, fragment, format string, a ...any) {
	c.done(w, r, fallback, fragment, flash{Kind: "ok", Text: fmt.Sprintf(format, a...)})
}

// fail shows a refusal as its code and message ("otp_incorrect: You have
// entered…"), with the server's detail and what the console did (about)
// underneath; another error as its text.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, fallback, fragment string, err error, about string) {
	f := flash{Kind: "error", Detail: about}
	var se *server.Error
	if errors.As(err, &se) {
		f.Text = string(se.Code) + ": " + se.Message
		if se.Detail != "" {
			f.Detail = strings.TrimPrefix(about+"; "+se.Detail, "; ")
		}
	} else {
		f.Text = err.Error()
	}
	c.log.Info("action refused", "path", r.URL.Path, "error", f.Text)
	c.done(w, r, fallback, fragment, f)
}

// localPath accepts a path on this site only.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") && !strings.ContainsAny(p, "\r\n")
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the active nav entry; "" hides the nav (login)
	CSRF    string
	Back    string // this page's URI without its flash, for the forms' "back" field
	Message *flash
	Clock   clockView
	Data    any
}

type clockView struct {
	Now     time.Time
	Virtual bool
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	c.renderStatus(w, r, http.StatusOK, name, p)
}

func (c *Console) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if p.Nav != "" {
		p.CSRF = c.csrf
	}
	if p.Message == nil {
		p.Message = c.getFlash(r.URL.Query().Get("m"))
	}
	q := r.URL.Query()
	q.Del("m")
	p.Back = r.URL.Path
	if len(q) > 0 {
		p.Back += "?" + q.Encode()
	}
	p.Clock = clockView{Now: c.srv.Clock().Now().UTC(), Virtual: c.vclk != nil}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.Error("rendering", "page", name, "error", err)
		http.Error(w, "500 internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// internalError shows an error that is not a refusal.
func (c *Console) internalError(w http.ResponseWriter, r *http.Request, nav string, err error) {
	c.log.Error("console", "path", r.URL.Path, "error", err)
	p := &page{Title: "Error", Nav: nav, Message: &flash{Kind: "error", Text: err.Error()}}
	c.renderStatus(w, r, http.StatusInternalServerError, "error", p)
}

// tokenTable is the argument of the "tokenrows" template.
type tokenTable struct {
	ID, Label string
	Tokens    []server.TokenView
}

var funcs = template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"whenPtr": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"stepPtr": func(s *int64) string {
		if s == nil {
			return "—"
		}
		return strconv.FormatInt(*s, 10)
	},
	"signed": func(n int64) string { return fmt.Sprintf("%+d", n) },
	"table": func(id, label string, toks []server.TokenView) tokenTable {
		return tokenTable{ID: id, Label: label, Tokens: toks}
	},
	"pathEscape":       url.PathEscape,
	"loginLinkMinutes": func() int { return int(LoginLinkTTL.Minutes()) },
	"ms":               func(t time.Time) int64 { return t.UnixMilli() },
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
}
