package scenarios

import (
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	Describe("Suspension", Label("suspension"), w.Needs(harness.Provision, harness.Suspend), func() {
		const day = 24 * time.Hour

		var (
			user string
			dev  *harness.Device
		)
		BeforeEach(func() {
			user, dev = w.ActiveUser()
		})

		// revocationMail is the user's revocation reminders and notices, with
		// the days since t0 each was sent.
		revocationMail := func(t0 time.Time) (kinds []string, days []time.Duration) {
			ns, err := w.T.Notifications(w.Ctx, user)
			Expect(err).NotTo(HaveOccurred())
			for _, n := range ns {
				if n.Kind == "revocation_reminder" || n.Kind == "revocation_notice" {
					kinds = append(kinds, string(n.Kind))
					days = append(days, n.CreatedAt.Sub(t0)/day)
				}
			}
			return kinds, days
		}

		It("Given an active token, When the user suspends it, Then it is Suspended by the user, And When the user re-enables it, Then it logs in again", w.Needs(harness.Verify), func() {
			v, err := w.T.Suspend(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Status).To(Equal(server.StatusSuspended))
			Expect(v.SuspendedBy).To(Equal(server.ActorUser))

			v, err = w.T.Enable(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Status).To(Equal(server.StatusActive))
			Expect(v.SuspendedBy).To(BeEmpty())
			_, err = w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("Given a token an administrator suspended, When the user re-enables it, Then it is refused with forbidden, And only an administrator lifts the suspension", w.Needs(harness.Inspect), func() {
			v, err := w.T.Suspend(w.Ctx, harness.Admin, dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Status).To(Equal(server.StatusSuspended))
			Expect(v.SuspendedBy).To(Equal(server.ActorAdmin))

			_, err = w.T.Enable(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			w.ExpectRefusal(err, server.CodeForbidden)
			Expect(w.Status(dev).Status).To(Equal(server.StatusSuspended))

			v, err = w.T.Enable(w.Ctx, harness.Admin, dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Status).To(Equal(server.StatusActive))
		})

		It("Given an active token, When another user suspends it, Then it is refused with forbidden", w.Needs(harness.Inspect), func() {
			other, _ := w.ActiveUser()
			_, err := w.T.Suspend(w.Ctx, server.AsUser(other), dev.Serial())
			w.ExpectRefusal(err, server.CodeForbidden)
			Expect(w.Status(dev).Status).To(Equal(server.StatusActive))
		})

		When("the user has suspended the token", func() {
			BeforeEach(func() {
				_, err := w.T.Suspend(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
				Expect(err).NotTo(HaveOccurred())
			})

			It("Given a suspended token, When the user logs in with its code, Then the login is refused with token_unusable", w.Needs(harness.Verify), func() {
				_, err := w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeTokenUnusable)
			})

			It("Given a suspended token, When the user resynchronises it with two consecutive codes, Then the resync is refused with token_unusable", w.Needs(harness.Resync, harness.Inspect), func() {
				c1, c2 := dev.TwoConsecutiveCodes()
				_, err := w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), c1, c2)
				w.ExpectRefusal(err, server.CodeTokenUnusable)
				Expect(w.Status(dev).Status).To(Equal(server.StatusSuspended))
			})

			It("Given a suspended token, When it is suspended again, Then it is refused with action_unavailable", func() {
				_, err := w.T.Suspend(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
				w.ExpectRefusal(err, server.CodeActionUnavailable)
				_, err = w.T.Suspend(w.Ctx, harness.Admin, dev.Serial())
				w.ExpectRefusal(err, server.CodeActionUnavailable)
			})

			It("Given a token suspended for 60 days, Then it is revoked automatically, with reminders 30, 15 and 3 days before", w.Needs(harness.Clock, harness.Inspect, harness.Verify), func() {
				t0 := w.Now()
				w.Advance(59 * day)
				Expect(w.Status(dev).Status).To(Equal(server.StatusSuspended))
				kinds, days := revocationMail(t0)
				Expect(kinds).To(Equal([]string{"revocation_reminder", "revocation_reminder", "revocation_reminder"}))
				Expect(days).To(Equal([]time.Duration{30, 45, 57}))

				// The guide revokes "after 60 days": at 60 days it is still suspended.
				w.Advance(day)
				Expect(w.Status(dev).Status).To(Equal(server.StatusSuspended))
				w.Advance(time.Second)
				v := w.Status(dev)
				Expect(v.Status).To(Equal(server.StatusRevoked))
				Expect(v.RevokedAt).To(BeTemporally(">", t0.Add(60*day)))
				Expect(v.RevokedAt).To(BeTemporally("<=", t0.Add(60*day+time.Second)))
				kinds, days = revocationMail(t0)
				Expect(kinds).To(Equal([]string{"revocation_reminder", "revocation_reminder", "revocation_reminder", "revocation_notice"}))
				Expect(days).To(Equal([]time.Duration{30, 45, 57, 60}))
				_, err := w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeTokenRevoked)
			})

			It("Given a suspended token, When the user re-enables it before the 60 days are out, Then it is not revoked", w.Needs(harness.Clock, harness.Inspect, harness.Verify), func() {
				w.Advance(50 * day)
				_, err := w.T.Enable(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				w.Advance(20 * day)
				Expect(w.Status(dev).Status).To(Equal(server.StatusActive))
				Expect(slices.Contains(w.Outbox(user), "revocation_notice")).To(BeFalse())
				_, err = w.Login(user, dev)
				Expect(err).NotTo(HaveOccurred())
			})
		})

		It("Given a token pending activation, When the sponsored user suspends it, Then it is refused with action_unavailable", w.Needs(harness.Activate, harness.Inspect), func() {
			pending, d := w.NewUser(), w.NewDevice()
			w.Sponsor(pending, d)
			_, err := w.T.Suspend(w.Ctx, server.AsUser(pending), d.Serial())
			w.ExpectRefusal(err, server.CodeActionUnavailable)
			Expect(w.Status(d).Status).To(Equal(server.StatusPendingActivation))
		})
	})
})
