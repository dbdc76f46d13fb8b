package server_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

// allNotifications drives the server through every flow that sends a
// notification and returns the whole outbox.
func allNotifications(t *testing.T) (*fixture, []server.Notification) {
	f := newFixture(t, server.Policy{OperatorName: "Acme Ops", PortalName: "Acme Portal"})

	// Sponsored with a deadline, activated, suspended by its user and left
	// suspended until it is revoked.
	u1, d1 := f.user(), f.importToken()
	f.sponsor(u1, d1.serial, func(sp *server.Sponsorship) { sp.ActivateBy = f.clk.Now().Add(10 * day) })
	f.ok(errOf(f.activate(u1, d1)))
	f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(u1), d1.serial)))

	// Sponsored without a deadline, activated, revoked by an administrator.
	u2, d2 := f.user(), f.importToken()
	f.sponsor(u2, d2.serial)
	f.ok(errOf(f.activate(u2, d2)))
	f.ok(errOf(f.srv.Revoke(f.ctx, f.admin, d2.serial)))

	// Activated, then left to expire and, a year later, be revoked.
	u3, d3 := f.user(), f.importToken()
	f.sponsor(u3, d3.serial)
	f.ok(errOf(f.activate(u3, d3)))

	// Phone codes by text and by voice; a proofing code by post, another
	// from a live proofing agent. The phone OTP subscription is left to
	// expire and lapse, with its reminders.
	u4 := f.user()
	f.ok(errOf(f.srv.AddPhone(f.ctx, u4, "+17035550100", "text", "")))
	f.ok(errOf(f.srv.AddPhone(f.ctx, u4, "+17035550101", "voice", "")))
	f.ok(errOf(f.srv.VerifyPhone(f.ctx, u4, "+17035550100", f.phoneCode(u4, "+17035550100"))))
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u4, "+17035550100")))
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u4, "+17035550101")))
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, u4, server.ProofingPostal)))
	f.ok(errOf(f.srv.RecordProofing(f.ctx, f.admin, f.user(), server.ProofingLive)))

	f.clk.Step(3 * 365 * day)
	f.sweep()
	ns, err := f.srv.Notifications(f.ctx, "")
	f.ok(err)
	return f, ns
}

// TestEveryNotificationComesFromTheCatalogue: every notification sent is a
// catalogue entry of its kind, rendered; and every entry is sent by some
// flow, so that the catalogue lists no text the server has stopped using.
func TestEveryNotificationComesFromTheCatalogue(t *testing.T) {
	f, ns := allNotifications(t)
	pol, err := f.srv.Policy(f.ctx)
	f.ok(err)
	names := strings.NewReplacer("{portal}", pol.PortalName, "{operator}", pol.OperatorName)
	placeholder := regexp.MustCompile(`\\\{[a-z]+\\\}`)
	pattern := func(s string) *regexp.Regexp {
		return regexp.MustCompile("^" + placeholder.ReplaceAllString(regexp.QuoteMeta(names.Replace(s)), ".+") + "$")
	}
	used := make([]bool, len(server.Notifications))
	for _, n := range ns {
		found := false
		for i, e := range server.Notifications {
			if e.Kind == n.Kind && pattern(e.Subject).MatchString(n.Subject) && pattern(e.Body).MatchString(n.Body) {
				used[i], found = true, true
			}
		}
		if !found {
			t.Errorf("%s is no catalogue entry: %q, %q", n.Kind, n.Subject, n.Body)
		}
	}
	for i, e := range server.Notifications {
		if !used[i] {
			t.Errorf("%s (%s) is never sent", e.Kind, e.When)
		}
	}
}
