package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

type windowCase struct {
	Name              string `json:"name"`
	DeviceOffsetSteps int64  `json:"device_offset_steps"`
	Outcome           string `json:"outcome"`
}

func (c windowCase) name() string { return c.Name }

var _ = flow(func(w *harness.World) {
	Describe("Login", Label("login"), func() {
		It("Given an active token, When the user enters the code it shows, Then the code is accepted with the token's serial, step and drift", func() {
			user, dev := w.ActiveUser()
			v, err := w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Serial).To(Equal(dev.Serial()))
			Expect(v.Step).To(Equal(w.Now().Unix() / 30))
			Expect(v.DriftSteps).To(BeZero())
			st := w.Status(dev)
			Expect(*st.LastStep).To(Equal(v.Step))
			Expect(st.FailCount).To(BeZero())
		})

		It("accepts a code once, ever: the same code again is otp_replayed and does not count towards the lockout", func() {
			user, dev := w.ActiveUser()
			code := dev.Press()
			_, err := w.T.Verify(w.Ctx, user, code)
			Expect(err).NotTo(HaveOccurred())
			for range 6 {
				_, err = w.T.Verify(w.Ctx, user, code)
				w.ExpectRefusal(err, server.CodeOTPReplayed)
			}
			st := w.Status(dev)
			Expect(st.FailCount).To(BeZero())
			Expect(st.SubStatus).To(Equal("active"))
		})

		It("refuses a wrong code with otp_invalid and counts it", func() {
			user, dev := w.ActiveUser()
			_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			w.ExpectRefusal(err, server.CodeOTPInvalid)
			Expect(w.Status(dev).FailCount).To(Equal(1))
		})

		It("refuses a login code on an account without a hardware token", func() {
			_, err := w.T.Verify(w.Ctx, w.NewUser(), "12345678")
			w.ExpectRefusal(err, server.CodeNoToken)
		})

		It("answers not_found for an account that does not exist", func() {
			_, err := w.T.Verify(w.Ctx, "nobody-"+w.NewUser(), "12345678")
			w.ExpectRefusal(err, server.CodeNotFound)
		})

		It("learns the drift from each login: a token one step fast moves the window with it", w.NeedsClock(), func() {
			w.RequireClock()
			user, dev := w.ActiveUser()
			Expect(dev.SetDrift(driftOf(dev, 30*time.Second))).To(Succeed())
			v, err := w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.DriftSteps).To(Equal(int64(1)))
			// Now two steps fast: one more than the learned drift, still inside.
			w.WaitForNextCode()
			Expect(dev.SetDrift(driftOf(dev, 60*time.Second))).To(Succeed())
			v, err = w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.DriftSteps).To(Equal(int64(2)))
		})

		DescribeTable("accepts codes within ±1 step of the server's time (fixtures/scenarios/login-window.json)", append([]any{Label("needs-clock"), func(c windowCase) {
			w.RequireClock()
			user, dev := w.ActiveUser()
			w.WaitForNextCode()
			w.WaitForNextCode()
			code := dev.PressAt(time.Duration(c.DeviceOffsetSteps) * 30 * time.Second)
			_, err := w.T.Verify(w.Ctx, user, code)
			if c.Outcome == "ok" {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			w.ExpectRefusal(err, server.Code(c.Outcome))
		}}, entriesAny(rows[windowCase]("login-window.json"))...)...)
	})
})
