package scenarios

import (
	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	Describe("Credential strength", Label("strength"), w.Needs(harness.Provision, harness.Portal), func() {
		var (
			user string
			dev  *harness.Device
			// orgAdmin accepts terms for the user's organization, which is
			// unique to the spec: an acceptance counts for everyone in it.
			orgAdmin string
			// The applications, unique to the spec: a dashboard any login
			// opens, one that needs a hardware OTP (level 2) and has terms,
			// and one that needs a level 3 hardware OTP.
			portal, otpApp, level3 string
		)
		BeforeEach(func() {
			org := w.Organization()
			user, dev = w.ActiveMember(org)
			orgAdmin = w.NewUser(func(n *server.NewAccount) { n.Organization, n.Role = org, server.RoleOrgAdmin })
			portal, otpApp, level3 = "app-portal-"+user, "app-otp-"+user, "app-l3-"+user
			for _, app := range []server.Application{
				{ID: portal, Name: "Dashboard", MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}},
				{ID: otpApp, Name: "PIM", Terms: "The terms of PIM.", MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: server.LevelUnproofed}},
				{ID: level3, Name: "Level 3 app", MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: server.LevelProofed}},
			} {
				Expect(w.T.CreateApplication(w.Ctx, harness.Admin, app)).To(Succeed())
			}
		})

		// skipOTP logs in with the password alone ("Skip OTP").
		skipOTP := func() server.Session {
			ss, err := w.T.Login(w.Ctx, user, w.PasswordOf(user), "")
			Expect(err).NotTo(HaveOccurred())
			Expect(ss.Strength).To(Equal(server.Strength{Credential: server.CredentialPassword, Level: 1}))
			return ss
		}

		When("the organization administrator has accepted the hardware OTP application's terms", func() {
			BeforeEach(func() { Expect(w.T.AcceptTerms(w.Ctx, orgAdmin, otpApp)).To(Succeed()) })

			It("Given a login without OTP, When the user opens a password-level application, Then it opens, But a hardware OTP application refuses it with strength_insufficient", func() {
				ss := skipOTP()
				Expect(w.T.Access(w.Ctx, ss.ID, portal)).To(Succeed())
				w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, otpApp), server.CodeStrengthTooLow)
			})

			It("Given a login without OTP, When the user elevates the session with a code of their token, Then the hardware OTP application opens", func() {
				ss := skipOTP()
				_, err := w.T.Elevate(w.Ctx, ss.ID, w.WrongCode(dev))
				w.ExpectRefusal(err, server.CodeOTPInvalid)
				up, err := w.T.Elevate(w.Ctx, ss.ID, dev.Press())
				Expect(err).NotTo(HaveOccurred())
				Expect(up.ID).To(Equal(ss.ID), "elevation keeps the session")
				Expect(up.Strength).To(Equal(server.Strength{Credential: server.CredentialHardwareOTP, Level: server.LevelUnproofed}))
				Expect(w.T.Access(w.Ctx, ss.ID, otpApp)).To(Succeed())
				Expect(w.T.Access(w.Ctx, ss.ID, portal)).To(Succeed())
			})

			It("Given a login with a level 2 token, When the user opens a level 3 application, Then it is refused with strength_insufficient", func() {
				ss, err := w.T.Login(w.Ctx, user, w.PasswordOf(user), dev.Press())
				Expect(err).NotTo(HaveOccurred())
				Expect(ss.Strength).To(Equal(server.Strength{Credential: server.CredentialHardwareOTP, Level: server.LevelUnproofed}))
				Expect(w.T.Access(w.Ctx, ss.ID, otpApp)).To(Succeed())
				w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, level3), server.CodeStrengthTooLow)
			})
		})

		It("Given a login with the token, When the user opens an application whose terms their organization has not accepted, Then it is refused with terms_not_accepted, And it opens once their Organization Administrator accepts them", func() {
			ss, err := w.T.Login(w.Ctx, user, w.PasswordOf(user), dev.Press())
			Expect(err).NotTo(HaveOccurred())
			w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, otpApp), server.CodeTermsNotAccepted)
			Expect(w.T.AcceptTerms(w.Ctx, orgAdmin, otpApp)).To(Succeed())
			Expect(w.T.Access(w.Ctx, ss.ID, otpApp)).To(Succeed())
		})

		It("Given a wrong password, When the user logs in, Then it is refused with credentials_invalid, And so is an unknown user", func() {
			_, err := w.T.Login(w.Ctx, user, "not the password", "")
			w.ExpectRefusal(err, server.CodeCredentialsInvalid)
			_, err = w.T.Login(w.Ctx, user, "not the password", dev.Press())
			w.ExpectRefusal(err, server.CodeCredentialsInvalid)
			_, err = w.T.Login(w.Ctx, "no-such-user-"+user, w.PasswordOf(user), "")
			w.ExpectRefusal(err, server.CodeCredentialsInvalid)
		})

		It("Given a session that does not exist, When it opens an application, Then it is refused with session_invalid", func() {
			w.ExpectRefusal(w.T.Access(w.Ctx, "no-such-session-"+user, portal), server.CodeSessionInvalid)
			_, err := w.T.Elevate(w.Ctx, "no-such-session-"+user, dev.Press())
			w.ExpectRefusal(err, server.CodeSessionInvalid)
		})

		It("Given a session, When it opens an application that does not exist, Then it is refused with not_found", func() {
			ss := skipOTP()
			w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, "no-such-app-"+user), server.CodeNotFound)
		})
	})
})
