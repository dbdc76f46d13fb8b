package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

const day = 24 * time.Hour

// outbox renders a user's notifications as "kind@days" since t0, for
// comparing schedules.
func (f *fixture) outbox(user string, t0 time.Time, kindsOnly ...string) string {
	var out []string
	for _, n := range f.notifications(user) {
		keep := len(kindsOnly) == 0
		for _, k := range kindsOnly {
			keep = keep || string(n.Kind) == k
		}
		if keep {
			out = append(out, fmt.Sprintf("%s@%s", n.Kind, fmtDays(n.CreatedAt.Sub(t0))))
		}
	}
	return strings.Join(out, " ")
}

func fmtDays(d time.Duration) string {
	switch {
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d%day < time.Second: // just after a deadline: "60d+1ns"
		return fmt.Sprintf("%dd+%v", d/day, d%day)
	}
	return fmt.Sprintf("%.2fd", float64(d)/float64(day))
}

func (f *fixture) sweep() server.SweepReport {
	f.t.Helper()
	rep, err := f.srv.Sweep(f.ctx)
	f.ok(err)
	return rep
}

func TestSuspensionByUserAndByAdministrator(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()

	// The user suspends and re-enables their own token.
	f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(u), d.serial)))
	if v := f.status(d.serial); v.Status != server.StatusSuspended || v.SuspendedBy != "user" {
		t.Fatalf("%+v", v)
	}
	f.expectCode(errOf(f.srv.Suspend(f.ctx, server.AsUser(u), d.serial)), server.CodeActionUnavailable)
	f.ok(errOf(f.srv.Enable(f.ctx, server.AsUser(u), d.serial)))

	// An administrator's suspension only an administrator lifts.
	f.ok(errOf(f.srv.Suspend(f.ctx, f.admin, d.serial)))
	f.expectCode(errOf(f.srv.Enable(f.ctx, server.AsUser(u), d.serial)), server.CodeForbidden)
	f.ok(errOf(f.srv.Enable(f.ctx, f.admin, d.serial)))
	f.expectCode(errOf(f.srv.Enable(f.ctx, f.admin, d.serial)), server.CodeActionUnavailable)

	// Nobody else may touch it.
	f.expectCode(errOf(f.srv.Suspend(f.ctx, server.AsUser(f.user()), d.serial)), server.CodeForbidden)
	_, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
}

// TestSuspendedSixtyDaysIsRevokedWithReminders: "If your OTP Hardware Token
// has been suspended for more than 60 days, Exostar automatically revokes
// your token": suspended for 60 days exactly it is still suspended, and
// revoked at the first instant past them.
func TestSuspendedSixtyDaysIsRevokedWithReminders(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	t0 := f.clk.Now()
	f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(u), d.serial)))
	// A daily sweep and one big jump must give the same history.
	for range 60 {
		f.clk.Step(day)
		f.sweep()
	}
	if v := f.status(d.serial); v.Status != server.StatusSuspended {
		t.Fatalf("suspended for 60 days exactly: %s", v.Status)
	}
	f.clk.Step(time.Nanosecond)
	if rep := f.sweep(); rep.Revoked != 1 {
		t.Fatalf("suspended for more than 60 days: %+v", rep)
	}
	if v := f.status(d.serial); v.Status != server.StatusRevoked || !v.RevokedAt.Equal(t0.Add(60*day+time.Nanosecond)) {
		t.Fatalf("suspended for more than 60 days: %+v", v)
	}
	want := "revocation_reminder@30d revocation_reminder@45d revocation_reminder@57d revocation_notice@60d+1ns"
	if got := f.outbox(u, t0, "revocation_reminder", "revocation_notice"); got != want {
		t.Fatalf("outbox:\n got %s\nwant %s", got, want)
	}

	g := newFixture(t, server.Policy{})
	u2, d2 := g.activeToken()
	t1 := g.clk.Now()
	g.ok(errOf(g.srv.Suspend(g.ctx, g.admin, d2.serial)))
	g.clk.Step(2 * 365 * day)
	rep := g.sweep()
	if rep.Reminders != 3 || rep.Revoked != 1 || rep.Expired != 0 {
		t.Fatalf("one jump: %+v", rep)
	}
	if got := g.outbox(u2, t1, "revocation_reminder", "revocation_notice"); got != want {
		t.Fatalf("one jump outbox:\n got %s\nwant %s", got, want)
	}
	if again := g.sweep(); again != (server.SweepReport{}) {
		t.Fatalf("a second sweep did more: %+v", again)
	}
	// Re-enabling in time cancels the revocation: on the 60th day's last
	// instant is in time.
	h := newFixture(t, server.Policy{})
	u3, d3 := h.activeToken()
	h.ok(errOf(h.srv.Suspend(h.ctx, server.AsUser(u3), d3.serial)))
	h.clk.Step(60 * day)
	h.sweep()
	h.ok(errOf(h.srv.Enable(h.ctx, server.AsUser(u3), d3.serial)))
	h.clk.Step(20 * day)
	h.sweep()
	if v := h.status(d3.serial); v.Status != server.StatusActive {
		t.Fatalf("re-enabled token: %s", v.Status)
	}
}

func TestExpiryRenewalAndRevocationOfExpiredTokens(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	purchase := start // the sponsorship
	expires := purchase.Add(365 * day)
	if v := f.status(d.serial); !v.ExpiresAt.Equal(expires) {
		t.Fatalf("expires %v", v.ExpiresAt)
	}
	// The renewal reminder 30 days before; the token still works.
	f.clk.Set(expires.Add(-30 * day))
	f.sweep()
	_, err := f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	// Expired: login is refused, even before a sweep runs.
	f.clk.Set(expires.Add(time.Second))
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.expectCode(err, server.CodeTokenExpired)
	f.sweep()
	if v := f.status(d.serial); v.Status != server.StatusExpired {
		t.Fatalf("status %s", v.Status)
	}
	_, err = f.srv.Resync(f.ctx, server.AsUser(u), d.serial, "12345678", "12345678")
	f.expectCode(err, server.CodeTokenExpired)
	// Renewal moves the expiry a year past the previous expiry date.
	f.clk.Step(10 * day)
	v, err := f.srv.Renew(f.ctx, server.AsUser(u), d.serial)
	f.ok(err)
	if v.Status != server.StatusActive || !v.ExpiresAt.Equal(expires.Add(365*day)) {
		t.Fatalf("renewed: %+v", v)
	}
	f.nextStep()
	_, err = f.srv.Verify(f.ctx, u, d.code(f.clk.Now()))
	f.ok(err)
	// Expired for a year: revoked, with reminders 30, 15 and 3 days before.
	second := expires.Add(365 * day)
	f.clk.Set(second.Add(2 * 365 * day))
	rep := f.sweep()
	if rep.Expired != 1 || rep.Revoked != 1 || rep.Reminders != 4 {
		t.Fatalf("sweep %+v", rep)
	}
	want := "expiry_reminder@335d expired@365d expiry_reminder@700d expired@730d revocation_reminder@1065d revocation_reminder@1080d revocation_reminder@1092d revocation_notice@1095d+1ns"
	if got := f.outbox(u, purchase, "expiry_reminder", "expired", "revocation_reminder", "revocation_notice"); got != want {
		t.Fatalf("outbox:\n got %s\nwant %s", got, want)
	}
	_, err = f.srv.Renew(f.ctx, server.AsUser(u), d.serial)
	f.expectCode(err, server.CodeTokenRevoked)
}

// TestTheFiftyNinthDayReadingIsAPolicy: "You must renew the token by the
// end of the business day of the 59th day": expired for 59 days exactly it
// may still be renewed; a moment later it is revoked.
func TestTheFiftyNinthDayReadingIsAPolicy(t *testing.T) {
	f := newFixture(t, server.Policy{ExpiredRevokeAfter: 59 * day})
	u, d := f.activeToken()
	expires := start.Add(365 * day)
	f.clk.Set(expires.Add(58 * day))
	f.sweep()
	if s := f.status(d.serial).Status; s != server.StatusExpired {
		t.Fatalf("day 58: %s", s)
	}
	f.clk.Set(expires.Add(59 * day))
	f.sweep()
	if s := f.status(d.serial).Status; s != server.StatusExpired {
		t.Fatalf("the end of day 59: %s", s)
	}
	f.clk.Step(time.Nanosecond)
	f.sweep()
	if s := f.status(d.serial).Status; s != server.StatusRevoked {
		t.Fatalf("past day 59: %s", s)
	}
	// The renewal in time.
	g := newFixture(t, server.Policy{ExpiredRevokeAfter: 59 * day})
	gu, gd := g.activeToken()
	g.clk.Set(expires.Add(59 * day))
	g.sweep()
	g.ok(errOf(g.srv.Renew(g.ctx, server.AsUser(gu), gd.serial)))
	g.clk.Step(time.Nanosecond)
	g.sweep()
	if s := g.status(gd.serial).Status; s != server.StatusActive {
		t.Fatalf("renewed at the end of day 59: %s", s)
	}
	if got := f.outbox(u, expires, "revocation_reminder"); got != "revocation_reminder@29d revocation_reminder@44d revocation_reminder@56d" {
		t.Fatalf("reminders %s", got)
	}
}

func TestRevocationByTheUser(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	ss, err := f.srv.Login(f.ctx, u, "correct horse battery", d.code(f.clk.Now()))
	f.ok(err)
	if a, _ := f.srv.Account(f.ctx, u); !a.RememberToken {
		t.Fatal("a login with the token did not set the remember-token cookie flag")
	}
	f.ok(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d.serial)))
	// The session ended, the cookie flag is cleared, the password is temporary.
	_, err = f.srv.Elevate(f.ctx, ss.ID, "12345678")
	f.expectCode(err, server.CodeSessionInvalid)
	a, err := f.srv.Account(f.ctx, u)
	f.ok(err)
	if a.RememberToken || !a.TemporaryPassword {
		t.Fatalf("account after revocation: %+v", a)
	}
	_, err = f.srv.Login(f.ctx, u, "correct horse battery", "")
	f.expectCode(err, server.CodeCredentialsInvalid)
	ns := f.notifications(u)
	last := ns[len(ns)-1]
	if last.Kind != "temporary_password" || last.Recipient != a.Email {
		t.Fatalf("last notification %+v", last)
	}
	temp := last.Body[strings.LastIndex(last.Body, " ")+1:]
	_, err = f.srv.Login(f.ctx, u, temp, "")
	f.ok(err)
	f.ok(f.srv.ChangePassword(f.ctx, u, temp, "a new permanent one"))
	if strings.Contains(strings.Join(kinds(ns), ","), "revocation_notice") {
		t.Fatal("the user's own revocation sent an administrator's notice")
	}
	// Permanent.
	f.expectCode(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d.serial)), server.CodeTokenRevoked)
	f.expectCode(errOf(f.srv.Enable(f.ctx, f.admin, d.serial)), server.CodeTokenRevoked)
	f.expectCode(errOf(f.srv.Reset(f.ctx, f.admin, d.serial)), server.CodeTokenRevoked)
}

func TestRevocationByAnAdministratorFromEveryState(t *testing.T) {
	for _, st := range []string{"pending", "active", "locked", "suspended", "expired"} {
		t.Run(st, func(t *testing.T) {
			f := newFixture(t, server.Policy{})
			var u string
			var d *device
			if st == "pending" {
				u, d = f.user(), f.importToken()
				f.sponsor(u, d.serial)
			} else {
				u, d = f.activeToken()
			}
			switch st {
			case "locked":
				for range 5 {
					_, _ = f.srv.Verify(f.ctx, u, d.wrong(f.clk.Now()))
				}
			case "suspended":
				f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(u), d.serial)))
			case "expired":
				f.clk.Step(366 * day)
				f.sweep()
			}
			f.ok(errOf(f.srv.Revoke(f.ctx, f.admin, d.serial)))
			if v := f.status(d.serial); v.Status != server.StatusRevoked {
				t.Fatalf("%+v", v)
			}
			k := strings.Join(kinds(f.notifications(u)), ",")
			if st == "pending" {
				// Never activated: not the account's credential, nothing to reset.
				if k != "sponsorship" {
					t.Fatalf("outbox %s", k)
				}
				return
			}
			if !strings.HasSuffix(k, "revocation_notice,temporary_password") {
				t.Fatalf("outbox %s", k)
			}
		})
	}
	// Pending Approval is not in the guide's list.
	f := newFixture(t, server.Policy{ApprovalRequired: true})
	u, d := f.user(), f.importToken()
	f.sponsor(u, d.serial)
	_, err := f.activate(u, d)
	f.ok(err)
	f.expectCode(errOf(f.srv.Revoke(f.ctx, f.admin, d.serial)), server.CodeActionUnavailable)
}

func TestAnEmptyActorManagesNothing(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.user(), f.importToken()
	f.sponsor(u, d.serial)
	// A pending token has no owner: an actor without an ID must not pass for
	// it. Nobody acts by default: the zero Actor is a bad request, and an
	// administrator with an empty ID is still an administrator.
	f.expectCode(errOf(f.srv.Suspend(f.ctx, server.AsUser(""), d.serial)), server.CodeBadRequest)
	f.expectCode(errOf(f.srv.Revoke(f.ctx, server.Actor{}, d.serial)), server.CodeBadRequest)
	f.expectCode(errOf(f.srv.Suspend(f.ctx, server.AsUser("nobody"), d.serial)), server.CodeForbidden)
	// The user it is sponsored to may revoke it; it was never the account's
	// credential, so the password stays.
	f.ok(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d.serial)))
	if a, _ := f.srv.Account(f.ctx, u); a.TemporaryPassword {
		t.Fatal("revoking a never-activated token reset the password")
	}
}
