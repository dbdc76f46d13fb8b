package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
)

type serverData struct {
	Tokens   []server.TokenView
	Accounts []server.AccountView
	// Pending are the serials a sponsorship can name.
	Pending []string
}

func (c *Console) serverPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	toks, err := c.srv.Tokens(ctx, server.TokenFilter{})
	if err != nil {
		c.internalError(w, r, "server", err)
		return
	}
	accs, err := c.srv.Accounts(ctx)
	if err != nil {
		c.internalError(w, r, "server", err)
		return
	}
	d := serverData{Tokens: toks, Accounts: accs}
	for _, t := range toks {
		if t.Status == server.StatusPendingActivation {
			d.Pending = append(d.Pending, t.Serial)
		}
	}
	c.render(w, r, "server", &page{Title: "The server at a glance", Nav: "server", Data: d})
}

func (c *Console) sponsor(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostForm.Get("user_id"))
	serial := strings.TrimSpace(r.PostForm.Get("serial"))
	if user == "" || serial == "" {
		c.fail(w, r, "/server", "sponsor-h", errors.New("give both the user ID and the serial to sponsor"), "")
		return
	}
	sp, err := c.srv.Sponsor(r.Context(), actor, server.Sponsorship{UserID: user, Serial: serial})
	if err != nil {
		c.fail(w, r, "/server", "sponsor-h", err, "")
		return
	}
	c.log.Info("sponsored", "serial", serial, "user", user)
	c.ok(w, r, "/server", "row-"+serial, "Sponsored %s to %s (level %d): they can activate it now.", sp.Serial, sp.UserID, sp.Level)
}

func (c *Console) createAccount(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	n := server.NewAccount{
		UserID: strings.TrimSpace(f.Get("user_id")), Email: strings.TrimSpace(f.Get("email")),
		FirstName: strings.TrimSpace(f.Get("first_name")), LastName: strings.TrimSpace(f.Get("last_name")),
		Organization: strings.TrimSpace(f.Get("organization")), Password: f.Get("password"),
	}
	acc, err := c.srv.CreateAccount(r.Context(), actor, n)
	if err != nil {
		c.fail(w, r, "/server", "accounts-h", err, "")
		return
	}
	c.log.Info("account created", "user", acc.UserID)
	c.ok(w, r, "/server", "accounts-h", "Created the account %s (%s).", acc.UserID, acc.Email)
}

type accountData struct {
	Account server.AccountView
	Tokens  []server.TokenView
}

func (c *Console) accountPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	acc, err := c.srv.Account(r.Context(), id)
	var se *server.Error
	if errors.As(err, &se) {
		p := &page{Title: "Account " + id, Nav: "server", Message: &flash{Kind: "error", Text: string(se.Code) + ": " + se.Message, Detail: se.Detail}}
		c.renderStatus(w, r, http.StatusNotFound, "error", p)
		return
	}
	if err != nil {
		c.internalError(w, r, "server", err)
		return
	}
	toks, err := c.srv.Tokens(r.Context(), server.TokenFilter{OwnerID: id})
	if err != nil {
		c.internalError(w, r, "server", err)
		return
	}
	c.render(w, r, "account", &page{Title: "Account " + acc.UserID, Nav: "server", Data: accountData{Account: acc, Tokens: toks}})
}

type outboxData struct {
	UserID        string
	Notifications []server.Notification
}

func (c *Console) outboxPage(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.URL.Query().Get("user_id"))
	ns, err := c.srv.Notifications(r.Context(), user)
	if err != nil {
		c.internalError(w, r, "outbox", err)
		return
	}
	title := "Notification outbox"
	if user != "" {
		title += " of " + user
	}
	c.render(w, r, "outbox", &page{Title: title, Nav: "outbox", Data: outboxData{UserID: user, Notifications: ns}})
}

// auditLimit is how many entries the audit page shows (the newest).
const auditLimit = 200

type auditData struct {
	Target  string
	Limit   int
	Entries []server.AuditEntry
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	target := strings.TrimSpace(r.URL.Query().Get("target"))
	es, err := c.srv.Audit(r.Context(), target, auditLimit)
	if err != nil {
		c.internalError(w, r, "audit", err)
		return
	}
	c.render(w, r, "audit", &page{Title: "Audit log", Nav: "audit", Data: auditData{Target: target, Limit: auditLimit, Entries: es}})
}

// moveClock moves the virtual clock and runs the sweep, as POST /v1/clock does.
func (c *Console) moveClock(w http.ResponseWriter, r *http.Request) {
	if c.vclk == nil {
		c.fail(w, r, "/server", "", errors.New("the clock is real: start tokenlab serve with --virtual-clock to move it"), "")
		return
	}
	raw := strings.TrimSpace(r.PostForm.Get("advance"))
	d, err := parseAdvance(raw)
	if err != nil {
		c.fail(w, r, "/server", "", err, "")
		return
	}
	now, err := c.vclk.StepContext(r.Context(), d)
	if err != nil {
		c.fail(w, r, "/server", "", err, "the clock did not move")
		return
	}
	rep, err := c.srv.Sweep(r.Context())
	if err != nil {
		c.fail(w, r, "/server", "", err, "the clock moved but the sweep failed")
		return
	}
	c.log.Info("clock moved", "by", raw, "now", now.UTC().Format(time.RFC3339))
	c.ok(w, r, "/server", "", "Clock moved %s to %s. Sweep: %s.", signedAdvance(raw), now.UTC().Format(time.RFC3339), sweepText(rep))
}

func (c *Console) sweep(w http.ResponseWriter, r *http.Request) {
	rep, err := c.srv.Sweep(r.Context())
	if err != nil {
		c.fail(w, r, "/server", "", err, "")
		return
	}
	c.ok(w, r, "/server", "", "Sweep at %s: %s.", c.srv.Clock().Now().UTC().Format(time.RFC3339), sweepText(rep))
}

func sweepText(rep server.SweepReport) string {
	return fmt.Sprintf("%d reminders sent, %d tokens expired, %d revoked", rep.Reminders, rep.Expired, rep.Revoked)
}

func signedAdvance(s string) string {
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		return s
	}
	return "+" + s
}

// parseAdvance reads a clock move: a Go duration or days ("30d"), as the
// API's clock endpoint reads it, but not zero.
func parseAdvance(s string) (time.Duration, error) {
	d, err := httpapi.ParseDuration(s)
	if err != nil || d == 0 {
		return 0, fmt.Errorf("invalid clock move %q: use a duration such as 30s, 90m or 30d", s)
	}
	return d, nil
}
