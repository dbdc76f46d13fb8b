package scenarios

import (
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

// lock enters five wrong codes.
func lock(w *harness.World, user string, dev *harness.Device) {
	for range 5 {
		_, _ = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
	}
	Expect(w.Status(dev).SubStatus).To(Equal("locked"))
}

// driftOf is the device's drift with its offset set to off.
func driftOf(dev *harness.Device, off time.Duration) emulator.Drift {
	d := dev.Spec().Drift
	d.Offset = off
	return d
}

var _ = flow(func(w *harness.World) {
	Describe("Resync", Label("resync"), w.Needs(harness.Provision, harness.Resync), func() {
		It("Given a locked token, When the user enters two consecutive codes, Then it is unlocked, its counter cleared and both codes consumed", w.Needs(harness.Verify, harness.Lockout, harness.Inspect, harness.Clock), func() {
			user, dev := w.ActiveUser()
			lock(w, user, dev)
			w.WaitForNextCode()
			w.WaitForNextCode()
			c1, c2 := dev.TwoConsecutiveCodes()
			v, err := w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), c1, c2)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.SubStatus).To(Equal("active"))
			Expect(v.FailCount).To(BeZero())
			_, err = w.T.Verify(w.Ctx, user, c2)
			w.ExpectRefusal(err, server.CodeOTPReplayed)
			_, err = w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), c1, c2)
			w.ExpectRefusal(err, server.CodeOTPReplayed)
			w.WaitForNextCode()
			_, err = w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
		})

		It("repairs a token whose clock ran far off: the drift is set from the second code", w.Needs(harness.Verify), func() {
			user, dev := w.ActiveUser()
			Expect(dev.SetDrift(driftOf(dev, 40*time.Minute))).To(Succeed()) // 80 steps fast
			_, err := w.Login(user, dev)
			w.ExpectOutsideWindow(err)
			c1, c2 := dev.TwoConsecutiveCodes()
			v, err := w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), c1, c2)
			Expect(err).NotTo(HaveOccurred())
			Expect(v.DriftSteps).To(Equal(int64(80)))
		})

		It("blocks resync after three failures until an administrator resets it", func() {
			_, dev := w.ActiveUser()
			for range 3 {
				_, err := w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), w.WrongCode(dev), w.WrongCode(dev))
				w.ExpectRefusal(err, server.CodeOTPIncorrect)
			}
			p := dev.Spec().Period
			_, err := w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
			w.ExpectRefusal(err, server.CodeActivationBlocked)
			_, err = w.T.Reset(w.Ctx, harness.Admin, dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			_, err = w.T.Resync(w.Ctx, w.Owner(dev.Serial()), dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
			Expect(err).NotTo(HaveOccurred())
		})

		It("lets only the owner or an administrator resync a token", func() {
			_, dev := w.ActiveUser()
			other, _ := w.ActiveUser()
			p := dev.Spec().Period
			_, err := w.T.Resync(w.Ctx, server.AsUser(other), dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
			w.ExpectRefusal(err, server.CodeForbidden)
			_, err = w.T.Resync(w.Ctx, harness.Admin, dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
			Expect(err).NotTo(HaveOccurred())
		})
	})
})
