package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

type lockoutCase struct {
	Name       string `json:"name"`
	WrongCodes int    `json:"wrong_codes"`
	Then       string `json:"then"`
	FailCount  int    `json:"fail_count"`
	SubStatus  string `json:"sub_status"`
}

func (c lockoutCase) name() string { return c.Name }

var _ = flow(func(w *harness.World) {
	Describe("Lockout", Label("lockout"), w.Needs(harness.Provision, harness.Verify, harness.Lockout), func() {
		DescribeTable("Given an active token, When the user enters wrong codes, Then the fifth locks it (fixtures/scenarios/lockout.json)", w.Needs(harness.Inspect),
			func(c lockoutCase) {
				user, dev := w.ActiveUser()
				for i := 1; i <= c.WrongCodes; i++ {
					_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
					if i <= 5 {
						w.ExpectRefusal(err, server.CodeOTPInvalid)
					} else {
						w.ExpectRefusal(err, server.CodeTokenLocked)
					}
				}
				_, err := w.Login(user, dev)
				if c.Then == "ok" {
					Expect(err).NotTo(HaveOccurred())
				} else {
					w.ExpectRefusal(err, server.Code(c.Then))
				}
				st := w.Status(dev)
				Expect(st.FailCount).To(Equal(c.FailCount))
				Expect(st.SubStatus).To(Equal(c.SubStatus))
			}, entries(rows[lockoutCase]("lockout.json")))

		It("shows a locked token as Active (Locked) and keeps it locked after an administrator's reset", w.Needs(harness.Inspect, harness.Resync), func() {
			user, dev := w.ActiveUser()
			for range 5 {
				_, _ = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			}
			st := w.Status(dev)
			Expect(st.Status).To(Equal(server.StatusActive))
			Expect(st.StatusDisplay).To(Equal("Active (Locked)"))
			_, err := w.T.Reset(w.Ctx, harness.Admin, dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			_, err = w.Login(user, dev)
			w.ExpectRefusal(err, server.CodeTokenLocked)
		})

		// guessBetweenLogins sends wrong codes, four between each two
		// logins of the user, until n wrong codes are sent; the logins
		// succeed and clear the consecutive count.
		guessBetweenLogins := func(user string, dev *harness.Device, n int) {
			GinkgoHelper()
			for sent := 0; sent < n; {
				for i := 0; i < 4 && sent < n; i++ {
					_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
					w.ExpectRefusal(err, server.CodeOTPInvalid)
					sent++
				}
				if sent == n {
					return
				}
				_, err := w.Login(user, dev)
				Expect(err).NotTo(HaveOccurred())
				Expect(w.Status(dev).FailCount).To(BeZero())
				w.WaitForNextCode()
			}
		}

		It("Given an active token, When someone guesses four codes between each two logins of the user, Then the budget's last wrong code in a day locks it, And only a resync unlocks it", w.Needs(harness.Clock, harness.Inspect, harness.Resync), func() {
			p, err := w.T.Policy(w.Ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(p.LockoutBudgetWindow).To(Equal(24 * time.Hour))
			user, dev := w.ActiveUser()
			guessBetweenLogins(user, dev, p.LockoutBudget)
			_, err = w.Login(user, dev)
			w.ExpectRefusal(err, server.CodeTokenLocked)
			Expect(w.Status(dev).SubStatus).To(Equal("locked"))
			Expect(w.Status(dev).StatusDisplay).To(Equal("Active (Locked)"))

			w.WaitForNextCode()
			c1, c2 := dev.TwoConsecutiveCodes()
			v, err := w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), c1, c2)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.SubStatus).To(Equal("active"))
			// A resync gives the whole budget back.
			w.WaitForNextCode()
			guessBetweenLogins(user, dev, p.LockoutBudget-1)
			w.WaitForNextCode()
			_, err = w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("Given a token one wrong code short of the budget, When a day has passed since the first of them, Then the user may get a code wrong again", w.Needs(harness.Clock, harness.Inspect), func() {
			p, err := w.T.Policy(w.Ctx)
			Expect(err).NotTo(HaveOccurred())
			user, dev := w.ActiveUser()
			guessBetweenLogins(user, dev, p.LockoutBudget-1)
			w.Advance(p.LockoutBudgetWindow)
			_, err = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			w.ExpectRefusal(err, server.CodeOTPInvalid)
			_, err = w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("counts only consecutive failures: a success clears the counter", w.Needs(harness.Inspect), func() {
			user, dev := w.ActiveUser()
			for range 4 {
				_, _ = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			}
			_, err := w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
			_, err = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			w.ExpectRefusal(err, server.CodeOTPInvalid)
			Expect(w.Status(dev).FailCount).To(Equal(1))
		})
	})
})
