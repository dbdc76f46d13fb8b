package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

type activationDriftCase struct {
	Name              string `json:"name"`
	DeviceOffsetSteps int64  `json:"device_offset_steps"`
	Outcome           string `json:"outcome"`
	DriftSteps        int64  `json:"drift_steps"`
}

func (c activationDriftCase) name() string { return c.Name }

var _ = flow(func(w *harness.World) {
	Describe("Activation", Label("activation"), w.Needs(harness.Activate), func() {
		var (
			user string
			dev  *harness.Device
		)
		BeforeEach(func() {
			user, dev = w.NewUser(), w.NewDevice()
		})

		When("the token is sponsored to the user", func() {
			BeforeEach(func() { w.Sponsor(user, dev) })

			It("Given a sponsored token, When the user enters the serial and two consecutive codes, Then the token is Active with its drift fixed", w.Needs(harness.Inspect), func() {
				v, err := w.Activate(user, dev)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Status).To(Equal(server.StatusActive))
				Expect(v.SubStatus).To(Equal("active"))
				Expect(v.OwnerID).To(Equal(user))
				Expect(v.DriftSteps).To(BeZero())
				Expect(v.ExpiresAt).NotTo(BeNil())
				Expect(w.Outbox(user)).To(Equal([]string{"sponsorship", "activation"}))
			})

			It("refuses two codes that are not consecutive with otp_incorrect", w.Needs(harness.Inspect), func() {
				p := dev.Spec().Period
				_, err := w.T.Activate(w.Ctx, user, dev.Serial(), dev.PressAt(-2*p), dev.PressAt(0))
				w.ExpectRefusal(err, server.CodeOTPIncorrect)
				Expect(w.Status(dev).Status).To(Equal(server.StatusPendingActivation))
			})

			It("blocks activation after three failed attempts until an administrator resets it", w.Needs(harness.Inspect), func() {
				for range 3 {
					_, err := w.T.Activate(w.Ctx, user, dev.Serial(), w.WrongCode(dev), w.WrongCode(dev))
					w.ExpectRefusal(err, server.CodeOTPIncorrect)
				}
				Expect(w.Status(dev).Blocked).To(BeTrue())
				_, err := w.Activate(user, dev)
				w.ExpectRefusal(err, server.CodeActivationBlocked)
				_, err = w.T.Reset(w.Ctx, harness.Admin, dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				_, err = w.Activate(user, dev)
				Expect(err).NotTo(HaveOccurred())
			})

			It("refuses a second activation of the same token", func() {
				_, err := w.Activate(user, dev)
				Expect(err).NotTo(HaveOccurred())
				_, err = w.Activate(user, dev)
				w.ExpectRefusal(err, server.CodeActionUnavailable)
			})

			It("refuses codes that are not 8 digits as a bad request, without counting an attempt", w.Needs(harness.Inspect), func() {
				_, err := w.T.Activate(w.Ctx, user, dev.Serial(), "1234", "abcdefgh")
				w.ExpectRefusal(err, server.CodeBadRequest)
				Expect(w.Status(dev).Blocked).To(BeFalse())
			})
		})

		It("refuses a serial the user may not activate with serial_incorrect", func() {
			_, err := w.Activate(user, dev)
			w.ExpectRefusal(err, server.CodeSerialIncorrect)
			_, err = w.T.Activate(w.Ctx, user, "NO-SUCH-SERIAL", "12345678", "23456789")
			w.ExpectRefusal(err, server.CodeSerialIncorrect)
		})

		It("needs the terms and conditions of the sponsoring application accepted first, by the organization's administrator", w.Needs(harness.Portal), func() {
			// Terms are accepted for an organization, so the spec has its
			// own: a member who activates and an administrator who accepts.
			org := w.Organization()
			member := w.NewUser(func(n *server.NewAccount) { n.Organization = org })
			orgAdmin := w.NewUser(func(n *server.NewAccount) { n.Organization, n.Role = org, server.RoleOrgAdmin })
			app := "app-" + member
			Expect(w.T.CreateApplication(w.Ctx, harness.Admin, server.Application{ID: app, Name: "Partner app", Terms: "The terms.",
				MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: server.LevelUnproofed}})).To(Succeed())
			w.Sponsor(member, dev, func(sp *server.Sponsorship) { sp.ApplicationID = app })
			_, err := w.Activate(member, dev)
			w.ExpectRefusal(err, server.CodeActionUnavailable)
			Expect(w.T.AcceptTerms(w.Ctx, orgAdmin, app)).To(Succeed())
			_, err = w.Activate(member, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("refuses a sponsorship past its activation deadline", w.Needs(harness.Clock), func() {
			by := w.Now().Add(7 * 24 * time.Hour)
			w.Sponsor(user, dev, func(sp *server.Sponsorship) { sp.ActivateBy = by })
			w.Advance(8 * 24 * time.Hour)
			_, err := w.Activate(user, dev)
			w.ExpectRefusal(err, server.CodeActionUnavailable)
		})

		It("allows one hardware token per account: revocation comes before a replacement", w.Needs(harness.Revoke), func() {
			w.Sponsor(user, dev)
			_, err := w.Activate(user, dev)
			Expect(err).NotTo(HaveOccurred())
			second := w.NewDevice()
			w.Sponsor(user, second)
			_, err = w.Activate(user, second)
			w.ExpectRefusal(err, server.CodeActionUnavailable)
			_, err = w.T.Revoke(w.Ctx, w.Owner(dev.Serial()), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			p := second.Spec().Period
			_, err = w.T.Activate(w.Ctx, user, second.Serial(), second.PressAt(p), second.PressAt(2*p))
			Expect(err).NotTo(HaveOccurred())
		})

		It("never activates a revoked serial again, for anyone", w.Needs(harness.Revoke), func() {
			w.Sponsor(user, dev)
			_, err := w.T.Revoke(w.Ctx, harness.Admin, dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			_, err = w.Activate(user, dev)
			w.ExpectRefusal(err, server.CodeTokenRevoked)
			_, err = w.Activate(w.NewUser(), dev)
			w.ExpectRefusal(err, server.CodeTokenRevoked)
		})

		It("binds a purchased token by its licence key; a level 3 product needs identity proofing first", func() {
			key, err := w.T.CreateLicenceKey(w.Ctx, harness.Admin, dev.Serial(), server.LevelProofed)
			Expect(err).NotTo(HaveOccurred())
			_, err = w.Activate(user, dev)
			w.ExpectRefusal(err, server.CodeSerialIncorrect) // the key is not entered yet
			Expect(w.T.RedeemLicenceKey(w.Ctx, user, key)).To(Succeed())
			_, err = w.Activate(user, dev)
			w.ExpectRefusal(err, server.CodeActionUnavailable) // not proofed
			w.ExpectRefusal(w.T.RedeemLicenceKey(w.Ctx, w.NewUser(), key), server.CodeConflict)
		})

		DescribeTable("fixes the drift of a token whose clock is off (fixtures/scenarios/activation-drift.json)",
			func(c activationDriftCase) {
				d := w.NewDevice(func(s *emulator.Spec) { s.Drift.Offset = time.Duration(c.DeviceOffsetSteps) * 30 * time.Second })
				w.Sponsor(user, d)
				v, err := w.Activate(user, d)
				if c.Outcome != "ok" {
					w.ExpectRefusal(err, server.Code(c.Outcome))
					return
				}
				Expect(err).NotTo(HaveOccurred())
				Expect(v.DriftSteps).To(Equal(c.DriftSteps))
			}, entries(rows[activationDriftCase]("activation-drift.json")))
	})
})
