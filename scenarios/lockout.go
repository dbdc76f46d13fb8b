package scenarios

import (
	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

type lockoutCase struct {
	Name       string `json:"name"`
	WrongCodes int    `json:"wrong_codes"`
	Then       string `json:"then"`
	FailCount  int    `json:"fail_count"`
	SubStatus  string `json:"sub_status"`
}

func (c lockoutCase) name() string { return c.Name }

var _ = flow(func(w *harness.World) {
	Describe("Lockout", Label("lockout"), func() {
		DescribeTable("Given an active token, When the user enters wrong codes, Then the fifth locks it (fixtures/scenarios/lockout.json)",
			func(c lockoutCase) {
				user, dev := w.ActiveUser()
				for i := 1; i <= c.WrongCodes; i++ {
					_, err := w.T.Verify(w.Ctx, user, w.WrongCode(dev))
					if i <= 5 {
						w.ExpectRefusal(err, server.CodeOTPInvalid)
					} else {
						w.ExpectRefusal(err, server.CodeTokenLocked)
					}
				}
				_, err := w.Login(user, dev)
				if c.Then == "ok" {
					Expect(err).NotTo(HaveOccurred())
				} else {
					w.ExpectRefusal(err, server.Code(c.Then))
				}
				st := w.Status(dev)
				Expect(st.FailCount).To(Equal(c.FailCount))
				Expect(st.SubStatus).To(Equal(c.SubStatus))
			}, entries(rows[lockoutCase]("lockout.json")))

		It("shows a locked token as Active (Locked) and keeps it locked after an administrator's reset", func() {
			user, dev := w.ActiveUser()
			for range 5 {
				_, _ = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			}
			st := w.Status(dev)
			Expect(st.Status).To(Equal(server.StatusActive))
			Expect(st.StatusDisplay).To(Equal("Active (Locked)"))
			_, err := w.T.Reset(w.Ctx, harness.Admin, dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			_, err = w.Login(user, dev)
			w.ExpectRefusal(err, server.CodeTokenLocked)
		})

		It("counts only consecutive failures: a success clears the counter", func() {
			user, dev := w.ActiveUser()
			for range 4 {
				_, _ = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			}
			_, err := w.Login(user, dev)
			Expect(err).NotTo(HaveOccurred())
			_, err = w.T.Verify(w.Ctx, user, w.WrongCode(dev))
			w.ExpectRefusal(err, server.CodeOTPInvalid)
			Expect(w.Status(dev).FailCount).To(Equal(1))
		})
	})
})
