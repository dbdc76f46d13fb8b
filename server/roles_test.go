package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// in puts a new account in an organization, with a role.
func in(org string, role server.Role) func(*server.NewAccount) {
	return func(n *server.NewAccount) { n.Organization, n.Role = org, role }
}

// orgs is two organizations, each with an organization administrator and
// a user holding an active token, and a user in no organization.
type orgs struct {
	olga, gary     string // Acme's and Globex's organization administrators
	alice, bob     string // users of Acme and Globex
	nora           string // a user of no organization
	aliceD, bobD   *device
	noraD          *device
	olgaAs, garyAs server.Actor
}

func (f *fixture) orgs() orgs {
	f.t.Helper()
	var o orgs
	o.olga, o.gary = f.user(in("Acme", server.RoleOrgAdmin)), f.user(in("Globex", server.RoleOrgAdmin))
	o.olgaAs, o.garyAs = server.AsOrgAdmin(o.olga), server.AsOrgAdmin(o.gary)
	o.alice, o.aliceD = f.activeTokenOf(in("Acme", server.RoleUser))
	o.bob, o.bobD = f.activeTokenOf(in("Globex", server.RoleUser))
	o.nora, o.noraD = f.activeTokenOf()
	return o
}

// activeTokenOf is activeToken for an account made with mods.
func (f *fixture) activeTokenOf(mods ...func(*server.NewAccount)) (string, *device) {
	f.t.Helper()
	u, d := f.user(mods...), f.importToken()
	f.sponsor(u, d.serial)
	if _, err := f.activate(u, d); err != nil {
		f.t.Fatal(err)
	}
	f.nextStepOf(d)
	return u, d
}

// tokenActions are the token lifecycle's actions that take an Actor, each
// on serial; resync presses d.
func (f *fixture) tokenActions(d *device) map[string]func(server.Actor) error {
	return map[string]func(server.Actor) error{
		"resync": func(a server.Actor) error {
			f.nextStepOf(d)
			c1 := d.code(f.clk.Now())
			f.nextStepOf(d)
			return errOf(f.srv.Resync(f.ctx, a, d.serial, c1, d.code(f.clk.Now())))
		},
		"suspend": func(a server.Actor) error { return errOf(f.srv.Suspend(f.ctx, a, d.serial)) },
		"enable":  func(a server.Actor) error { return errOf(f.srv.Enable(f.ctx, a, d.serial)) },
		"renew":   func(a server.Actor) error { return errOf(f.srv.Renew(f.ctx, a, d.serial)) },
		"revoke":  func(a server.Actor) error { return errOf(f.srv.Revoke(f.ctx, a, d.serial)) },
		"reset":   func(a server.Actor) error { return errOf(f.srv.Reset(f.ctx, a, d.serial)) },
		"approve": func(a server.Actor) error { return errOf(f.srv.Approve(f.ctx, a, d.serial)) },
	}
}

// TestRoleOrgAdminActsOnTheirOrganization: an organization administrator
// suspends, re-enables, resyncs, renews and revokes the token of a user of
// their organization; their suspension is an administrator's (the user may
// not lift it) and their revocation sends the administrator's notice and a
// temporary password.
func TestRoleOrgAdminActsOnTheirOrganization(t *testing.T) {
	f := newFixture(t, server.Policy{})
	o := f.orgs()
	act := f.tokenActions(o.aliceD)
	f.ok(act["suspend"](o.olgaAs))
	if v := f.status(o.aliceD.serial); v.Status != server.StatusSuspended || v.SuspendedBy != server.ActorAdmin {
		t.Fatalf("suspended by the organization administrator: %+v", v)
	}
	f.expectCode(act["enable"](server.AsUser(o.alice)), server.CodeForbidden)
	f.ok(act["enable"](o.olgaAs))
	f.ok(act["resync"](o.olgaAs))
	f.ok(act["renew"](o.olgaAs))
	f.ok(act["revoke"](o.olgaAs))
	if got := strings.Join(kinds(f.notifications(o.alice)), ","); !strings.HasSuffix(got, "revocation_notice,temporary_password") {
		t.Fatalf("alice's outbox after the revocation: %s", got)
	}
	entries, err := f.srv.Audit(f.ctx, o.aliceD.serial, 0)
	f.ok(err)
	if last := entries[len(entries)-1]; last.Actor != "org_admin:"+o.olga || last.Action != "token.revoke" || last.Outcome != "ok" {
		t.Fatalf("audit %+v", last)
	}
	// Their own token they manage as its user, or as its organization's
	// administrator.
	olgaD := f.importToken()
	f.sponsor(o.olga, olgaD.serial)
	f.ok(errOf(f.activate(o.olga, olgaD)))
	f.ok(errOf(f.srv.Suspend(f.ctx, server.AsUser(o.olga), olgaD.serial)))
	f.ok(errOf(f.srv.Enable(f.ctx, o.olgaAs, olgaD.serial)))
}

// TestRoleOrgAdminOutsideTheirOrganization: every action an organization
// administrator takes on an account of another organization, or of none,
// is forbidden and changes nothing; so is an operator's job (reset,
// approve) on their own organization's token.
func TestRoleOrgAdminOutsideTheirOrganization(t *testing.T) {
	f := newFixture(t, server.Policy{})
	o := f.orgs()
	for _, victim := range []struct {
		name string
		d    *device
	}{{"another organization's", o.bobD}, {"no organization's", o.noraD}} {
		act := f.tokenActions(victim.d)
		for _, suspended := range []bool{false, true} {
			if suspended {
				f.ok(act["suspend"](f.admin))
			}
			for name, do := range act {
				before, _ := json.Marshal(f.status(victim.d.serial))
				f.expectCode(do(o.olgaAs), server.CodeForbidden)
				if after, _ := json.Marshal(f.status(victim.d.serial)); string(after) != string(before) {
					t.Fatalf("%s on %s token (suspended %v) changed it:\n%s\n%s", name, victim.name, suspended, before, after)
				}
			}
		}
		f.ok(act["enable"](f.admin))
	}
	// The operator's jobs stay the operator's, in their own organization too.
	act := f.tokenActions(o.aliceD)
	f.expectCode(act["reset"](o.olgaAs), server.CodeForbidden)
	f.expectCode(act["approve"](o.olgaAs), server.CodeForbidden)
	entries, err := f.srv.Audit(f.ctx, o.bobD.serial, 0)
	f.ok(err)
	refused := 0
	for _, e := range entries {
		if e.Actor == "org_admin:"+o.olga && e.Outcome == "forbidden" {
			refused++
		}
	}
	if refused != 14 {
		t.Errorf("%d forbidden entries by olga on bob's token, want 14", refused)
	}
}

// TestRoleOrgAdminClaimIsChecked: acting as an organization administrator
// needs an account with that role; a user who claims it, an account that
// does not exist, and an operator_admin account are all forbidden.
func TestRoleOrgAdminClaimIsChecked(t *testing.T) {
	f := newFixture(t, server.Policy{})
	o := f.orgs()
	colleague := f.user(in("Acme", server.RoleUser))
	staff := f.user(in("Acme", server.RoleOperatorAdmin))
	for _, claim := range []string{colleague, staff, "nobody"} {
		f.expectCode(errOf(f.srv.Suspend(f.ctx, server.AsOrgAdmin(claim), o.aliceD.serial)), server.CodeForbidden)
		f.expectCode(errOf(f.srv.CreateAccount(f.ctx, server.AsOrgAdmin(claim), server.NewAccount{UserID: "made-by-" + claim,
			Email: "m@example.com", FirstName: "M", LastName: "B", Password: "long password", Organization: "Acme"})), server.CodeForbidden)
	}
	// And a user acting as themselves on a colleague's token is no
	// administrator either, whatever their role.
	f.expectCode(errOf(f.srv.Suspend(f.ctx, server.AsUser(o.olga), o.aliceD.serial)), server.CodeForbidden)
	if v := f.status(o.aliceD.serial); v.Status != server.StatusActive {
		t.Fatalf("%+v", v)
	}
	// Both at once is no actor.
	f.expectCode(errOf(f.srv.Suspend(f.ctx, server.Actor{ID: o.olga, Admin: true, OrgAdmin: true}, o.aliceD.serial)), server.CodeBadRequest)
}

// TestRoleAdministratorActsForAnyone: the operator's administrator acts on
// every organization's tokens and on those of no organization.
func TestRoleAdministratorActsForAnyone(t *testing.T) {
	f := newFixture(t, server.Policy{})
	o := f.orgs()
	for _, d := range []*device{o.aliceD, o.bobD, o.noraD} {
		act := f.tokenActions(d)
		for _, name := range []string{"suspend", "enable", "resync", "renew", "reset", "revoke"} {
			f.ok(act[name](f.admin))
		}
	}
	f.ok(errOf(f.srv.CreateAccount(f.ctx, f.admin, server.NewAccount{UserID: "anywhere", Email: "a@example.com", FirstName: "A", LastName: "W",
		Password: "long password", Organization: "Initech", Role: server.RoleOrgAdmin})))
}

// TestRoleOrgAdminCreatesAccountsInTheirOrganization: an organization
// administrator creates users and administrators of their organization
// (the organization left out is theirs), never one of another
// organization, an operator administrator, or themselves elsewhere.
func TestRoleOrgAdminCreatesAccountsInTheirOrganization(t *testing.T) {
	f := newFixture(t, server.Policy{})
	o := f.orgs()
	n := func(id, org string, role server.Role) server.NewAccount {
		return server.NewAccount{UserID: id, Email: id + "@example.com", FirstName: "N", LastName: "A", Password: "long password", Organization: org, Role: role}
	}
	v, err := f.srv.CreateAccount(f.ctx, o.olgaAs, n("carol", "", ""))
	f.ok(err)
	if v.Organization != "Acme" || v.Role != server.RoleUser {
		t.Fatalf("created %+v, want a user of Acme", v)
	}
	f.ok(errOf(f.srv.CreateAccount(f.ctx, o.olgaAs, n("deputy", "Acme", server.RoleOrgAdmin))))
	for _, c := range []struct {
		name string
		n    server.NewAccount
	}{
		{"a user of another organization", n("spy", "Globex", server.RoleUser)},
		{"an administrator of another organization", n("spy", "Globex", server.RoleOrgAdmin)},
		{"an organization spelt in another case", n("spy", "acme", server.RoleUser)},
		{"an operator administrator", n("spy", "Acme", server.RoleOperatorAdmin)},
		{"themselves, in another organization", n(o.olga, "Globex", server.RoleOrgAdmin)},
		{"an existing account of another organization", n(o.bob, "Globex", server.RoleUser)},
	} {
		_, err := f.srv.CreateAccount(f.ctx, o.olgaAs, c.n)
		f.expectCode(err, server.CodeForbidden)
	}
	if _, err := f.srv.Account(f.ctx, "spy"); server.CodeOf(err) != server.CodeNotFound {
		t.Fatalf("a refused account exists: %v", err)
	}
	for id, org := range map[string]string{o.olga: "Acme", o.bob: "Globex"} {
		if a, err := f.srv.Account(f.ctx, id); err != nil || a.Organization != org {
			t.Fatalf("%s: %+v, %v; want organization %s", id, a, err, org)
		}
	}
	// A user creates no account.
	_, err = f.srv.CreateAccount(f.ctx, server.AsUser(o.alice), n("friend", "Acme", server.RoleUser))
	f.expectCode(err, server.CodeForbidden)
}

// TestRoleOrgAdminConnectsAccountsOfTheirOrganization: connecting a child
// account to a parent is the organization administrator's when both are of
// their organization.
func TestRoleOrgAdminConnectsAccountsOfTheirOrganization(t *testing.T) {
	f := newFixture(t, server.Policy{})
	o := f.orgs()
	same := func(org string) func(*server.NewAccount) {
		return func(n *server.NewAccount) {
			a, _ := f.srv.Account(f.ctx, map[string]string{"Acme": o.alice, "Globex": o.bob}[org])
			n.Email, n.FirstName, n.LastName, n.Organization = a.Email, a.FirstName, a.LastName, org
		}
	}
	aliceChild, bobChild := f.user(same("Acme")), f.user(same("Globex"))
	f.expectCode(errOf(f.srv.Connect(f.ctx, o.olgaAs, o.bob, bobChild)), server.CodeForbidden)
	f.expectCode(errOf(f.srv.Connect(f.ctx, o.olgaAs, o.alice, bobChild)), server.CodeForbidden)
	if a, _ := f.srv.Account(f.ctx, bobChild); a.ParentID != "" {
		t.Fatalf("connected: %+v", a)
	}
	v, err := f.srv.Connect(f.ctx, o.olgaAs, o.alice, aliceChild)
	f.ok(err)
	if v.ParentID != o.alice {
		t.Fatalf("%+v", v)
	}
}

// TestRoleTermsNeedTheGuidesRole: accepting an application's terms needs
// the Organization Administrator role or the Application Administrator role
// for that application ("You must have the MAG Organization Administrator
// role or the Application Administrator role for the application that is
// pending Terms and Conditions acceptance"); the acceptance is the
// organization's ("no one in your organization can access the PIM
// application until terms and conditions are accepted").
func TestRoleTermsNeedTheGuidesRole(t *testing.T) {
	f := newFixture(t, server.Policy{})
	for _, id := range []string{"pim", "bscp"} {
		f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: id, Name: id, Terms: "Be nice.",
			MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}))
	}
	o := f.orgs()
	appAdmin := f.user(in("Globex", server.RoleUser), func(n *server.NewAccount) { n.ApplicationAdmin = []string{"pim"} })
	session := func(u string) string {
		ss, err := f.srv.Login(f.ctx, u, "correct horse battery", "")
		f.ok(err)
		return ss.ID
	}
	alice, bob, nora := session(o.alice), session(o.bob), session(o.nora)

	// A user may not accept; nothing is accepted.
	for _, u := range []string{o.alice, o.nora} {
		f.expectCode(f.srv.AcceptTerms(f.ctx, u, "pim"), server.CodeForbidden)
	}
	f.expectCode(f.srv.AcceptTerms(f.ctx, appAdmin, "bscp"), server.CodeForbidden)
	for _, ss := range []string{alice, bob, nora} {
		f.expectCode(f.srv.Access(f.ctx, ss, "pim"), server.CodeTermsNotAccepted)
		f.expectCode(f.srv.Access(f.ctx, ss, "bscp"), server.CodeTermsNotAccepted)
	}

	// Acme's organization administrator accepts for Acme.
	f.ok(f.srv.AcceptTerms(f.ctx, o.olga, "pim"))
	f.ok(f.srv.Access(f.ctx, alice, "pim"))
	f.expectCode(f.srv.Access(f.ctx, alice, "bscp"), server.CodeTermsNotAccepted)
	f.expectCode(f.srv.Access(f.ctx, bob, "pim"), server.CodeTermsNotAccepted)
	// Globex's Application Administrator of pim accepts pim for Globex.
	f.ok(f.srv.AcceptTerms(f.ctx, appAdmin, "pim"))
	f.ok(f.srv.Access(f.ctx, bob, "pim"))
	f.expectCode(f.srv.Access(f.ctx, bob, "bscp"), server.CodeTermsNotAccepted)
	f.expectCode(f.srv.Access(f.ctx, nora, "pim"), server.CodeTermsNotAccepted)
	// An account created later in the organization finds them accepted.
	late := f.user(in("Acme", server.RoleUser))
	f.ok(f.srv.Access(f.ctx, session(late), "pim"))
	f.expectCode(f.srv.AcceptTerms(f.ctx, o.olga, "no-such-app"), server.CodeNotFound)
	f.expectCode(f.srv.AcceptTerms(f.ctx, "nobody", "pim"), server.CodeNotFound)

	entries, err := f.srv.Audit(f.ctx, "pim", 0)
	f.ok(err)
	var got []string
	for _, e := range entries {
		if e.Action == "terms.accept" {
			got = append(got, e.Actor+"="+e.Outcome)
		}
	}
	if want := fmt.Sprintf("%s=forbidden,%s=forbidden,%s=ok,%s=ok,nobody=not_found", o.alice, o.nora, o.olga, appAdmin); strings.Join(got, ",") != want {
		t.Errorf("audit of pim's terms: %v, want %s", got, want)
	}
}

// TestRoleTermsGateTheSponsoredActivation: a token sponsored by an
// application activates once the user's organization accepted its terms.
func TestRoleTermsGateTheSponsoredActivation(t *testing.T) {
	f := newFixture(t, server.Policy{})
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "pim", Name: "PIM", Terms: "Be nice.",
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 2}}))
	admin := f.user(in("Acme", server.RoleOrgAdmin))
	u, d := f.user(in("Acme", server.RoleUser)), f.importToken()
	f.sponsor(u, d.serial, func(s *server.Sponsorship) { s.ApplicationID = "pim" })
	_, err := f.activate(u, d)
	f.expectCode(err, server.CodeActionUnavailable)
	f.expectCode(f.srv.AcceptTerms(f.ctx, u, "pim"), server.CodeForbidden)
	f.ok(f.srv.AcceptTerms(f.ctx, admin, "pim"))
	f.nextStep()
	f.ok(errOf(f.activate(u, d)))
}

// TestRoleAccountFieldsAreValidated: an organization administrator and an
// application administrator belong to an organization; an organization
// name is short and printable; an application administrator names
// applications that exist, once each. Each refusal creates nothing.
func TestRoleAccountFieldsAreValidated(t *testing.T) {
	f := newFixture(t, server.Policy{})
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: "pim", Name: "PIM", Terms: "Be nice.",
		MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}))
	base := func(mod func(*server.NewAccount)) server.NewAccount {
		n := server.NewAccount{UserID: "x", Email: "x@example.com", FirstName: "X", LastName: "Y", Password: "long password"}
		mod(&n)
		return n
	}
	for _, c := range []struct {
		name string
		mod  func(*server.NewAccount)
		code server.Code
	}{
		{"an organization administrator of no organization", func(n *server.NewAccount) { n.Role = server.RoleOrgAdmin }, server.CodeBadRequest},
		{"an application administrator of no organization", func(n *server.NewAccount) { n.ApplicationAdmin = []string{"pim"} }, server.CodeBadRequest},
		{"an organization of 129 bytes", func(n *server.NewAccount) { n.Organization = strings.Repeat("o", 129) }, server.CodeBadRequest},
		{"an organization with a newline", func(n *server.NewAccount) { n.Organization = "Acme\nInc" }, server.CodeBadRequest},
		{"an organization that is not UTF-8", func(n *server.NewAccount) { n.Organization = "Acme\xff" }, server.CodeBadRequest},
		{"an organization with spaces around it", func(n *server.NewAccount) { n.Organization = " Acme" }, server.CodeBadRequest},
		{"an application twice", func(n *server.NewAccount) { n.Organization, n.ApplicationAdmin = "Acme", []string{"pim", "pim"} }, server.CodeBadRequest},
		{"a malformed application", func(n *server.NewAccount) { n.Organization, n.ApplicationAdmin = "Acme", []string{"p m"} }, server.CodeBadRequest},
		{"an application that does not exist", func(n *server.NewAccount) { n.Organization, n.ApplicationAdmin = "Acme", []string{"nope"} }, server.CodeNotFound},
	} {
		_, err := f.srv.CreateAccount(f.ctx, f.admin, base(c.mod))
		f.expectCode(err, c.code)
		if _, err := f.srv.Account(f.ctx, "x"); server.CodeOf(err) != server.CodeNotFound {
			t.Fatalf("%s: the refused account exists (%v)", c.name, err)
		}
	}
	v, err := f.srv.CreateAccount(f.ctx, f.admin, base(func(n *server.NewAccount) {
		n.Organization, n.ApplicationAdmin = "Société Générale", []string{"pim"}
	}))
	f.ok(err)
	if v.Organization != "Société Générale" || len(v.ApplicationAdmin) != 1 || v.ApplicationAdmin[0] != "pim" {
		t.Fatalf("%+v", v)
	}
}

// TestRoleOrgAdminDoesNoOperatorJob: the inventory, sponsorships, licence
// keys, applications and identity proofing stay the operator's, and a
// token on no account (sponsored to a user of their organization, not yet
// activated) is no organization's.
func TestRoleOrgAdminDoesNoOperatorJob(t *testing.T) {
	f := newFixture(t, server.Policy{})
	o := f.orgs()
	pending := f.importToken()
	f.sponsor(o.alice, pending.serial)
	seed := server.Seed{Serial: "ORG1", Kind: server.TOTP, Algorithm: server.SHA1, Digits: 8, Period: 30 * time.Second, Secret: make([]byte, 20)}
	for what, err := range map[string]error{
		"import":                  errOf(f.srv.ImportSeeds(f.ctx, o.olgaAs, []server.Seed{seed})),
		"sponsor":                 errOf(f.srv.Sponsor(f.ctx, o.olgaAs, server.Sponsorship{UserID: o.alice, Serial: pending.serial})),
		"sell a licence key":      errOf(f.srv.CreateLicenceKey(f.ctx, o.olgaAs, pending.serial, 2)),
		"register an app":         f.srv.CreateApplication(f.ctx, o.olgaAs, server.Application{ID: "own", Name: "Own", MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}),
		"record proofing":         errOf(f.srv.RecordProofing(f.ctx, o.olgaAs, o.alice, server.ProofingPassed)),
		"revoke a pending token":  errOf(f.srv.Revoke(f.ctx, o.olgaAs, pending.serial)),
		"suspend a pending token": errOf(f.srv.Suspend(f.ctx, o.olgaAs, pending.serial)),
	} {
		var e *server.Error
		if !errors.As(err, &e) || e.Code != server.CodeForbidden {
			t.Errorf("%s by an organization administrator: %v, want forbidden", what, err)
			continue
		}
		f.expectCode(err, server.CodeForbidden)
	}
	if v := f.status(pending.serial); v.Status != server.StatusPendingActivation {
		t.Fatalf("the pending token: %+v", v)
	}
	if a, _ := f.srv.Account(f.ctx, o.alice); a.Proofed {
		t.Fatal("alice was proofed by her organization administrator")
	}
}
