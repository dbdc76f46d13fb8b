package scenarios

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	// The accounts are the portal's (Account tells whether one is proofed).
	Describe("Identity proofing", Label("proofing"), w.Needs(harness.Proofing, harness.Portal), func() {
		const (
			day  = 24 * time.Hour
			home = "+17035550100"
		)

		var user string
		BeforeEach(func() { user = w.NewUser() })

		record := func(u, outcome string) server.ProofingView {
			GinkgoHelper()
			v, err := w.T.RecordProofing(w.Ctx, harness.Admin, u, outcome)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Outcome).To(Equal(outcome))
			return v
		}
		proofed := func(u string) bool {
			GinkgoHelper()
			v, err := w.T.Proofing(w.Ctx, u)
			Expect(err).NotTo(HaveOccurred())
			a, err := w.T.Account(w.Ctx, u)
			Expect(err).NotTo(HaveOccurred())
			Expect(a.Proofed).To(Equal(v.Proofed), "the account and its proofing disagree")
			return v.Proofed
		}
		// levelThreeToken is a device bought at level 3 and bound to the
		// user by its licence key, pending activation.
		levelThreeToken := func(u string) *harness.Device {
			GinkgoHelper()
			d := w.NewDevice()
			key, err := w.T.CreateLicenceKey(w.Ctx, harness.Admin, d.Serial(), server.LevelProofed)
			Expect(err).NotTo(HaveOccurred())
			Expect(w.T.RedeemLicenceKey(w.Ctx, u, key)).To(Succeed())
			return d
		}

		Describe("Recording the outcome", func() {
			It("Given a user, When they record their own proofing outcome, Then it is refused with forbidden: only an administrator records one; And an outcome without an actor, or one the guide does not have, is refused with bad_request", w.Needs(harness.Inspect), func() {
				_, err := w.T.RecordProofing(w.Ctx, server.AsUser(user), user, server.ProofingPassed)
				w.ExpectRefusal(err, server.CodeForbidden)
				_, err = w.T.RecordProofing(w.Ctx, server.Actor{}, user, server.ProofingPassed)
				expectBadRequestSaying(w, err, "")
				_, err = w.T.RecordProofing(w.Ctx, harness.Admin, user, "maybe")
				expectBadRequestSaying(w, err, "")
				v, err := w.T.Proofing(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Proofed).To(BeFalse())
				Expect(v.Outcome).To(BeEmpty(), "a refused outcome is not recorded")
			})

			It("Given the bureau's questions answered, When the administrator records passed, Then the user is proofed, And recording another outcome is refused with conflict", func() {
				v := record(user, server.ProofingPassed)
				Expect(v.Proofed).To(BeTrue())
				Expect(v.CodePending).To(BeFalse())
				Expect(proofed(user)).To(BeTrue())
				_, err := w.T.RecordProofing(w.Ctx, harness.Admin, user, server.ProofingPostal)
				w.ExpectRefusal(err, server.CodeConflict)
				Expect(proofed(user)).To(BeTrue())
			})
		})

		Describe("The activation code", w.Needs(harness.Inspect), func() {
			It("Given a postal outcome, When the user enters the activation code from the letter in lower case, Then they are proofed; But a wrong code is refused with proofing_code_incorrect, one that is not 10 letters and digits with bad_request, And the code serves once", func() {
				_, err := w.T.EnterProofingCode(w.Ctx, user, "ABCDEFGHJK")
				w.ExpectRefusal(err, server.CodeProofingCodeInvalid) // none pending yet

				v := record(user, server.ProofingPostal)
				Expect(v.Proofed).To(BeFalse())
				Expect(v.CodePending).To(BeTrue())
				Expect(w.Outbox(user)).To(Equal([]string{string(server.NotificationProofingCodePostal)}))
				code := proofingCodeIn(w, user, server.NotificationProofingCodePostal)

				// O and 0 are not in the codes' alphabet: never the code.
				_, err = w.T.EnterProofingCode(w.Ctx, user, "WRONGCODE0")
				w.ExpectRefusal(err, server.CodeProofingCodeInvalid)
				_, err = w.T.EnterProofingCode(w.Ctx, user, "short")
				expectBadRequestSaying(w, err, "a proofing activation code that is not 10 letters and digits")
				Expect(proofed(user)).To(BeFalse())

				v, err = w.T.EnterProofingCode(w.Ctx, user, strings.ToLower(code))
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Proofed).To(BeTrue())
				Expect(v.CodePending).To(BeFalse())
				Expect(proofed(user)).To(BeTrue())
				_, err = w.T.EnterProofingCode(w.Ctx, user, code)
				w.ExpectRefusal(err, server.CodeProofingCodeInvalid)
			})

			It("Given live video proofing passed, When the user enters the code the agent gave, Then they are proofed", func() {
				record(user, server.ProofingLive)
				Expect(w.Outbox(user)).To(Equal([]string{string(server.NotificationProofingCodeLive)}))
				v, err := w.T.EnterProofingCode(w.Ctx, user, proofingCodeIn(w, user, server.NotificationProofingCodeLive))
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Proofed).To(BeTrue())
				Expect(proofed(user)).To(BeTrue())
			})

			It("Given a postal outcome, When the administrator then records failed, Then the user is not proofed, And the code from the letter is refused with proofing_code_incorrect", func() {
				record(user, server.ProofingPostal)
				code := proofingCodeIn(w, user, server.NotificationProofingCodePostal)
				v := record(user, server.ProofingFailed)
				Expect(v.Proofed).To(BeFalse())
				Expect(v.CodePending).To(BeFalse())
				_, err := w.T.EnterProofingCode(w.Ctx, user, code)
				w.ExpectRefusal(err, server.CodeProofingCodeInvalid)
				Expect(proofed(user)).To(BeFalse())
			})
		})

		It("Given a token bought at level 3, When an unproofed user activates it, Then it is refused with action_unavailable; When the administrator records proofing passed, Then it activates at level 3", w.Needs(harness.Activate), func() {
			d := levelThreeToken(user)
			_, err := w.Activate(user, d)
			w.ExpectRefusal(err, server.CodeActionUnavailable)
			record(user, server.ProofingPassed)
			v, err := w.Activate(user, d)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Status).To(Equal(server.StatusActive))
			Expect(v.Level).To(Equal(server.LevelProofed))
		})

		It("Given a proofed user whose phone logs in, Then the phone OTP session is level 3, And it opens a level 3 application", w.Needs(harness.Phone, harness.Inspect), func() {
			app := "app-phone-l3-" + user
			Expect(w.T.CreateApplication(w.Ctx, harness.Admin, server.Application{ID: app, Name: "Level 3 app",
				MinStrength: server.Strength{Credential: server.CredentialPhoneOTP, Level: server.LevelProofed}})).To(Succeed())
			addVerifiedPhone(w, user, home, "")
			before := phoneLogin(w, user, w.PasswordOf(user), home)
			Expect(before.Strength.Level).To(Equal(server.LevelUnproofed))
			w.ExpectRefusal(w.T.Access(w.Ctx, before.ID, app), server.CodeStrengthTooLow)
			record(user, server.ProofingPassed)
			ss := phoneLogin(w, user, w.PasswordOf(user), home)
			Expect(ss.Strength).To(Equal(server.Strength{Credential: server.CredentialPhoneOTP, Level: server.LevelProofed}))
			Expect(w.T.Access(w.Ctx, ss.ID, app)).To(Succeed())
		})

		Describe("Losing the only credential", func() {
			It("Given a proofed user with a token and no phone, When the token is revoked, Then proofing is cleared, And a level 3 token is refused with action_unavailable until the user is proofed again", w.Needs(harness.Provision, harness.Revoke, harness.Activate), func() {
				holder, dev := w.ActiveUser()
				record(holder, server.ProofingPassed)
				_, err := w.T.Revoke(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				Expect(proofed(holder)).To(BeFalse())
				d := levelThreeToken(holder)
				_, err = w.Activate(holder, d)
				w.ExpectRefusal(err, server.CodeActionUnavailable)
				record(holder, server.ProofingPassed)
				v, err := w.Activate(holder, d)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Level).To(Equal(server.LevelProofed))
			})

			It("Given a proofed user with a token and a verified phone, When the token is revoked, Then they stay proofed; When they log in by phone with the temporary password and remove the phone, their last credential, Then proofing is cleared", w.Needs(harness.Provision, harness.Revoke, harness.Phone, harness.Inspect), func() {
				holder, dev := w.ActiveUser()
				hw, err := w.T.Login(w.Ctx, holder, w.PasswordOf(holder), dev.Press())
				Expect(err).NotTo(HaveOccurred())
				addVerifiedPhone(w, holder, home, hw.ID)
				record(holder, server.ProofingPassed)
				_, err = w.T.Revoke(w.Ctx, harness.Admin, dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				Expect(proofed(holder)).To(BeTrue(), "the phone is still a credential")

				// The revocation reset the password; the notification ends
				// with the temporary one.
				ns, err := w.T.Notifications(w.Ctx, holder)
				Expect(err).NotTo(HaveOccurred())
				Expect(ns).NotTo(BeEmpty())
				last := ns[len(ns)-1]
				Expect(last.Kind).To(Equal(server.NotificationTemporaryPassword))
				temporary := last.Body[strings.LastIndex(last.Body, " ")+1:]
				ss := phoneLogin(w, holder, temporary, home)
				Expect(w.T.RemovePhone(w.Ctx, holder, home, ss.ID)).To(Succeed())
				Expect(proofed(holder)).To(BeFalse())
			})

			It("Given a proofed user with a phone and no token, When the phone subscription expires, Then they stay proofed; When it lapses, Then proofing is cleared", w.Needs(harness.Phone, harness.Clock, harness.Inspect), func() {
				addVerifiedPhone(w, user, home, "")
				record(user, server.ProofingPassed)
				pv, err := w.T.Phones(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				sub := pv.Subscription
				Expect(sub).NotTo(BeNil())
				moveClockTo(w, sub.ExpiresAt)
				Expect(proofed(user)).To(BeTrue(), "an expired subscription may still be renewed")
				moveClockTo(w, sub.RenewBy.Add(time.Nanosecond))
				Expect(countOf(w, user, server.NotificationPhoneLapsed)).To(Equal(1))
				Expect(proofed(user)).To(BeFalse())
			})

			It("Given a proofed user with a token and no phone, When the sweep revokes the token suspended for 61 days, Then proofing is cleared", w.Needs(harness.Provision, harness.Suspend, harness.Clock, harness.Inspect), func() {
				holder, dev := w.ActiveUser()
				record(holder, server.ProofingPassed)
				_, err := w.T.Suspend(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				w.Advance(59 * day)
				Expect(w.Status(dev).Status).To(Equal(server.StatusSuspended))
				Expect(proofed(holder)).To(BeTrue())
				w.Advance(2 * day)
				Expect(w.Status(dev).Status).To(Equal(server.StatusRevoked))
				Expect(proofed(holder)).To(BeFalse())
			})
		})
	})
})
