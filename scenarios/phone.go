package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	// Codes reach the user through the outbox (the simulated text or
	// call), so every spec reads it: Inspect. The accounts are the
	// portal's, and so are the password logins and the applications.
	Describe("Phone OTP", Label("phone"), w.Needs(harness.Phone, harness.Portal, harness.Inspect), func() {
		const (
			day  = 24 * time.Hour
			year = 365 * day
			// The numbers, in E.164 form as the guide asks. Two accounts
			// may register the same number (one person's), and the send
			// limit is an account's, so specs on a shared target do not
			// disturb each other with them.
			home   = "+17035550100"
			mobile = "+447700900123"
			office = "+17035550101"
			spare  = "+17035550199"
		)

		var (
			user   string
			policy server.Policy
		)
		BeforeEach(func() {
			user = w.NewUser()
			var err error
			policy, err = w.T.Policy(w.Ctx)
			Expect(err).NotTo(HaveOccurred())
		})

		passwordLogin := func(u string) server.Session {
			GinkgoHelper()
			ss, err := w.T.Login(w.Ctx, u, w.PasswordOf(u), "")
			Expect(err).NotTo(HaveOccurred())
			Expect(ss.Strength.Credential).To(Equal(server.CredentialPassword))
			return ss
		}
		sendCode := func(u, number string) string {
			GinkgoHelper()
			_, err := w.T.SendPhoneCode(w.Ctx, u, number)
			Expect(err).NotTo(HaveOccurred())
			return phoneCodeTo(w, u, number)
		}
		loginWith := func(number, code string) (server.Session, error) {
			return w.T.LoginWithPhone(w.Ctx, user, w.PasswordOf(user), number, code)
		}
		subscription := func(u string) server.SubscriptionView {
			GinkgoHelper()
			pv, err := w.T.Phones(w.Ctx, u)
			Expect(err).NotTo(HaveOccurred())
			Expect(pv.Subscription).NotTo(BeNil(), "%s has no phone OTP subscription", u)
			return *pv.Subscription
		}

		Describe("Registering a phone", func() {
			It("Given a user, When they register a phone by text and another by voice, Then neither is verified yet, And each number is sent a code by its method", func() {
				for _, c := range []struct {
					number, method string
					kind           server.NotificationKind
				}{{home, server.PhoneText, server.NotificationPhoneCodeText}, {mobile, server.PhoneVoice, server.NotificationPhoneCodeVoice}} {
					v, err := w.T.AddPhone(w.Ctx, user, c.number, c.method, "")
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Number).To(Equal(c.number))
					Expect(v.Method).To(Equal(c.method))
					Expect(v.Verified).To(BeFalse())
					Expect(v.VerifiedAt).To(BeNil())
					ns, err := w.T.Notifications(w.Ctx, user)
					Expect(err).NotTo(HaveOccurred())
					Expect(ns).NotTo(BeEmpty())
					last := ns[len(ns)-1]
					Expect(last.Kind).To(Equal(c.kind))
					Expect(last.Recipient).To(Equal(c.number), "the simulated text or call goes to the number")
					Expect(last.Body).To(MatchRegexp(`One-Time Password is \d{6}\. It expires in 2 minutes\.$`))
				}
				pv, err := w.T.Phones(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(pv.Phones).To(HaveLen(2))
				Expect(pv.Subscription).To(BeNil(), "the subscription starts with the first verified phone")
			})

			It("Given a number with spaces, dashes, parentheses or no country code, When the user registers it, Then it is refused with bad_request saying to enter it in international form, And a method other than text or voice is a plain bad_request", func() {
				for _, bad := range []string{"7035550100", "+1 703 555 0100", "+1-703-555-0100", "+1(703)5550100", "+0123456789"} {
					_, err := w.T.AddPhone(w.Ctx, user, bad, server.PhoneText, "")
					expectBadRequestSaying(w, err, "a phone number not in E.164 form")
				}
				// The method is the portal's to get right, not the user's.
				_, err := w.T.AddPhone(w.Ctx, user, home, "sms", "")
				expectBadRequestSaying(w, err, "")
				pv, err := w.T.Phones(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(pv.Phones).To(BeEmpty())
				Expect(w.Outbox(user)).To(BeEmpty(), "a refused registration sends nothing")
			})

			It("Given three registered phones, When the user registers a fourth, Then it is refused with phone_limit, And a number registered twice is refused with conflict", func() {
				Expect(policy.MaxPhones).To(Equal(3), "the guide: up to three phone numbers")
				for _, n := range []string{home, mobile, office} {
					_, err := w.T.AddPhone(w.Ctx, user, n, server.PhoneText, "")
					Expect(err).NotTo(HaveOccurred())
				}
				_, err := w.T.AddPhone(w.Ctx, user, spare, server.PhoneText, "")
				w.ExpectRefusal(err, server.CodePhoneLimit)
				_, err = w.T.AddPhone(w.Ctx, user, home, server.PhoneVoice, "")
				w.ExpectRefusal(err, server.CodeConflict)
				pv, err := w.T.Phones(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(pv.Phones).To(HaveLen(3))
			})

			It("Given a phone not verified yet, When the user asks for a code, Then it is sent its verification code again, And logging in with it is refused with phone_unverified, But the code verifies the phone", func() {
				_, err := w.T.AddPhone(w.Ctx, user, home, server.PhoneVoice, "")
				Expect(err).NotTo(HaveOccurred())
				sent, err := w.T.SendPhoneCode(w.Ctx, user, home)
				Expect(err).NotTo(HaveOccurred())
				Expect(sent.Purpose).To(Equal("verify"))
				Expect(sent.Method).To(Equal(server.PhoneVoice))
				code := phoneCodeTo(w, user, home)
				_, err = loginWith(home, code)
				w.ExpectRefusal(err, server.CodePhoneUnverified)
				v, err := w.T.VerifyPhone(w.Ctx, user, home, code)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Verified).To(BeTrue())
			})

			It("Given a registered phone, When the user enters a wrong code, Then it is refused with phone_code_incorrect; When they enter the code they received, Then the phone is verified and a year's subscription starts, And verifying it again is refused with conflict", func() {
				Expect(policy.PhoneValidity).To(Equal(year), "the guide: valid for one year")
				_, err := w.T.AddPhone(w.Ctx, user, home, server.PhoneText, "")
				Expect(err).NotTo(HaveOccurred())
				code := phoneCodeTo(w, user, home)
				_, err = w.T.VerifyPhone(w.Ctx, user, home, otherPhoneCode(code))
				w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
				v, err := w.T.VerifyPhone(w.Ctx, user, home, code)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Verified).To(BeTrue())
				Expect(v.VerifiedAt).NotTo(BeNil())
				sub := subscription(user)
				Expect(sub.Status).To(Equal(server.SubscriptionActive))
				Expect(sub.StartedAt).To(BeTemporally("==", *v.VerifiedAt))
				Expect(sub.ExpiresAt).To(BeTemporally("==", v.VerifiedAt.Add(year)))
				_, err = w.T.VerifyPhone(w.Ctx, user, home, code)
				w.ExpectRefusal(err, server.CodeConflict)
			})
		})

		Describe("Logging in with a phone code", func() {
			BeforeEach(func() { addVerifiedPhone(w, user, home, "") })

			It("Given a verified phone, When the user sends a login code and enters it with the password, Then a phone OTP session at level 2 opens, And the same code again is refused with phone_code_incorrect", func() {
				sent, err := w.T.SendPhoneCode(w.Ctx, user, home)
				Expect(err).NotTo(HaveOccurred())
				Expect(sent.Purpose).To(Equal("login"))
				code := phoneCodeTo(w, user, home)
				ss, err := loginWith(home, code)
				Expect(err).NotTo(HaveOccurred())
				Expect(ss.UserID).To(Equal(user))
				Expect(ss.Strength).To(Equal(server.Strength{Credential: server.CredentialPhoneOTP, Level: server.LevelUnproofed}))
				_, err = w.T.Session(w.Ctx, ss.ID)
				Expect(err).NotTo(HaveOccurred())
				_, err = loginWith(home, code)
				w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
			})

			It("Given a login code, When the user enters it 1 minute 59 seconds after it was sent, Then it logs in, But one entered 2 minutes after it was sent is refused with phone_code_incorrect", w.Needs(harness.Clock), func() {
				Expect(policy.PhoneCodeValidity).To(Equal(2*time.Minute), "the guide: the OTP Code will expire 2 minutes after clicking Send")
				code := sendCode(user, home)
				w.Advance(policy.PhoneCodeValidity - time.Second)
				_, err := loginWith(home, code)
				Expect(err).NotTo(HaveOccurred())
				code = sendCode(user, home)
				w.Advance(policy.PhoneCodeValidity)
				_, err = loginWith(home, code)
				w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
			})

			It("Given a code sent again with Resend Code, When the user enters the first code, Then it is refused with phone_code_incorrect, And the second logs in", func() {
				first := sendCode(user, home)
				second := sendCode(user, home)
				// Two random codes are the same once in a million: resend
				// again rather than let the spec pass on a code it did not
				// tell apart.
				if second == first {
					second = sendCode(user, home)
				}
				Expect(second).NotTo(Equal(first))
				_, err := loginWith(home, first)
				w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
				_, err = loginWith(home, second)
				Expect(err).NotTo(HaveOccurred())
			})

			It("Given two wrong codes, When the user enters the right one, Then it logs in; But after three wrong codes the right one is refused with phone_code_incorrect, And a new code logs in", func() {
				Expect(policy.PhoneCodeAttempts).To(Equal(3))
				code := sendCode(user, home)
				for range policy.PhoneCodeAttempts - 1 {
					_, err := loginWith(home, otherPhoneCode(code))
					w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
				}
				_, err := loginWith(home, code)
				Expect(err).NotTo(HaveOccurred())

				code = sendCode(user, home)
				for range policy.PhoneCodeAttempts {
					_, err := loginWith(home, otherPhoneCode(code))
					w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
				}
				_, err = loginWith(home, code)
				w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
				_, err = loginWith(home, sendCode(user, home))
				Expect(err).NotTo(HaveOccurred())
			})

			It("Given a login code, When the user enters it with a wrong password, Then it is refused with credentials_invalid and the code does not count it, And the code then logs in with the right password", func() {
				code := sendCode(user, home)
				// As many wrong passwords as void a code: the password is
				// checked before the code is looked at.
				for range policy.PhoneCodeAttempts {
					_, err := w.T.LoginWithPhone(w.Ctx, user, "not the password", home, code)
					w.ExpectRefusal(err, server.CodeCredentialsInvalid)
				}
				_, err := loginWith(home, code)
				Expect(err).NotTo(HaveOccurred())
			})

			It("Given a login with the password alone, When the user opens an application that needs phone OTP, Then it is refused with strength_insufficient; When they elevate the session with a phone code, Then it opens, But an application that needs a hardware token still refuses it", func() {
				phoneApp, tokenApp := "app-phone-"+user, "app-hw-"+user
				for _, app := range []server.Application{
					{ID: phoneApp, Name: "PIM", MinStrength: server.Strength{Credential: server.CredentialPhoneOTP, Level: server.LevelUnproofed}},
					{ID: tokenApp, Name: "Boeing", MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: server.LevelUnproofed}},
				} {
					Expect(w.T.CreateApplication(w.Ctx, harness.Admin, app)).To(Succeed())
				}
				ss := passwordLogin(user)
				w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, phoneApp), server.CodeStrengthTooLow)
				code := sendCode(user, home)
				_, err := w.T.ElevateWithPhone(w.Ctx, ss.ID, home, otherPhoneCode(code))
				w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
				up, err := w.T.ElevateWithPhone(w.Ctx, ss.ID, home, code)
				Expect(err).NotTo(HaveOccurred())
				Expect(up.ID).To(Equal(ss.ID), "elevation keeps the session")
				Expect(up.Strength).To(Equal(server.Strength{Credential: server.CredentialPhoneOTP, Level: server.LevelUnproofed}))
				Expect(w.T.Access(w.Ctx, ss.ID, phoneApp)).To(Succeed())
				w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, tokenApp), server.CodeStrengthTooLow)
			})
		})

		Describe("The send limit", func() {
			It("Given five codes sent to a number within an hour, When the user asks for a sixth, Then it is refused with phone_code_limit, And removing the phone and registering it again is refused the same, But an hour after the first it is sent", w.Needs(harness.Clock), func() {
				Expect(policy.PhoneCodeSends).To(Equal(5))
				Expect(policy.PhoneCodeSendWindow).To(Equal(time.Hour))
				first := w.Now()
				_, err := w.T.AddPhone(w.Ctx, user, home, server.PhoneText, "") // the registration's code is the first
				Expect(err).NotTo(HaveOccurred())
				for range policy.PhoneCodeSends - 1 {
					w.Advance(time.Minute)
					_, err := w.T.SendPhoneCode(w.Ctx, user, home)
					Expect(err).NotTo(HaveOccurred())
				}
				sent := len(w.Outbox(user))
				_, err = w.T.SendPhoneCode(w.Ctx, user, home)
				w.ExpectRefusal(err, server.CodePhoneCodeLimit)
				// Not verified, the phone is no credential: no session needed.
				Expect(w.T.RemovePhone(w.Ctx, user, home, "")).To(Succeed())
				_, err = w.T.AddPhone(w.Ctx, user, home, server.PhoneText, "")
				w.ExpectRefusal(err, server.CodePhoneCodeLimit)
				Expect(w.Outbox(user)).To(HaveLen(sent), "a refused code is not sent")

				moveClockTo(w, first.Add(policy.PhoneCodeSendWindow))
				_, err = w.T.AddPhone(w.Ctx, user, home, server.PhoneText, "")
				Expect(err).NotTo(HaveOccurred())
				Expect(w.Outbox(user)).To(HaveLen(sent + 1))
			})
		})

		Describe("Changing phones", func() {
			It("Given an account with a verified phone, When the user adds or removes a phone without a session or with a password session, Then it is refused with phone_otp_required, And another user's session is refused with forbidden and an unknown one with session_invalid, But a phone OTP session changes them", func() {
				addVerifiedPhone(w, user, home, "")
				for _, sid := range []string{"", passwordLogin(user).ID} {
					_, err := w.T.AddPhone(w.Ctx, user, mobile, server.PhoneText, sid)
					w.ExpectRefusal(err, server.CodePhoneOTPRequired)
					w.ExpectRefusal(w.T.RemovePhone(w.Ctx, user, home, sid), server.CodePhoneOTPRequired)
					// Before anything that tells which numbers it has.
					w.ExpectRefusal(w.T.RemovePhone(w.Ctx, user, spare, sid), server.CodePhoneOTPRequired)
				}
				other := w.NewUser()
				addVerifiedPhone(w, other, home, "")
				theirs := phoneLogin(w, other, w.PasswordOf(other), home)
				_, err := w.T.AddPhone(w.Ctx, user, mobile, server.PhoneText, theirs.ID)
				w.ExpectRefusal(err, server.CodeForbidden)
				w.ExpectRefusal(w.T.RemovePhone(w.Ctx, user, home, theirs.ID), server.CodeForbidden)
				_, err = w.T.AddPhone(w.Ctx, user, mobile, server.PhoneText, "no-such-session-"+user)
				w.ExpectRefusal(err, server.CodeSessionInvalid)

				mine := phoneLogin(w, user, w.PasswordOf(user), home)
				_, err = w.T.AddPhone(w.Ctx, user, mobile, server.PhoneText, mine.ID)
				Expect(err).NotTo(HaveOccurred())
				Expect(w.T.RemovePhone(w.Ctx, user, mobile, mine.ID)).To(Succeed())
				w.ExpectRefusal(w.T.RemovePhone(w.Ctx, user, mobile, mine.ID), server.CodeNotFound)
				pv, err := w.T.Phones(w.Ctx, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(pv.Phones).To(HaveLen(1))
			})

			It("Given a token holder with no phone, When they register a phone without a session or with a password session, Then it is refused with phone_otp_required, But with the session of a login with their token it is registered", w.Needs(harness.Provision), func() {
				holder, dev := w.ActiveUser()
				_, err := w.T.AddPhone(w.Ctx, holder, home, server.PhoneText, "")
				w.ExpectRefusal(err, server.CodePhoneOTPRequired)
				_, err = w.T.AddPhone(w.Ctx, holder, home, server.PhoneText, passwordLogin(holder).ID)
				w.ExpectRefusal(err, server.CodePhoneOTPRequired)
				hw, err := w.T.Login(w.Ctx, holder, w.PasswordOf(holder), dev.Press())
				Expect(err).NotTo(HaveOccurred())
				Expect(hw.Strength.Credential).To(Equal(server.CredentialHardwareOTP))
				v, err := w.T.AddPhone(w.Ctx, holder, home, server.PhoneText, hw.ID)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Number).To(Equal(home))
			})

			It("Given two phones each logged in, When the user removes the first in the second's session, Then the first's session has ended, And the second's goes on", func() {
				addVerifiedPhone(w, user, home, "")
				first := phoneLogin(w, user, w.PasswordOf(user), home)
				addVerifiedPhone(w, user, mobile, first.ID)
				second := phoneLogin(w, user, w.PasswordOf(user), mobile)
				Expect(w.T.RemovePhone(w.Ctx, user, home, second.ID)).To(Succeed())
				_, err := w.T.Session(w.Ctx, first.ID)
				w.ExpectRefusal(err, server.CodeSessionInvalid)
				_, err = w.T.Session(w.Ctx, second.ID)
				Expect(err).NotTo(HaveOccurred())
				_, err = w.T.SendPhoneCode(w.Ctx, user, home)
				w.ExpectRefusal(err, server.CodeNotFound)
			})
		})

		It("Given a child account connected to the parent, When it asks for a code for the parent's phone, Then the code goes to that phone into the child's outbox, And it logs the child in but not the parent, And the child cannot register a phone of its own", func() {
			parent := user
			pa, err := w.T.Account(w.Ctx, parent)
			Expect(err).NotTo(HaveOccurred())
			child := w.NewUser(func(n *server.NewAccount) {
				n.Email, n.FirstName, n.MiddleName, n.LastName = pa.Email, pa.FirstName, pa.MiddleName, pa.LastName
			})
			addVerifiedPhone(w, parent, home, "")
			_, err = w.T.Connect(w.Ctx, server.AsUser(parent), parent, child)
			Expect(err).NotTo(HaveOccurred())
			pv, err := w.T.Phones(w.Ctx, child)
			Expect(err).NotTo(HaveOccurred())
			Expect(pv.UserID).To(Equal(child))
			Expect(pv.OwnerID).To(Equal(parent), "the child uses the parent's phones")
			Expect(pv.Phones).To(HaveLen(1))

			parentMail := len(w.Outbox(parent))
			sent, err := w.T.SendPhoneCode(w.Ctx, child, home)
			Expect(err).NotTo(HaveOccurred())
			Expect(sent.Purpose).To(Equal("login"))
			code := phoneCodeTo(w, child, home)
			Expect(w.Outbox(parent)).To(HaveLen(parentMail), "the child's code is not in the parent's outbox")
			_, err = w.T.LoginWithPhone(w.Ctx, parent, w.PasswordOf(parent), home, code)
			w.ExpectRefusal(err, server.CodePhoneCodeIncorrect)
			ss, err := w.T.LoginWithPhone(w.Ctx, child, w.PasswordOf(child), home, code)
			Expect(err).NotTo(HaveOccurred())
			Expect(ss.UserID).To(Equal(child))
			Expect(ss.Strength).To(Equal(server.Strength{Credential: server.CredentialPhoneOTP, Level: server.LevelUnproofed}))

			_, err = w.T.AddPhone(w.Ctx, child, mobile, server.PhoneText, ss.ID)
			w.ExpectRefusal(err, server.CodeActionUnavailable)
		})

		Describe("The subscription", func() {
			var verified server.PhoneView // the first phone, which started it
			BeforeEach(func() { verified = addVerifiedPhone(w, user, home, "") })

			It("Given an active subscription, When the user renews it ahead of time, Then it expires a year after the previous expiry, And so again when an administrator renews it, But another user may not renew it, And an account with none has none to renew", func() {
				expires := subscription(user).ExpiresAt
				Expect(expires).To(BeTemporally("==", verified.VerifiedAt.Add(year)))
				pv, err := w.T.RenewPhoneSubscription(w.Ctx, server.AsUser(user), user)
				Expect(err).NotTo(HaveOccurred())
				Expect(pv.Subscription).NotTo(BeNil())
				Expect(pv.Subscription.Status).To(Equal(server.SubscriptionActive))
				Expect(pv.Subscription.ExpiresAt).To(BeTemporally("==", expires.Add(year)))
				pv, err = w.T.RenewPhoneSubscription(w.Ctx, harness.Admin, user)
				Expect(err).NotTo(HaveOccurred())
				Expect(pv.Subscription.ExpiresAt).To(BeTemporally("==", expires.Add(2*year)))

				other := w.NewUser()
				_, err = w.T.RenewPhoneSubscription(w.Ctx, server.AsUser(other), user)
				w.ExpectRefusal(err, server.CodeForbidden)
				_, err = w.T.RenewPhoneSubscription(w.Ctx, server.AsUser(other), other)
				w.ExpectRefusal(err, server.CodeNotFound)
				Expect(subscription(user).ExpiresAt).To(BeTemporally("==", expires.Add(2*year)))
			})

			When("the clock moves on to the expiry", w.Needs(harness.Clock), func() {
				var expires time.Time
				BeforeEach(func() { expires = subscription(user).ExpiresAt })

				It("Given a subscription, When 30 days are left, Then the user is reminded; When it expires, Then the user is told, And its phones get no login code and log in no more (phone_subscription_expired), And a phone session opened before has ended", func() {
					Expect(policy.ExpiryReminder).To(Equal(30 * day))
					moveClockTo(w, expires.Add(-policy.ExpiryReminder-time.Second))
					Expect(w.Outbox(user)).NotTo(ContainElement(string(server.NotificationPhoneExpiryReminder)))
					moveClockTo(w, expires.Add(-policy.ExpiryReminder))
					Expect(countOf(w, user, server.NotificationPhoneExpiryReminder)).To(Equal(1))

					// Logged in shortly before the expiry, so that only the
					// expiry, not idleness, can end the session.
					moveClockTo(w, expires.Add(-10*time.Minute))
					early := phoneLogin(w, user, w.PasswordOf(user), home)
					password := passwordLogin(user)
					moveClockTo(w, expires.Add(-time.Minute))
					code := sendCode(user, home) // good for two minutes, past the expiry
					_, err := w.T.Session(w.Ctx, early.ID)
					Expect(err).NotTo(HaveOccurred())
					Expect(w.Outbox(user)).NotTo(ContainElement(string(server.NotificationPhoneExpired)))

					moveClockTo(w, expires)
					Expect(countOf(w, user, server.NotificationPhoneExpired)).To(Equal(1))
					pv, err := w.T.Phones(w.Ctx, user)
					Expect(err).NotTo(HaveOccurred())
					Expect(pv.Subscription.Status).To(Equal(server.SubscriptionExpired))
					Expect(pv.Phones).To(HaveLen(1), "an expired subscription keeps its phones")
					_, err = w.T.SendPhoneCode(w.Ctx, user, home)
					w.ExpectRefusal(err, server.CodePhoneSubscriptionExpired)
					_, err = loginWith(home, code)
					w.ExpectRefusal(err, server.CodePhoneSubscriptionExpired)
					_, err = w.T.ElevateWithPhone(w.Ctx, password.ID, home, code)
					w.ExpectRefusal(err, server.CodePhoneSubscriptionExpired)
					_, err = w.T.Session(w.Ctx, early.ID)
					w.ExpectRefusal(err, server.CodeSessionInvalid)
				})

				It("Given an expired subscription, When the user renews it within the renewal window, Then it expires a year after the previous expiry, not a year from the renewal, And its phones log in again", func() {
					moveClockTo(w, expires.Add(35*day))
					_, err := w.T.SendPhoneCode(w.Ctx, user, home)
					w.ExpectRefusal(err, server.CodePhoneSubscriptionExpired)
					pv, err := w.T.RenewPhoneSubscription(w.Ctx, server.AsUser(user), user)
					Expect(err).NotTo(HaveOccurred())
					Expect(pv.Subscription.Status).To(Equal(server.SubscriptionActive))
					Expect(pv.Subscription.ExpiresAt).To(BeTemporally("==", verified.VerifiedAt.Add(2*year)))
					phoneLogin(w, user, w.PasswordOf(user), home)
				})

				It("Given an expired subscription left unrenewed, When its renewal window closes, Then the user was reminded 30, 15 and 3 days before, And it is still expired at the close; Just past it, it has lapsed: it cannot be renewed, its phones are removed and log in no more (phone_subscription_lapsed), But a new phone starts a new subscription", func() {
					Expect(policy.PhoneRenewalWindow).To(Equal(year))
					Expect(policy.RevocationReminders).To(Equal([]time.Duration{30 * day, 15 * day, 3 * day}))
					renewBy := subscription(user).RenewBy
					Expect(renewBy).To(BeTemporally("==", expires.Add(policy.PhoneRenewalWindow)))

					moveClockTo(w, renewBy)
					ns, err := w.T.Notifications(w.Ctx, user)
					Expect(err).NotTo(HaveOccurred())
					var before []time.Duration
					for _, n := range ns {
						if n.Kind == server.NotificationPhoneLapseReminder {
							before = append(before, renewBy.Sub(n.CreatedAt))
						}
					}
					Expect(before).To(Equal(policy.RevocationReminders))
					pv, err := w.T.Phones(w.Ctx, user)
					Expect(err).NotTo(HaveOccurred())
					Expect(pv.Subscription.Status).To(Equal(server.SubscriptionExpired), "renewable until the window's last instant")
					Expect(pv.Phones).To(HaveLen(1))
					Expect(w.Outbox(user)).NotTo(ContainElement(string(server.NotificationPhoneLapsed)))

					w.Advance(time.Nanosecond)
					_, err = w.T.RenewPhoneSubscription(w.Ctx, server.AsUser(user), user)
					w.ExpectRefusal(err, server.CodePhoneSubscriptionLapsed)
					Expect(countOf(w, user, server.NotificationPhoneLapsed)).To(Equal(1))
					pv, err = w.T.Phones(w.Ctx, user)
					Expect(err).NotTo(HaveOccurred())
					Expect(pv.Subscription.Status).To(Equal(server.SubscriptionLapsed))
					Expect(pv.Subscription.LapsedAt).NotTo(BeNil())
					Expect(pv.Phones).To(BeEmpty())
					_, err = w.T.SendPhoneCode(w.Ctx, user, home)
					w.ExpectRefusal(err, server.CodePhoneSubscriptionLapsed)
					_, err = loginWith(home, "123456")
					w.ExpectRefusal(err, server.CodePhoneSubscriptionLapsed)

					// A brand-new credential: the account holds none, so no
					// session is needed to register it.
					v := addVerifiedPhone(w, user, mobile, "")
					sub := subscription(user)
					Expect(sub.Status).To(Equal(server.SubscriptionActive))
					Expect(sub.ExpiresAt).To(BeTemporally("==", v.VerifiedAt.Add(year)))
					Expect(sub.LapsedAt).To(BeNil())
					phoneLogin(w, user, w.PasswordOf(user), mobile)
				})
			})
		})
	})
})
