package scenarios

import (
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	Describe("One token on connected accounts", Label("multi-account"), w.Needs(harness.Provision, harness.Verify, harness.Portal), func() {
		var (
			parent string
			dev    *harness.Device
			// same gives a new account the parent's e-mail and names, exactly.
			same func(*server.NewAccount)
		)
		BeforeEach(func() {
			parent, dev = w.ActiveUser()
			pa, err := w.T.Account(w.Ctx, parent)
			Expect(err).NotTo(HaveOccurred())
			same = func(n *server.NewAccount) {
				n.Email, n.FirstName, n.MiddleName, n.LastName = pa.Email, pa.FirstName, pa.MiddleName, pa.LastName
			}
		})

		When("a child account matches the parent's e-mail and names", func() {
			var child string
			BeforeEach(func() { child = w.NewUser(same) })

			It("Given a child account not yet connected, When it logs in with the parent's token, Then it is refused with no_hardware_token", func() {
				_, err := w.Login(child, dev)
				w.ExpectRefusal(err, server.CodeNoToken)
			})

			It("Given a child account connected to the parent, When it logs in with the parent's token, Then the login succeeds", func() {
				v, err := w.T.Connect(w.Ctx, server.AsUser(parent), parent, child)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.ParentID).To(Equal(parent))
				ver, err := w.Login(child, dev)
				Expect(err).NotTo(HaveOccurred())
				Expect(ver.Serial).To(Equal(dev.Serial()))
			})

			It("Given a child account whose own token was revoked, When it is connected to the parent, Then it logs in with the parent's token", w.Needs(harness.Activate, harness.Revoke), func() {
				own := w.NewDevice()
				w.Sponsor(child, own)
				_, err := w.Activate(child, own)
				Expect(err).NotTo(HaveOccurred())
				_, err = w.T.Revoke(w.Ctx, harness.Admin, own.Serial())
				Expect(err).NotTo(HaveOccurred())
				_, err = w.T.Connect(w.Ctx, server.AsUser(parent), parent, child)
				Expect(err).NotTo(HaveOccurred())
				ver, err := w.Login(child, dev)
				Expect(err).NotTo(HaveOccurred())
				Expect(ver.Serial).To(Equal(dev.Serial()), "the child logs in with the parent's token, not its revoked own")
			})

			It("Given connected accounts, When the parent enters the code the child just used, Then it is refused with otp_replayed: the token's steps are shared", func() {
				_, err := w.T.Connect(w.Ctx, server.AsUser(parent), parent, child)
				Expect(err).NotTo(HaveOccurred())
				code := dev.Press()
				_, err = w.T.Verify(w.Ctx, child, code)
				Expect(err).NotTo(HaveOccurred())
				_, err = w.T.Verify(w.Ctx, parent, code)
				w.ExpectRefusal(err, server.CodeOTPReplayed)
			})

			It("Given a connected child account, When it activates a token of its own, Then it is refused with action_unavailable", w.Needs(harness.Activate), func() {
				_, err := w.T.Connect(w.Ctx, server.AsUser(parent), parent, child)
				Expect(err).NotTo(HaveOccurred())
				own := w.NewDevice()
				w.Sponsor(child, own)
				_, err = w.Activate(child, own)
				w.ExpectRefusal(err, server.CodeActionUnavailable)
			})
		})

		DescribeTable("Given a child account whose e-mail or names differ from the parent's, When it is connected, Then it is refused with action_unavailable",
			func(differ func(*server.NewAccount)) {
				child := w.NewUser(same, differ)
				_, err := w.T.Connect(w.Ctx, server.AsUser(parent), parent, child)
				w.ExpectRefusal(err, server.CodeActionUnavailable)
				_, err = w.Login(child, dev)
				w.ExpectRefusal(err, server.CodeNoToken)
			},
			Entry("another e-mail", func(n *server.NewAccount) { n.Email = "someone.else@example.com" }),
			Entry("another first name", func(n *server.NewAccount) { n.FirstName += "x" }),
			Entry("a middle name the parent has not", func(n *server.NewAccount) { n.MiddleName += "B" }),
			Entry("another last name", func(n *server.NewAccount) { n.LastName += "x" }),
			Entry("the same name in other case", func(n *server.NewAccount) { n.FirstName = strings.ToUpper(n.FirstName) }),
		)

		It("Given a child account that holds a token of its own, When it is connected, Then it is refused with action_unavailable", w.Needs(harness.Activate), func() {
			child, own := w.NewUser(same), w.NewDevice()
			w.Sponsor(child, own)
			_, err := w.Activate(child, own)
			Expect(err).NotTo(HaveOccurred())
			_, err = w.T.Connect(w.Ctx, server.AsUser(parent), parent, child)
			w.ExpectRefusal(err, server.CodeActionUnavailable)
		})
	})
})
