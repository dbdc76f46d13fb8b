package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	Describe("Sessions", Label("sessions"), w.Needs(harness.Provision, harness.Portal, harness.Inspect), func() {
		var (
			user   string
			dev    *harness.Device
			portal string // an application any session opens
			policy server.Policy
		)
		BeforeEach(func() {
			user, dev = w.ActiveUser()
			portal = "app-portal-" + user
			Expect(w.T.CreateApplication(w.Ctx, harness.Admin, server.Application{ID: portal, Name: "Dashboard",
				MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}})).To(Succeed())
			var err error
			policy, err = w.T.Policy(w.Ctx)
			Expect(err).NotTo(HaveOccurred())
		})

		withPassword := func() server.Session {
			GinkgoHelper()
			ss, err := w.T.Login(w.Ctx, user, w.PasswordOf(user), "")
			Expect(err).NotTo(HaveOccurred())
			return ss
		}
		withToken := func() server.Session {
			GinkgoHelper()
			ss, err := w.T.Login(w.Ctx, user, w.PasswordOf(user), dev.Press())
			Expect(err).NotTo(HaveOccurred())
			Expect(ss.Strength.Credential).To(Equal(server.CredentialHardwareOTP))
			return ss
		}
		expectLive := func(ss server.Session) {
			GinkgoHelper()
			_, err := w.T.Session(w.Ctx, ss.ID)
			Expect(err).NotTo(HaveOccurred())
			Expect(w.T.Access(w.Ctx, ss.ID, portal)).To(Succeed())
		}
		// expectEnded: looking at the session, opening an application with
		// it and logging it out are all session_invalid.
		expectEnded := func(ss server.Session) {
			GinkgoHelper()
			_, err := w.T.Session(w.Ctx, ss.ID)
			w.ExpectRefusal(err, server.CodeSessionInvalid)
			w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, portal), server.CodeSessionInvalid)
			w.ExpectRefusal(w.T.Logout(w.Ctx, ss.ID), server.CodeSessionInvalid)
		}

		It("Given a session, When it goes unused for 15 minutes, Then it has ended, But opening an application keeps it live and looking at it does not", w.Needs(harness.Clock), func() {
			Expect(policy.SessionIdleTimeout).To(Equal(15 * time.Minute))
			ss := withPassword()
			w.Advance(policy.SessionIdleTimeout - time.Second)
			Expect(w.T.Access(w.Ctx, ss.ID, portal)).To(Succeed())
			w.Advance(policy.SessionIdleTimeout - time.Second)
			_, err := w.T.Session(w.Ctx, ss.ID)
			Expect(err).NotTo(HaveOccurred())
			w.Advance(time.Second)
			expectEnded(ss)
		})

		It("Given a session used every few minutes, When 12 hours have passed since the login, Then it has ended", w.Needs(harness.Clock), func() {
			Expect(policy.SessionMaxLifetime).To(Equal(12 * time.Hour))
			ss := withPassword()
			step := policy.SessionIdleTimeout - time.Second
			var used time.Duration
			for ; used+step < policy.SessionMaxLifetime; used += step {
				w.Advance(step)
				expectLive(ss)
			}
			w.Advance(policy.SessionMaxLifetime - used)
			expectEnded(ss)
		})

		It("Given a session logged in with the token, When the user suspends the token, Then the session has ended, And re-enabling the token does not bring it back, But a session logged in with the password alone goes on", w.Needs(harness.Suspend), func() {
			otp, password := withToken(), withPassword()
			_, err := w.T.Suspend(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			expectEnded(otp)
			expectLive(password)
			_, err = w.T.Enable(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			expectEnded(otp)
			expectLive(password)
		})

		It("Given a session elevated with the token, When wrong codes lock the token, Then the session has ended", w.Needs(harness.Verify, harness.Lockout), func() {
			ss := withPassword()
			up, err := w.T.Elevate(w.Ctx, ss.ID, dev.Press())
			Expect(err).NotTo(HaveOccurred())
			Expect(up.Strength.Credential).To(Equal(server.CredentialHardwareOTP))
			expectLive(up)
			for range policy.LockoutThreshold {
				_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
				w.ExpectRefusal(err, server.CodeOTPInvalid)
			}
			Expect(w.Status(dev).SubStatus).To(Equal("locked"))
			expectEnded(up)
		})

		It("Given sessions logged in with the token and with the password, When an administrator revokes the token, Then both have ended", w.Needs(harness.Revoke), func() {
			otp, password := withToken(), withPassword()
			_, err := w.T.Revoke(w.Ctx, harness.Admin, dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			expectEnded(otp)
			expectEnded(password)
		})
	})
})
