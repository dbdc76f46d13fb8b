package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	Describe("Revocation", Label("revocation"), w.Needs(harness.Provision, harness.Revoke, harness.Portal), func() {
		var (
			user    string
			dev     *harness.Device
			session server.Session
		)

		// Every spec here starts from a user logged in with their token.
		BeforeEach(func() {
			user, dev = w.ActiveUser()
			var err error
			session, err = w.T.Login(w.Ctx, user, w.PasswordOf(user), dev.Press())
			Expect(err).NotTo(HaveOccurred())
			Expect(session.Strength.Credential).To(Equal(server.CredentialHardwareOTP))
			a, err := w.T.Account(w.Ctx, user)
			Expect(err).NotTo(HaveOccurred())
			Expect(a.RememberToken).To(BeTrue(), "a login with the token sets the remember-token flag")
			Expect(a.TemporaryPassword).To(BeFalse())
		})

		When("the user revokes their own token", func() {
			BeforeEach(func() {
				v, err := w.T.Revoke(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Status).To(Equal(server.StatusRevoked))
			})

			It("Given a user logged in with their token, When they revoke it, Then their session ends", func() {
				_, err := w.T.Elevate(w.Ctx, session.ID, dev.Press())
				w.ExpectRefusal(err, server.CodeSessionInvalid)
			})

			It("Given a user who revoked their token, When they log in with their old password, Then it is refused with credentials_invalid, And a temporary password was sent", w.Needs(harness.Inspect), func() {
				_, err := w.T.Login(w.Ctx, user, w.PasswordOf(user), "")
				w.ExpectRefusal(err, server.CodeCredentialsInvalid)
				a, err := w.T.Account(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(a.TemporaryPassword).To(BeTrue())
				out := w.Outbox(user)
				Expect(out).NotTo(BeEmpty())
				Expect(out[len(out)-1]).To(Equal("temporary_password"))
				Expect(out).NotTo(ContainElement("revocation_notice"), "only an administrator's revocation sends a notice")
			})

			It("Given a user who revoked their token, Then the remember-token flag is cleared", func() {
				a, err := w.T.Account(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(a.RememberToken).To(BeFalse())
			})

			It("Given a revoked token, When the user logs in with its code, Then the login is refused with token_revoked", w.Needs(harness.Verify), func() {
				_, err := w.Login(user, dev)
				w.ExpectRefusal(err, server.CodeTokenRevoked)
			})

			It("Given a revoked token, When anyone revokes, re-enables, renews or resynchronises it, Then it is refused with token_revoked: revocation is permanent", w.Needs(harness.Suspend, harness.Expiry, harness.Resync, harness.Inspect), func() {
				for _, by := range []server.Actor{w.Owner(dev.Serial()), harness.Admin} {
					_, err := w.T.Revoke(w.Ctx, by, dev.Serial())
					w.ExpectRefusal(err, server.CodeTokenRevoked)
					_, err = w.T.Enable(w.Ctx, by, dev.Serial())
					w.ExpectRefusal(err, server.CodeTokenRevoked)
					_, err = w.T.Renew(w.Ctx, by, dev.Serial())
					w.ExpectRefusal(err, server.CodeTokenRevoked)
					c1, c2 := dev.TwoConsecutiveCodes()
					_, err = w.T.Resync(w.Ctx, by, dev.Serial(), c1, c2)
					w.ExpectRefusal(err, server.CodeTokenRevoked)
				}
				Expect(w.Status(dev).Status).To(Equal(server.StatusRevoked))
			})
		})

		When("an administrator revokes the user's token", func() {
			BeforeEach(func() {
				_, err := w.T.Revoke(w.Ctx, harness.Admin, dev.Serial())
				Expect(err).NotTo(HaveOccurred())
			})

			It("Given a user logged in with their token, When an administrator revokes it, Then the user gets a revocation notice and a temporary password, And their session ends", w.Needs(harness.Inspect), func() {
				out := w.Outbox(user)
				Expect(len(out)).To(BeNumerically(">=", 2))
				Expect(out[len(out)-2:]).To(Equal([]string{"revocation_notice", "temporary_password"}))
				_, err := w.T.Elevate(w.Ctx, session.ID, dev.Press())
				w.ExpectRefusal(err, server.CodeSessionInvalid)
				_, err = w.T.Login(w.Ctx, user, w.PasswordOf(user), "")
				w.ExpectRefusal(err, server.CodeCredentialsInvalid)
				a, err := w.T.Account(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(a.RememberToken).To(BeFalse())
			})
		})

		DescribeTable("Given a token in a state the guide lists, When its user revokes it, Then it is Revoked", w.Needs(harness.Inspect, harness.Suspend),
			func(state string) {
				target, d := user, dev
				switch state {
				case "pending activation":
					target, d = w.NewUser(), w.NewDevice()
					w.Sponsor(target, d)
				case "active":
				case "locked":
					for range 5 {
						_, err := w.T.Verify(w.Ctx, target, w.WrongCode(d))
						w.ExpectRefusal(err, server.CodeOTPInvalid)
					}
					Expect(w.Status(d).SubStatus).To(Equal("locked"))
				case "suspended":
					_, err := w.T.Suspend(w.Ctx, w.Owner(d.Serial()), d.Serial())
					Expect(err).NotTo(HaveOccurred())
				case "expired":
					w.Advance(366 * 24 * time.Hour)
					Expect(w.Status(d).Status).To(Equal(server.StatusExpired))
				default:
					Fail("unknown state " + state)
				}
				v, err := w.T.Revoke(w.Ctx, server.AsUser(target), d.Serial())
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Status).To(Equal(server.StatusRevoked))
				Expect(v.RevokedAt).NotTo(BeZero())
				if state == "pending activation" {
					// Never activated: not the account's credential, the password stays.
					Expect(w.Outbox(target)).NotTo(ContainElement("temporary_password"))
				} else {
					Expect(w.Outbox(target)).To(ContainElement("temporary_password"))
				}
				_, err = w.T.Enable(w.Ctx, harness.Admin, d.Serial())
				w.ExpectRefusal(err, server.CodeTokenRevoked)
			},
			Entry("Pending Activation", append(w.Needs(harness.Activate), "pending activation")...),
			Entry("Active", "active"),
			Entry("Active (Locked)", append(w.Needs(harness.Verify, harness.Lockout), "locked")...),
			Entry("Suspended", "suspended"),
			Entry("Expired", append(w.Needs(harness.Clock, harness.Expiry), "expired")...),
		)
	})
})
