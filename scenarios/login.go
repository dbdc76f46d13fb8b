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

// holder is a user and the token they hold.
type holder struct {
	user string
	dev  *harness.Device
}

// activeUser and freshUser make holders for harness.InOneStep.
func activeUser(w *harness.World) func() holder {
	return func() holder { user, dev := w.ActiveUser(); return holder{user, dev} }
}

func freshUser(w *harness.World) func() holder {
	return func() holder { user, dev := w.FreshUser(); return holder{user, dev} }
}

var _ = flow(func(w *harness.World) {
	Describe("Login", Label("login"), w.Needs(harness.Provision, harness.Verify), func() {
		It("Given an active token, When the user enters the code it shows, Then the code is accepted, And a wrong code before it is refused", func() {
			user, dev := w.ActiveUser()
			_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			w.ExpectRefusal(err, server.CodeOTPInvalid)
			v, err := w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.Serial).To(Equal(dev.Serial()))
		})

		It("Given an active token, When the user enters the code it shows, Then the code is accepted with the token's step and drift", w.Needs(harness.Inspect), func() {
			type answer struct {
				v    server.Verification
				err  error
				step int64
			}
			// The step is the server's at the answer: on a real clock the
			// case is tried again when the step turned in between.
			got := harness.InOneStep(w, activeUser(w), func(u holder) answer {
				v, err := w.Login(u.user, u.dev)
				return answer{v, err, w.Now().Unix() / 30}
			})
			Expect(got.err).NotTo(HaveOccurred())
			Expect(got.v.Step).To(Equal(got.step))
			Expect(got.v.DriftSteps).To(BeZero())
			st, err := w.T.Token(w.Ctx, got.v.Serial)
			Expect(err).NotTo(HaveOccurred())
			Expect(*st.LastStep).To(Equal(got.v.Step))
			Expect(st.FailCount).To(BeZero())
		})

		It("accepts a code once, ever: the same code again is otp_replayed", func() {
			user, dev := w.ActiveUser()
			code := dev.Press()
			_, err := w.T.Verify(w.Ctx, user, code)
			Expect(err).NotTo(HaveOccurred())
			for range 6 {
				_, err = w.T.Verify(w.Ctx, user, code)
				w.ExpectRefusal(err, server.CodeOTPReplayed)
			}
		})

		It("does not count a replayed code towards the lockout", w.Needs(harness.Inspect), func() {
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

		It("refuses a wrong code with otp_invalid and counts it", w.Needs(harness.Inspect), func() {
			user, dev := w.ActiveUser()
			_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			w.ExpectRefusal(err, server.CodeOTPInvalid)
			Expect(w.Status(dev).FailCount).To(Equal(1))
		})

		It("refuses a login code on an account without a hardware token", w.Needs(harness.Activate), func() {
			_, err := w.T.Verify(w.Ctx, w.NewUser(), "12345678")
			w.ExpectRefusal(err, server.CodeNoToken)
		})

		It("answers not_found for an account that does not exist", func() {
			_, err := w.T.Verify(w.Ctx, w.Unique("nobody-"), "12345678")
			w.ExpectRefusal(err, server.CodeNotFound)
		})

		It("learns the drift from each login: a token one step fast moves the window with it", w.Needs(harness.Clock, harness.Inspect), func() {
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

		It("Given a token two steps fast, When the user logs in over RADIUS, Then the server asks for the next code, And the next code logs in and moves the window", w.Needs(harness.NextCode, harness.Inspect), func() {
			type challenged struct {
				holder
				err error
			}
			got := harness.InOneStep(w, freshUser(w), func(u holder) challenged {
				_, err := w.T.Verify(w.Ctx, u.user, u.dev.PressAt(60*time.Second))
				return challenged{u, err}
			})
			Expect(got.err).To(MatchError(harness.ErrChallenged))
			Expect(w.Status(got.dev).FailCount).To(BeZero(), "a code of the token is not a wrong code")
			v, err := w.AnswerChallenge(got.err, got.dev.PressAt(90*time.Second))
			Expect(err).NotTo(HaveOccurred())
			Expect(v.DriftSteps).To(Equal(int64(3)))
		})

		// The window's edges need a user whose window is centred on now
		// with no step used (FreshUser); on a real clock each case is
		// pressed and checked within one step (InOneStep).
		DescribeTable("accepts codes within ±1 step of the server's time (fixtures/scenarios/login-window.json)", func(c windowCase) {
			err := harness.InOneStep(w, freshUser(w), func(u holder) error {
				_, err := w.T.Verify(w.Ctx, u.user, u.dev.PressAt(time.Duration(c.DeviceOffsetSteps)*30*time.Second))
				return err
			})
			switch c.Outcome {
			case "ok":
				Expect(err).NotTo(HaveOccurred())
			case string(server.CodeOTPInvalid):
				w.ExpectOutsideWindow(err)
			default:
				w.ExpectRefusal(err, server.Code(c.Outcome))
			}
		}, entries(rows[windowCase]("login-window.json")))
	})
})
