package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

// statusCodesCase is a row of fixtures/scenarios/status-codes.json: a token
// in a state, and what a login and a resync answer.
type statusCodesCase struct {
	Name       string `json:"name"`
	State      string `json:"state"`
	Login      string `json:"login"`
	Resync     string `json:"resync"`
	NeedsClock bool   `json:"needs_clock"`
}

func (c statusCodesCase) name() string { return c.Name }

var _ = flow(func(w *harness.World) {
	Describe("Login and resync by token status", Label("login", "resync"), w.Needs(harness.Provision, harness.Verify, harness.Resync, harness.Inspect), func() {
		// expectOutcome asserts "ok" (no error) or the refusal's code.
		expectOutcome := func(err error, outcome string) {
			GinkgoHelper()
			if outcome == "ok" {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			w.ExpectRefusal(err, server.Code(outcome))
		}

		DescribeTable("Given a token in a state, When the user logs in and resynchronises it, Then each is answered as the table says (fixtures/scenarios/status-codes.json)",
			func(c statusCodesCase) {
				var (
					user string
					dev  *harness.Device
				)
				if c.State == "pending_activation" {
					user, dev = w.NewUser(), w.NewDevice()
					w.Sponsor(user, dev) // sponsored, not activated
				} else {
					user, dev = w.ActiveUser()
				}
				switch c.State {
				case "pending_activation":
					Expect(w.Status(dev).Status).To(Equal(server.StatusPendingActivation))
				case "suspended_by_user", "suspended_by_admin":
					by := w.Owner(dev.Serial())
					if c.State == "suspended_by_admin" {
						by = harness.Admin
					}
					v, err := w.T.Suspend(w.Ctx, by, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusSuspended))
				case "locked":
					for range 5 {
						_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
						w.ExpectRefusal(err, server.CodeOTPInvalid)
					}
					Expect(w.Status(dev).SubStatus).To(Equal("locked"))
				case "revoked":
					v, err := w.T.Revoke(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusRevoked))
				case "expired":
					w.Advance(366 * 24 * time.Hour)
					Expect(w.Status(dev).Status).To(Equal(server.StatusExpired))
				default:
					Fail("status-codes.json: unknown state " + c.State)
				}

				_, err := w.Login(user, dev)
				expectOutcome(err, c.Login)

				// Two consecutive codes of steps not used yet: the current one
				// may have been (the locked token's lockout, a login).
				p := dev.Spec().Period
				_, err = w.T.Resync(w.Ctx, server.AsUser(user), dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
				expectOutcome(err, c.Resync)
				if c.Resync == "ok" {
					v := w.Status(dev)
					Expect(v.SubStatus).To(Equal("active"))
					Expect(v.FailCount).To(BeZero())
				}
			}, statusEntries(w))
	})
})

// stateRoles are the roles that put a token in each state of the table.
var stateRoles = map[string][]harness.Role{
	"pending_activation": {harness.Activate},
	"suspended_by_user":  {harness.Suspend},
	"suspended_by_admin": {harness.Suspend},
	"locked":             {harness.Lockout},
	"revoked":            {harness.Revoke},
	"expired":            {harness.Expiry},
}

// statusEntries are the table's rows, each declaring the roles its state
// needs; a row that moves the clock needs the clock too (serial on a
// shared target).
func statusEntries(w *harness.World) []TableEntry {
	var out []TableEntry
	for _, c := range rows[statusCodesCase]("status-codes.json") {
		roles := stateRoles[c.State]
		if c.NeedsClock {
			roles = append(roles[:len(roles):len(roles)], harness.Clock)
		}
		out = append(out, Entry(c.Name, append(w.Needs(roles...), c)...))
	}
	return out
}
