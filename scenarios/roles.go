package scenarios

import (
	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

var _ = flow(func(w *harness.World) {
	Describe("Roles: the Organization and Application Administrators", Label("roles"), w.Needs(harness.Portal), func() {
		// member is a new account of org (a plain user unless edited).
		member := func(org string, edit ...func(*server.NewAccount)) string {
			GinkgoHelper()
			return w.NewUser(append([]func(*server.NewAccount){func(n *server.NewAccount) { n.Organization = org }}, edit...)...)
		}
		// orgAdmin is a new Organization Administrator of org.
		orgAdmin := func(org string) string {
			GinkgoHelper()
			return member(org, func(n *server.NewAccount) { n.Role = server.RoleOrgAdmin })
		}
		// termsApp is a new application, unique to the spec, with terms to
		// accept and nothing more: a password login opens it once they are.
		termsApp := func() string {
			GinkgoHelper()
			app := w.Unique("app-terms")
			Expect(w.T.CreateApplication(w.Ctx, harness.Admin, server.Application{ID: app, Name: "PIM", Terms: "The terms of PIM.",
				MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}})).To(Succeed())
			return app
		}
		// access is whether a password login of user opens app.
		access := func(user, app string) error {
			GinkgoHelper()
			ss, err := w.T.Login(w.Ctx, user, w.PasswordOf(user), "")
			Expect(err).NotTo(HaveOccurred())
			return w.T.Access(w.Ctx, ss.ID, app)
		}

		Describe("Terms and conditions", func() {
			It("Given an application with terms, When a user with neither administrator role accepts them, Then it is forbidden; When their Organization Administrator accepts them, Then the application opens for everyone of the organization, an account made later included, But not for another organization's users nor a user of none", func() {
				org, elsewhere := w.Organization(), w.Organization()
				app := termsApp()
				user, admin := member(org), orgAdmin(org)
				stranger, unaffiliated := member(elsewhere), w.NewUser()

				w.ExpectRefusal(w.T.AcceptTerms(w.Ctx, user, app), server.CodeForbidden)
				w.ExpectRefusal(access(user, app), server.CodeTermsNotAccepted)

				Expect(w.T.AcceptTerms(w.Ctx, admin, app)).To(Succeed())
				Expect(access(user, app)).To(Succeed())
				Expect(access(admin, app)).To(Succeed())
				Expect(access(member(org), app)).To(Succeed(), "an account made after the acceptance")
				w.ExpectRefusal(access(stranger, app), server.CodeTermsNotAccepted)
				w.ExpectRefusal(access(unaffiliated, app), server.CodeTermsNotAccepted)
			})

			It("Given an Application Administrator of one application, When they accept its terms, Then it opens for their organization, But accepting another application's terms is forbidden", func() {
				org := w.Organization()
				app, other := termsApp(), termsApp()
				appAdmin := member(org, func(n *server.NewAccount) { n.ApplicationAdmin = []string{app} })
				user := member(org)

				Expect(w.T.AcceptTerms(w.Ctx, appAdmin, app)).To(Succeed())
				Expect(access(user, app)).To(Succeed())
				w.ExpectRefusal(w.T.AcceptTerms(w.Ctx, appAdmin, other), server.CodeForbidden)
				w.ExpectRefusal(access(user, other), server.CodeTermsNotAccepted)
			})

			It("Given a token sponsored by an application whose terms are pending, When the user activates it, Then it is refused with action_unavailable until their own Organization Administrator accepts them: the user and another organization's administrator cannot", w.Needs(harness.Activate), func() {
				org := w.Organization()
				app := termsApp()
				user, admin, otherAdmin := member(org), orgAdmin(org), orgAdmin(w.Organization())
				dev := w.NewDevice()
				w.Sponsor(user, dev, func(sp *server.Sponsorship) { sp.ApplicationID = app })

				_, err := w.Activate(user, dev)
				w.ExpectRefusal(err, server.CodeActionUnavailable)
				w.ExpectRefusal(w.T.AcceptTerms(w.Ctx, user, app), server.CodeForbidden)
				Expect(w.T.AcceptTerms(w.Ctx, otherAdmin, app)).To(Succeed(), "for their own organization")
				_, err = w.Activate(user, dev)
				w.ExpectRefusal(err, server.CodeActionUnavailable)

				Expect(w.T.AcceptTerms(w.Ctx, admin, app)).To(Succeed())
				v, err := w.Activate(user, dev)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Status).To(Equal(server.StatusActive))
			})
		})

		Describe("The Organization Administrator on tokens", w.Needs(harness.Provision, harness.Inspect), func() {
			It("Given a token of their organization, When its Organization Administrator suspends it, Then only an administrator may re-enable it, which they do; And they resynchronise, renew and revoke it, the revocation sending the user a notice and a temporary password",
				w.Needs(harness.Verify, harness.Suspend, harness.Resync, harness.Expiry, harness.Revoke), func() {
					org := w.Organization()
					user, dev := w.ActiveMember(org)
					admin := server.AsOrgAdmin(orgAdmin(org))

					v, err := w.T.Suspend(w.Ctx, admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusSuspended))
					Expect(v.SuspendedBy).To(Equal(server.ActorAdmin), "the guide: \"suspended by an Administrator\", which the user cannot undo")
					_, err = w.T.Enable(w.Ctx, server.AsUser(user), dev.Serial())
					w.ExpectRefusal(err, server.CodeForbidden)
					v, err = w.T.Enable(w.Ctx, admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusActive))
					_, err = w.Login(user, dev)
					Expect(err).NotTo(HaveOccurred(), "re-enabled, the token logs in")

					// The codes of the next two steps: the one of now was
					// used by the login.
					p := dev.Spec().Period
					_, err = w.T.Resync(w.Ctx, admin, dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
					Expect(err).NotTo(HaveOccurred())
					expires := *w.Status(dev).ExpiresAt
					v, err = w.T.Renew(w.Ctx, admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.ExpiresAt).NotTo(BeNil())
					Expect(v.ExpiresAt.After(expires)).To(BeTrue(), "renewed: %s, was %s", v.ExpiresAt, expires)

					v, err = w.T.Revoke(w.Ctx, admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusRevoked))
					out := w.Outbox(user)
					Expect(len(out)).To(BeNumerically(">=", 2))
					Expect(out[len(out)-2:]).To(Equal([]string{"revocation_notice", "temporary_password"}))
				})

			DescribeTable("Given a token that is not of their organization, When an Organization Administrator resynchronises, suspends, re-enables, revokes or renews it, Then each is refused with forbidden and the token is as it was",
				func(whose string) {
					admin := server.AsOrgAdmin(orgAdmin(w.Organization()))
					var dev *harness.Device
					switch whose {
					case "another organization's":
						_, dev = w.ActiveMember(w.Organization())
					case "a user's of no organization":
						_, dev = w.ActiveUser()
					default:
						Fail("unknown owner " + whose)
					}
					before := w.Status(dev)
					p := dev.Spec().Period
					_, err := w.T.Resync(w.Ctx, admin, dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
					w.ExpectRefusal(err, server.CodeForbidden)
					_, err = w.T.Suspend(w.Ctx, admin, dev.Serial())
					w.ExpectRefusal(err, server.CodeForbidden)
					_, err = w.T.Revoke(w.Ctx, admin, dev.Serial())
					w.ExpectRefusal(err, server.CodeForbidden)
					_, err = w.T.Renew(w.Ctx, admin, dev.Serial())
					w.ExpectRefusal(err, server.CodeForbidden)
					Expect(w.Status(dev)).To(Equal(before))

					// Re-enabling needs a suspended token: an administrator
					// suspends it first.
					_, err = w.T.Suspend(w.Ctx, harness.Admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					suspended := w.Status(dev)
					_, err = w.T.Enable(w.Ctx, admin, dev.Serial())
					w.ExpectRefusal(err, server.CodeForbidden)
					Expect(w.Status(dev)).To(Equal(suspended))
				},
				Entry("another organization's", append(w.Needs(harness.Resync, harness.Suspend, harness.Revoke, harness.Expiry), "another organization's")...),
				Entry("a user's of no organization", append(w.Needs(harness.Resync, harness.Suspend, harness.Revoke, harness.Expiry), "a user's of no organization")...),
			)

			It("Given a token of their organization, When its Organization Administrator resets or approves it, Then each is refused with forbidden: those are the operator's", w.Needs(harness.Activate), func() {
				org := w.Organization()
				_, dev := w.ActiveMember(org)
				admin := server.AsOrgAdmin(orgAdmin(org))
				before := w.Status(dev)
				_, err := w.T.Reset(w.Ctx, admin, dev.Serial())
				w.ExpectRefusal(err, server.CodeForbidden)
				_, err = w.T.Approve(w.Ctx, admin, dev.Serial())
				w.ExpectRefusal(err, server.CodeForbidden)
				Expect(w.Status(dev)).To(Equal(before))
			})

			DescribeTable("Given a token of an organization, When someone who is not its Organization Administrator claims to act as one, Then it is refused with forbidden and the token is as it was",
				func(claimant func(org, owner string) string) {
					org := w.Organization()
					owner, dev := w.ActiveMember(org)
					claim := server.AsOrgAdmin(claimant(org, owner))
					before := w.Status(dev)
					_, err := w.T.Suspend(w.Ctx, claim, dev.Serial())
					w.ExpectRefusal(err, server.CodeForbidden)
					_, err = w.T.Revoke(w.Ctx, claim, dev.Serial())
					w.ExpectRefusal(err, server.CodeForbidden)
					Expect(w.Status(dev)).To(Equal(before))
				},
				Entry("a plain user of the organization", append(w.Needs(harness.Suspend, harness.Revoke), func(org, _ string) string { return member(org) })...),
				Entry("the token's owner", append(w.Needs(harness.Suspend, harness.Revoke), func(_, owner string) string { return owner })...),
				Entry("an account that does not exist", append(w.Needs(harness.Suspend, harness.Revoke), func(string, string) string { return w.Unique("nobody") })...),
				Entry("an operator_admin account of the organization", append(w.Needs(harness.Suspend, harness.Revoke), func(org, _ string) string {
					return member(org, func(n *server.NewAccount) { n.Role = server.RoleOperatorAdmin })
				})...),
			)

			It("Given tokens of two organizations and of a user of none, When the operator's administrator suspends, re-enables, resynchronises, renews and revokes each, Then every action is done", w.Needs(harness.Suspend, harness.Resync, harness.Expiry, harness.Revoke), func() {
				_, a := w.ActiveMember(w.Organization())
				_, b := w.ActiveMember(w.Organization())
				_, none := w.ActiveUser()
				for _, dev := range []*harness.Device{a, b, none} {
					v, err := w.T.Suspend(w.Ctx, harness.Admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusSuspended))
					v, err = w.T.Enable(w.Ctx, harness.Admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusActive))
					p := dev.Spec().Period
					_, err = w.T.Resync(w.Ctx, harness.Admin, dev.Serial(), dev.PressAt(p), dev.PressAt(2*p))
					Expect(err).NotTo(HaveOccurred())
					expires := *w.Status(dev).ExpiresAt
					v, err = w.T.Renew(w.Ctx, harness.Admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.ExpiresAt.After(expires)).To(BeTrue())
					v, err = w.T.Revoke(w.Ctx, harness.Admin, dev.Serial())
					Expect(err).NotTo(HaveOccurred())
					Expect(v.Status).To(Equal(server.StatusRevoked))
				}
			})
		})

		Describe("Accounts", func() {
			It("Given an Organization Administrator, When they create an account naming no organization, Then it is of theirs; But an account of another organization, an operator_admin account or their own user ID elsewhere is forbidden, and so is any account a user creates", func() {
				org := w.Organization()
				admin := server.AsOrgAdmin(orgAdmin(org))
				create := func(actor server.Actor, edit func(*server.NewAccount)) (server.AccountView, error) {
					GinkgoHelper()
					n := server.NewAccount{UserID: w.Unique("u"), Email: w.Unique("e") + "@example.com", FirstName: "Grace", LastName: "Hopper", Password: harness.Password}
					if edit != nil {
						edit(&n)
					}
					return w.T.CreateAccount(w.Ctx, actor, n)
				}

				v, err := create(admin, nil)
				Expect(err).NotTo(HaveOccurred())
				Expect(v.Organization).To(Equal(org))
				Expect(v.Role).To(Equal(server.RoleUser))
				v, err = create(admin, func(n *server.NewAccount) { n.Role = server.RoleOrgAdmin })
				Expect(err).NotTo(HaveOccurred(), "another Organization Administrator of their organization")
				Expect(v.Organization).To(Equal(org))

				elsewhere := w.Organization()
				_, err = create(admin, func(n *server.NewAccount) { n.Organization = elsewhere })
				w.ExpectRefusal(err, server.CodeForbidden)
				_, err = create(admin, func(n *server.NewAccount) { n.Role = server.RoleOperatorAdmin })
				w.ExpectRefusal(err, server.CodeForbidden)
				// Forbidden, not conflict: whether the user ID exists is
				// not theirs to learn elsewhere.
				_, err = create(admin, func(n *server.NewAccount) {
					n.UserID, n.Organization, n.Role = admin.ID, elsewhere, server.RoleOrgAdmin
				})
				w.ExpectRefusal(err, server.CodeForbidden)
				refused := w.Unique("u")
				_, err = create(server.AsUser(member(org)), func(n *server.NewAccount) { n.UserID = refused })
				w.ExpectRefusal(err, server.CodeForbidden)
				_, err = w.T.Account(w.Ctx, refused)
				w.ExpectRefusal(err, server.CodeNotFound)
			})

			It("Given an Organization Administrator, When they connect two accounts of their organization, Then it is done; But a pair with an account of another organization is forbidden", func() {
				org, elsewhere := w.Organization(), w.Organization()
				admin := server.AsOrgAdmin(orgAdmin(org))
				parent := member(org)
				pa, err := w.T.Account(w.Ctx, parent)
				Expect(err).NotTo(HaveOccurred())
				same := func(n *server.NewAccount) {
					n.Email, n.FirstName, n.MiddleName, n.LastName = pa.Email, pa.FirstName, pa.MiddleName, pa.LastName
				}

				outside := member(elsewhere, same)
				_, err = w.T.Connect(w.Ctx, admin, parent, outside)
				w.ExpectRefusal(err, server.CodeForbidden)
				foreignParent := member(elsewhere, same)
				child := member(org, same)
				_, err = w.T.Connect(w.Ctx, admin, foreignParent, child)
				w.ExpectRefusal(err, server.CodeForbidden)
				a, err := w.T.Account(w.Ctx, child)
				Expect(err).NotTo(HaveOccurred())
				Expect(a.ParentID).To(BeEmpty())

				a, err = w.T.Connect(w.Ctx, admin, parent, child)
				Expect(err).NotTo(HaveOccurred())
				Expect(a.ParentID).To(Equal(parent))
			})

			It("Given the operator's administrator, When they create an Organization Administrator or an Application Administrator with no organization, Then it is refused with bad_request, And an application that does not exist with not_found", func() {
				for _, edit := range []func(*server.NewAccount){
					func(n *server.NewAccount) { n.Role = server.RoleOrgAdmin },
					func(n *server.NewAccount) { n.ApplicationAdmin = []string{termsApp()} },
				} {
					n := server.NewAccount{UserID: w.Unique("u"), Email: w.Unique("e") + "@example.com", FirstName: "Grace", LastName: "Hopper", Password: harness.Password}
					edit(&n)
					_, err := w.T.CreateAccount(w.Ctx, harness.Admin, n)
					w.ExpectRefusal(err, server.CodeBadRequest)
				}
				n := server.NewAccount{UserID: w.Unique("u"), Email: w.Unique("e") + "@example.com", FirstName: "Grace", LastName: "Hopper", Password: harness.Password,
					Organization: w.Organization(), ApplicationAdmin: []string{w.Unique("no-such-app")}}
				_, err := w.T.CreateAccount(w.Ctx, harness.Admin, n)
				w.ExpectRefusal(err, server.CodeNotFound)
			})
		})
	})
})
