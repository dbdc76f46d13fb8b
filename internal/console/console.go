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
// Access needs the administrator credential: /login?token=T (or the login
// form) sets an HttpOnly, SameSite=Strict cookie derived from it, and every
// form carries a CSRF field derived from it.
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

// CookieName is the console's session cookie.
const CookieName = "tokenlab_console"

// Options is what the console needs.
type Options struct {
	// Server is the verification server the console shows and acts on.
	Server *server.Server
	// Store holds the virtual tokens of the tokens page.
	Store *emulator.Store
	// AdminToken is the administrator credential; the session cookie and the
	// CSRF field are derived from it.
	AdminToken string
	// VirtualClock is the server's clock when it is virtual: the console
	// then offers buttons that move it. Nil: a real clock, no buttons.
	VirtualClock *clock.Virtual
	// Logger receives one line per action; nil discards them.
	Logger *slog.Logger
}

// console is the handler.
type console struct {
	srv     *server.Server
	store   *emulator.Store
	vclk    *clock.Virtual
	log     *slog.Logger
	adminID [sha256.Size]byte // SHA-256 of the credential, for a constant-time check
	session string            // the session cookie's value
	csrf    string            // the forms' csrf field
	pages   map[string]*template.Template
	static  http.Handler
	mux     *http.ServeMux

	mu      sync.Mutex
	lcds    map[string]lcdState // the last press of each token, by serial
	flashes map[string]flash    // messages for the page after a POST, by id
}

// actor is who the console acts as on the server.
var actor = server.AsAdmin("console")

// New returns the console's handler.
func New(o Options) (http.Handler, error) {
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
	c := &console{
		srv: o.Server, store: o.Store, vclk: o.VirtualClock, log: o.Logger.With("component", "console"),
		adminID: sha256.Sum256([]byte(o.AdminToken)),
		session: macHex(o.AdminToken, "tokenlab console session"),
		csrf:    macHex(o.AdminToken, "tokenlab console csrf"),
		pages:   map[string]*template.Template{},
		lcds:    map[string]lcdState{}, flashes: map[string]flash{},
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

func (c *console) routes() {
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

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

// signedIn reports a valid session cookie.
func (c *console) signedIn(r *http.Request) bool {
	ck, err := r.Cookie(CookieName)
	return err == nil && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.session)) == 1
}

// credentialOK checks a credential against the administrator's in constant time.
func (c *console) credentialOK(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return token != "" && subtle.ConstantTimeCompare(sum[:], c.adminID[:]) == 1
}

func (c *console) loginPage(w http.ResponseWriter, r *http.Request) {
	var token string
	var given bool
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "400 bad request: the form cannot be read", http.StatusBadRequest)
			return
		}
		token, given = r.PostForm.Get("token"), true
	} else if q := r.URL.Query(); q.Has("token") {
		token, given = q.Get("token"), true
	}
	if given && c.credentialOK(token) {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: c.session, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
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
		p.Message = &flash{Kind: "error", Text: "That is not the administrator credential. Use the one tokenlab serve printed (or DATA/admin.token, TOKENLAB_ADMIN_TOKEN)."}
		c.log.Warn("sign-in refused", "remote", r.RemoteAddr)
	}
	c.renderStatus(w, r, status, "login", p)
}

func (c *console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *console) notFound(w http.ResponseWriter, r *http.Request) {
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
func (c *console) putFlash(f flash) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
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

func (c *console) getFlash(id string) *flash {
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
func (c *console) done(w http.ResponseWriter, r *http.Request, fallback, fragment string, f flash) {
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
func (c *console) ok(w http.ResponseWriter, r *http.Request, fallback, fragment, format string, a ...any) {
	c.done(w, r, fallback, fragment, flash{Kind: "ok", Text: fmt.Sprintf(format, a...)})
}

// fail shows a refusal as its code and message ("otp_incorrect: You have
// entered…"), with the server's detail and what the console did (about)
// underneath; another error as its text.
func (c *console) fail(w http.ResponseWriter, r *http.Request, fallback, fragment string, err error, about string) {
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

func (c *console) render(w http.ResponseWriter, r *http.Request, name string, p *page) {
	c.renderStatus(w, r, http.StatusOK, name, p)
}

func (c *console) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
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
func (c *console) internalError(w http.ResponseWriter, r *http.Request, nav string, err error) {
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
	"pathEscape": url.PathEscape,
	"ms":         func(t time.Time) int64 { return t.UnixMilli() },
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
}
