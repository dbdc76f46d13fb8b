package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

// The policy specs read the rules from the target's own policy instead of
// the defaults the other flows' tables hold, so that they hold on a server
// started with `tokenlab serve --policy FILE` (cmd/tokenlab runs them so).
var _ = flow(func(w *harness.World) {
	Describe("Policy", Label("policy"), w.Needs(harness.Provision, harness.Verify, harness.Inspect), func() {
		It("Given the server's policy, When the user enters lockout_threshold wrong codes in a row, Then each is refused and the token is locked after the last",
			w.Needs(harness.Reasons, harness.Lockout), func() {
				p, err := w.T.Policy(w.Ctx)
				Expect(err).NotTo(HaveOccurred())
				user, dev := w.ActiveUser()
				for i := 1; i <= p.LockoutThreshold; i++ {
					_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
					w.ExpectRefusal(err, server.CodeOTPInvalid)
					if i < p.LockoutThreshold {
						Expect(w.Status(dev).SubStatus).To(Equal("active"), "after %d of %d wrong codes", i, p.LockoutThreshold)
					}
				}
				Expect(w.Status(dev).SubStatus).To(Equal("locked"))
				_, err = w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeTokenLocked)
			})

		It("Given the server's policy, When a token's code is login_window steps off the server's time, Then it logs in, And one step further it does not",
			w.Needs(harness.Clock), func() {
				p, err := w.T.Policy(w.Ctx)
				Expect(err).NotTo(HaveOccurred())
				// A token activated and then left for login_window+1 steps has
				// no used step left in its window.
				settled := func() (string, *harness.Device) {
					user, dev := w.ActiveUser()
					w.Advance(time.Duration(p.LoginWindow+1) * dev.Spec().Period)
					return user, dev
				}
				for _, edge := range []int{-p.LoginWindow, p.LoginWindow} {
					user, dev := settled()
					_, err := w.T.Verify(w.Ctx, user, dev.PressAt(time.Duration(edge)*dev.Spec().Period))
					Expect(err).NotTo(HaveOccurred(), "a code %d steps off with login_window %d", edge, p.LoginWindow)
				}
				for _, beyond := range []int{-p.LoginWindow - 1, p.LoginWindow + 1} {
					user, dev := settled()
					_, err := w.T.Verify(w.Ctx, user, dev.PressAt(time.Duration(beyond)*dev.Spec().Period))
					w.ExpectOutsideWindow(err)
				}
			})
	})
})
