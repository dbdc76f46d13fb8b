package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

type driftCase struct {
	Name              string  `json:"name"`
	PPM               float64 `json:"ppm"`
	DaysBetweenLogins int     `json:"days_between_logins"`
	Logins            int     `json:"logins"`
	Outcome           string  `json:"outcome"`
}

func (c driftCase) name() string { return c.Name }

var _ = flow(func(w *harness.World) {
	// The table moves the clock years on, renewing the token as it nears
	// its expiry: this table is about the clock, not expiry.
	Describe("Drift", Label("drift"), w.Needs(harness.Provision, harness.Verify, harness.Clock, harness.Inspect, harness.Expiry), func() {
		DescribeTable("Given a token whose clock drifts, When it is used now and then, Then the learned drift follows it (fixtures/scenarios/drift.json)", func(c driftCase) {
			user, dev := w.ActiveUser()
			d := dev.Spec().Drift
			d.PPM, d.Start = c.PPM, w.Now()
			Expect(dev.SetDrift(d)).To(Succeed())
			for i := range c.Logins {
				w.Advance(time.Duration(c.DaysBetweenLogins) * 24 * time.Hour)
				if st := w.Status(dev); st.Status == server.StatusExpired || (st.ExpiresAt != nil && st.ExpiresAt.Before(w.Now().Add(60*24*time.Hour))) {
					_, err := w.T.Renew(w.Ctx, harness.Admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
				}
				_, err := w.Login(user, dev)
				if c.Outcome == "ok" {
					Expect(err).NotTo(HaveOccurred(), "login %d of %d", i+1, c.Logins)
					continue
				}
				if c.Outcome == string(server.CodeOTPInvalid) {
					w.ExpectOutsideWindow(err)
				} else {
					w.ExpectRefusal(err, server.Code(c.Outcome))
				}
			}
			if c.Outcome == "ok" {
				ahead := dev.TokenTime(w.Now()).Sub(w.Now())
				Expect(w.Status(dev).DriftSteps).To(BeNumerically("~", int64(ahead/(30*time.Second)), 1))
			}
		}, entries(rows[driftCase]("drift.json")))
	})
})
