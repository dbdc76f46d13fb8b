package scenarios

import (
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	Describe("The temporary password", Label("password"), w.Needs(harness.Provision, harness.Revoke, harness.Portal, harness.Inspect), func() {
		// dashboard is an application a password login opens, unique to
		// the spec: what a temporary password keeps closed is any
		// application, not only those that need a token.
		var dashboard string
		BeforeEach(func() {
			dashboard = w.Unique("app-dashboard")
			Expect(w.T.CreateApplication(w.Ctx, harness.Admin, server.Application{ID: dashboard, Name: "Dashboard",
				MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}})).To(Succeed())
		})

		// temporaryPassword is the System-Generated Password of the user's
		// newest e-mail that carries one, as the user copies it from there.
		temporaryPassword := func(user string) string {
			GinkgoHelper()
			ns, err := w.T.Notifications(w.Ctx, user)
			Expect(err).NotTo(HaveOccurred())
			for i := len(ns) - 1; i >= 0; i-- {
				if ns[i].Kind == server.NotificationTemporaryPassword {
					// The password ends the body, after the last ": ".
					body := ns[i].Body
					temp := body[strings.LastIndex(body, ": ")+2:]
					Expect(temp).NotTo(BeEmpty(), "no password in %q", body)
					return temp
				}
			}
			Fail("no temporary_password e-mail for " + user)
			return ""
		}

		// revokedUser is a user whose token the user revoked: their
		// password is now the temporary one of the e-mail.
		revokedUser := func() (user, temp string) {
			GinkgoHelper()
			user, dev := w.ActiveUser()
			_, err := w.T.Revoke(w.Ctx, server.AsUser(user), dev.Serial())
			Expect(err).NotTo(HaveOccurred())
			return user, temporaryPassword(user)
		}

		// loginWithTemporary logs in with the temporary password, which the
		// session says must be changed.
		loginWithTemporary := func(user, temp string) server.Session {
			GinkgoHelper()
			ss, err := w.T.Login(w.Ctx, user, temp, "")
			Expect(err).NotTo(HaveOccurred())
			Expect(ss.MustChangePassword).To(BeTrue())
			return ss
		}

		DescribeTable("Given a token revoked by someone the guide names, When its user logs in with the temporary password from the e-mail, Then every application refuses the session with password_change_required until they choose a new permanent password, And then the same session opens it, the temporary password no longer logs in and the new one does",
			func(by string) {
				var (
					user string
					dev  *harness.Device
					who  server.Actor
				)
				switch by {
				case "the user":
					user, dev = w.ActiveUser()
					who = server.AsUser(user)
				case "an administrator":
					user, dev = w.ActiveUser()
					who = harness.Admin
				case "their Organization Administrator":
					org := w.Organization()
					user, dev = w.ActiveMember(org)
					who = server.AsOrgAdmin(w.NewUser(func(n *server.NewAccount) { n.Organization, n.Role = org, server.RoleOrgAdmin }))
				default:
					Fail("unknown revoker " + by)
				}
				_, err := w.T.Revoke(w.Ctx, who, dev.Serial())
				Expect(err).NotTo(HaveOccurred())
				out := w.Outbox(user)
				Expect(out).NotTo(BeEmpty())
				if by == "the user" {
					Expect(out[len(out)-1]).To(Equal("temporary_password"))
					Expect(out).NotTo(ContainElement("revocation_notice"), "a user who revokes their own token gets no notice of it")
				} else {
					// "If an administrator does revoke your OTP Hardware
					// Token, you receive an email notification, and your
					// permanent password will be reset."
					Expect(len(out)).To(BeNumerically(">=", 2))
					Expect(out[len(out)-2:]).To(Equal([]string{"revocation_notice", "temporary_password"}))
				}
				temp := temporaryPassword(user)

				ss := loginWithTemporary(user, temp)
				w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, dashboard), server.CodePasswordChangeRequired)
				got, err := w.T.Session(w.Ctx, ss.ID)
				Expect(err).NotTo(HaveOccurred())
				Expect(got.MustChangePassword).To(BeTrue())

				const permanent = "a new permanent password"
				Expect(w.T.ChangePassword(w.Ctx, user, temp, permanent)).To(Succeed())
				Expect(w.T.Access(w.Ctx, ss.ID, dashboard)).To(Succeed(), "the change lifts the refusal for the session already open")
				got, err = w.T.Session(w.Ctx, ss.ID)
				Expect(err).NotTo(HaveOccurred())
				Expect(got.MustChangePassword).To(BeFalse())

				_, err = w.T.Login(w.Ctx, user, temp, "")
				w.ExpectRefusal(err, server.CodeCredentialsInvalid)
				again, err := w.T.Login(w.Ctx, user, permanent, "")
				Expect(err).NotTo(HaveOccurred())
				Expect(again.MustChangePassword).To(BeFalse())
				Expect(w.T.Access(w.Ctx, again.ID, dashboard)).To(Succeed())
			},
			Entry("the user", "the user"),
			Entry("an administrator", "an administrator"),
			Entry("their Organization Administrator", "their Organization Administrator"),
		)

		It("Given a login with the temporary password, When the user logs out without changing it and logs in again, Then the new session must still change it: password_change_required", func() {
			user, temp := revokedUser()
			ss := loginWithTemporary(user, temp)
			Expect(w.T.Logout(w.Ctx, ss.ID)).To(Succeed())
			again := loginWithTemporary(user, temp)
			w.ExpectRefusal(w.T.Access(w.Ctx, again.ID, dashboard), server.CodePasswordChangeRequired)
		})

		It("Given a login with the temporary password, When the user chooses the temporary password again, one too short or one longer than 72 bytes, Then each is refused with password_rejected, And the temporary password stays the one that logs in", func() {
			user, temp := revokedUser()
			for _, next := range []string{temp, "short", strings.Repeat("x", 73)} {
				w.ExpectRefusal(w.T.ChangePassword(w.Ctx, user, temp, next), server.CodePasswordRejected)
			}
			ss := loginWithTemporary(user, temp)
			w.ExpectRefusal(w.T.Access(w.Ctx, ss.ID, dashboard), server.CodePasswordChangeRequired)
		})

		It("Given a user with a temporary password, When they change it giving their old permanent password or another user's, Then it is refused with credentials_invalid, And the other user still logs in with theirs", func() {
			user, temp := revokedUser()
			const theirs = "the other user's own password"
			other := w.NewUser(func(n *server.NewAccount) { n.Password = theirs })
			w.ExpectRefusal(w.T.ChangePassword(w.Ctx, user, w.PasswordOf(user), "a new permanent password"), server.CodeCredentialsInvalid)
			w.ExpectRefusal(w.T.ChangePassword(w.Ctx, user, theirs, "a new permanent password"), server.CodeCredentialsInvalid)
			_, err := w.T.Login(w.Ctx, other, theirs, "")
			Expect(err).NotTo(HaveOccurred())
			loginWithTemporary(user, temp)
		})

		It("Given the policy's shortest password, When the user chooses one a character shorter, Then it is refused with password_rejected, And one of exactly that length is taken", func() {
			user, temp := revokedUser()
			p, err := w.T.Policy(w.Ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(p.PasswordMinLength).To(BeNumerically(">", 1))
			long := strings.Repeat("Pa5sw0rd-", p.PasswordMinLength)
			w.ExpectRefusal(w.T.ChangePassword(w.Ctx, user, temp, long[:p.PasswordMinLength-1]), server.CodePasswordRejected)
			Expect(w.T.ChangePassword(w.Ctx, user, temp, long[:p.PasswordMinLength])).To(Succeed())
			ss, err := w.T.Login(w.Ctx, user, long[:p.PasswordMinLength], "")
			Expect(err).NotTo(HaveOccurred())
			Expect(ss.MustChangePassword).To(BeFalse())
		})
	})
})
