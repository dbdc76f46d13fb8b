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
	// Every spec here moves the clock a year or more.
	Describe("Expiry", Label("expiry"), w.Needs(harness.Provision, harness.Verify, harness.Expiry, harness.Clock, harness.Inspect), func() {
		const (
			day  = 24 * time.Hour
			year = 365 * day
		)

		var (
			user    string
			dev     *harness.Device
			expires time.Time // a year from the sponsorship, the purchase
		)
		BeforeEach(func() {
			purchased := w.Now()
			user, dev = w.ActiveUser() // sponsored now, then activated
			v := w.Status(dev)
			Expect(v.ExpiresAt).NotTo(BeNil())
			Expect(*v.ExpiresAt).To(BeTemporally("==", purchased.Add(year)))
			expires = *v.ExpiresAt
		})

		// advanceTo moves the clock to t.
		advanceTo := func(t time.Time) {
			now := w.Now()
			Expect(t).To(BeTemporally(">=", now))
			w.Advance(t.Sub(now))
		}

		// mailSince is the user's notifications of the given kinds, with the
		// days since t0 each was sent.
		mailSince := func(t0 time.Time, kinds ...string) (got []string, days []time.Duration) {
			ns, err := w.T.Notifications(w.Ctx, user)
			Expect(err).NotTo(HaveOccurred())
			for _, n := range ns {
				if slices.Contains(kinds, string(n.Kind)) {
					got = append(got, string(n.Kind))
					days = append(days, n.CreatedAt.Sub(t0)/day)
				}
			}
			return got, days
		}

		It("Given a token a year from its purchase, When it is 30 days before the expiry, Then the user gets a renewal reminder, And the token still logs in", func() {
			advanceTo(expires.Add(-30*day - time.Second))
			Expect(w.Outbox(user)).NotTo(ContainElement("expiry_reminder"))
			advanceTo(expires.Add(-30 * day))
			Expect(w.Outbox(user)).To(Equal([]string{"sponsorship", "activation", "expiry_reminder"}))
			Expect(w.Status(dev).Status).To(Equal(server.StatusActive))
			_, err := w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("Given a token past its expiry date, When the user logs in with its code, Then the login is refused with token_expired, And the token is Expired", w.Needs(harness.Resync), func() {
			advanceTo(expires)
			v := w.Status(dev)
			Expect(v.Status).To(Equal(server.StatusExpired))
			Expect(v.SubStatus).To(Equal("expired"))
			Expect(w.Outbox(user)).To(HaveExactElements("sponsorship", "activation", "expiry_reminder", "expired"))
			_, err := w.Login(user, dev)
			w.ExpectRefusal(err, server.CodeTokenExpired)
			c1, c2 := dev.TwoConsecutiveCodes()
			_, err = w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), c1, c2)
			w.ExpectRefusal(err, server.CodeTokenExpired)
		})

		It("Given an expired token, When the user renews it, Then the expiry moves one year past the previous expiry date, And the token is Active and logs in again", func() {
			advanceTo(expires.Add(10 * day))
			Expect(w.Status(dev).Status).To(Equal(server.StatusExpired))
			v, err := w.T.Renew(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Status).To(Equal(server.StatusActive))
			Expect(v.ExpiresAt).NotTo(BeNil())
			Expect(*v.ExpiresAt).To(BeTemporally("==", expires.Add(year)), "a year past the previous expiry, not past the renewal")
			_, err = w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("Given an active token near its expiry, When the user renews it early, Then the expiry moves one year past the previous expiry date", func() {
			advanceTo(expires.Add(-20 * day))
			v, err := w.T.Renew(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Status).To(Equal(server.StatusActive))
			Expect(*v.ExpiresAt).To(BeTemporally("==", expires.Add(year)))
			advanceTo(expires.Add(day))
			Expect(w.Status(dev).Status).To(Equal(server.StatusActive))
			_, err = w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("Given a token expired for a year, Then it is revoked automatically, with reminders 30, 15 and 3 days before", func() {
			advanceTo(expires.Add(year - 4*day))
			Expect(w.Status(dev).Status).To(Equal(server.StatusExpired))
			kinds, days := mailSince(expires, "revocation_reminder", "revocation_notice")
			Expect(kinds).To(Equal([]string{"revocation_reminder", "revocation_reminder"}))
			Expect(days).To(Equal([]time.Duration{335, 350}))

			// "After a year": at the year itself it is still expired.
			advanceTo(expires.Add(year))
			Expect(w.Status(dev).Status).To(Equal(server.StatusExpired))
			advanceTo(expires.Add(year + time.Second))
			v := w.Status(dev)
			Expect(v.Status).To(Equal(server.StatusRevoked))
			Expect(v.RevokedAt).To(BeTemporally(">", expires.Add(year)))
			Expect(v.RevokedAt).To(BeTemporally("<=", expires.Add(year+time.Second)))
			kinds, days = mailSince(expires, "revocation_reminder", "revocation_notice")
			Expect(kinds).To(Equal([]string{"revocation_reminder", "revocation_reminder", "revocation_reminder", "revocation_notice"}))
			Expect(days).To(Equal([]time.Duration{335, 350, 362, 365}))
			_, err := w.Login(user, dev)
			w.ExpectRefusal(err, server.CodeTokenRevoked)
			_, err = w.T.Renew(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			w.ExpectRefusal(err, server.CodeTokenRevoked)
		})
	})
})
