package scenarios

import (
	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

// The emulator's faults (a frozen clock, a battery reset, a wrong secret, a
// dead button) as the portal's user meets them: what the login says, and
// what the guide has them or the administrator do next.
var _ = flow(func(w *harness.World) {
	Describe("A faulty token", Label("faults"), w.Needs(harness.Provision, harness.Verify, harness.Inspect), func() {
		It("Given a token whose clock has stopped, When the user logs in with its code, Then it logs in once; And a step later the same code is refused with otp_replayed, not counted; And once the server's time has left the login window it is refused with otp_invalid, counted as a wrong code, and a resync cannot help: its two codes are one",
			w.Needs(harness.Clock, harness.Resync), func() {
				user, dev := w.ActiveUser()
				Expect(dev.Freeze()).To(Succeed())
				code := dev.Press()
				_, err := w.T.Verify(w.Ctx, user, code)
				Expect(err).NotTo(HaveOccurred())

				w.WaitForNextCode()
				Expect(dev.Press()).To(Equal(code), "a frozen token shows the code of the moment it stopped")
				_, err = w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeOTPReplayed)
				Expect(w.Status(dev).FailCount).To(BeZero(), "a replayed code is not a wrong one")

				// Two steps after its use, the code is behind the login
				// window (±1 step) and, used, it is no next-code challenge
				// either.
				w.WaitForNextCode()
				_, err = w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeOTPInvalid)
				Expect(w.Status(dev).FailCount).To(Equal(1))

				c1, c2 := dev.TwoConsecutiveCodes()
				Expect(c1).To(Equal(c2))
				_, err = w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), c1, c2)
				w.ExpectRefusal(err, server.CodeOTPIncorrect)
			})

		It("Given a token whose battery was swapped, so that its clock counts again from 1970, When the user logs in, Then it is refused with otp_invalid; And resynchronising fails with otp_incorrect until it is blocked (activation_blocked); And the administrator's reset unblocks it, but cannot bring its clock back: so, as the guide says of a damaged token, the user revokes it and activates a replacement that logs in",
			w.Needs(harness.Resync, harness.Revoke, harness.Activate), func() {
				user, dev := w.ActiveUser()
				Expect(dev.ResetClock()).To(Succeed())
				Expect(dev.Token.TokenTime(w.Now()).Year()).To(Equal(1970))
				_, err := w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeOTPInvalid)
				Expect(w.Status(dev).FailCount).To(Equal(1))

				// Press, wait 30 s, press again: the codes of now and of the
				// next step, both on the reset clock.
				p := dev.Spec().Period
				resync := func() error {
					GinkgoHelper()
					_, err := w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), dev.PressAt(0), dev.PressAt(p))
					return err
				}
				pol, err := w.T.Policy(w.Ctx)
				Expect(err).NotTo(HaveOccurred())
				for range pol.ResyncAttempts {
					w.ExpectRefusal(resync(), server.CodeOTPIncorrect)
				}
				Expect(w.Status(dev).Blocked).To(BeTrue())
				w.ExpectRefusal(resync(), server.CodeActivationBlocked)

				// "Exostar needs to reset your OTP Hardware Token. Contact
				// Customer Support."
				v, err := w.T.Reset(w.Ctx, harness.Admin, dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Blocked).To(BeFalse())
				w.ExpectRefusal(resync(), server.CodeOTPIncorrect)
				Expect(w.Status(dev).Status).To(Equal(server.StatusActive))

				_, err = w.T.Revoke(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				replacement := w.NewDevice()
				w.Sponsor(user, replacement)
				// The codes of the two steps before now, so that the code
				// shown now is unused and logs in.
				_, err = w.T.Activate(w.Ctx, user, replacement.Serial(), replacement.PressAt(-2*p), replacement.PressAt(-p))
				Expect(err).NotTo(HaveOccurred())
				got, err := w.Login(user, replacement)
				Expect(err).NotTo(HaveOccurred())
				Expect(got.Serial).To(Equal(replacement.Serial()))
			})

		It("Given a token with a corrupted secret, When the user logs in with the codes it shows, Then each is refused with otp_invalid until the token locks, And the next one is refused with token_locked; And a resync with its codes fails with otp_incorrect, leaving it locked",
			w.Needs(harness.Lockout, harness.Resync), func() {
				user, dev := w.ActiveUser()
				Expect(dev.SetFaults(emulator.Faults{WrongSecret: true})).To(Succeed())
				pol, err := w.T.Policy(w.Ctx)
				Expect(err).NotTo(HaveOccurred())
				for i := 1; i <= pol.LockoutThreshold; i++ {
					_, err := w.Login(user, dev)
					w.ExpectRefusal(err, server.CodeOTPInvalid)
					Expect(w.Status(dev).FailCount).To(Equal(i))
				}
				Expect(w.Status(dev).SubStatus).To(Equal("locked"))
				_, err = w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeTokenLocked)

				p := dev.Spec().Period
				_, err = w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), dev.PressAt(0), dev.PressAt(p))
				w.ExpectRefusal(err, server.CodeOTPIncorrect)
				Expect(w.Status(dev).SubStatus).To(Equal("locked"))
			})

		It("Given a token whose button is dead, When the user presses it, Then it shows no code (emulator.ErrButtonDead), And nothing reaches the server: no audit entry, no wrong code counted",
			func() {
				user, dev := w.ActiveUser()
				audit := func() []server.AuditEntry {
					GinkgoHelper()
					es, err := w.T.Audit(w.Ctx, user, 1000)
					Expect(err).NotTo(HaveOccurred())
					return es
				}
				// A login while the button still worked: the audit log
				// records each code that reaches the server, so it would
				// show one sent with the button dead.
				before := audit()
				_, err := w.Login(user, dev)
				Expect(err).NotTo(HaveOccurred())
				healthy := audit()
				Expect(len(healthy)).To(Equal(len(before)+1), "the login's entry")

				Expect(dev.SetFaults(emulator.Faults{DeadButton: true})).To(Succeed())
				_, err = dev.Token.Press()
				Expect(err).To(MatchError(emulator.ErrButtonDead))
				_, err = dev.Token.PressConsecutive(w.Now())
				Expect(err).To(MatchError(emulator.ErrButtonDead), "nor two codes to resynchronise with")

				Expect(audit()).To(Equal(healthy))
				v := w.Status(dev)
				Expect(v.FailCount).To(BeZero())
				Expect(v.SubStatus).To(Equal("active"))
			})
	})
})
