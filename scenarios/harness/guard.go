package harness

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best unqualified

	"github.com/tokenlab/tokenlab/server"
)

// methodRoles are the roles each of Target's methods belongs to: a spec
// may call a method when it declared one of them. Now belongs to none (a
// token's codes need the time on every target). Reset unblocks both
// activation and resync, so either declaration allows it; CreateAccount
// makes the accounts of both enrolment and the portal.
var methodRoles = map[string][]Role{
	"ImportSeedFile":   {Activate},
	"Sponsor":          {Activate},
	"CreateLicenceKey": {Activate},
	"RedeemLicenceKey": {Activate},
	"Activate":         {Activate},
	"Approve":          {Activate},
	"Reset":            {Activate, Resync},
	"CreateAccount":    {Activate, Portal},

	"Account":           {Portal},
	"Accounts":          {Portal},
	"Connect":           {Portal},
	"CreateApplication": {Portal},
	"AcceptTerms":       {Portal},
	"ChangePassword":    {Portal},
	"Login":             {Portal},
	"Session":           {Portal},
	"Elevate":           {Portal},
	"Access":            {Portal},
	"Logout":            {Portal},

	"AddPhone":               {Phone},
	"VerifyPhone":            {Phone},
	"RemovePhone":            {Phone},
	"Phones":                 {Phone},
	"SendPhoneCode":          {Phone},
	"LoginWithPhone":         {Phone},
	"ElevateWithPhone":       {Phone},
	"RenewPhoneSubscription": {Phone},

	"RecordProofing":    {Proofing},
	"EnterProofingCode": {Proofing},
	"Proofing":          {Proofing},

	"Verify":  {Verify},
	"Resync":  {Resync},
	"Suspend": {Suspend},
	"Enable":  {Suspend},
	"Revoke":  {Revoke},
	"Renew":   {Expiry},

	"Token":         {Inspect},
	"Tokens":        {Inspect},
	"Policy":        {Inspect},
	"Notifications": {Inspect},
	"Audit":         {Inspect},

	"Advance": {Clock},
	"Sweep":   {Clock},
	"Now":     nil,
}

// guard is the Target a spec sees (World.T): it forwards every call to the
// target, after checking that the spec declared a role the method belongs
// to. An undeclared role fails the spec on every target, a tokenlab one
// included, so a spec that would fail on a minimal target (pam_oath over
// RADIUS) instead of skipping is caught by make test.
type guard struct {
	w *World
	t Target
}

var _ Target = (*guard)(nil)

// need fails the spec unless it declared one of the method's roles.
func (g *guard) need(method string) {
	GinkgoHelper()
	roles := methodRoles[method]
	for _, r := range roles {
		if g.w.needs.Has(r) {
			return
		}
	}
	if len(roles) > 0 {
		g.w.fail(undeclared(method, roles))
	}
}

// undeclared is the failure of a call whose role the spec did not declare.
func undeclared(method string, roles []Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = "harness." + goName(r)
	}
	return fmt.Sprintf("%s needs the %s role, which this spec does not declare: add w.Needs(%s) to the spec or its Describe, so that a target without the role skips the spec instead of failing it",
		method, roles[0], strings.Join(names, " or "))
}

// goName is a role's constant in this package.
func goName(r Role) string {
	var b strings.Builder
	for part := range strings.SplitSeq(string(r), "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func (g *guard) ImportSeedFile(ctx context.Context, actor server.Actor, data []byte, opts server.ImportOptions) ([]string, error) {
	GinkgoHelper()
	g.need("ImportSeedFile")
	return g.t.ImportSeedFile(ctx, actor, data, opts)
}

func (g *guard) Sponsor(ctx context.Context, actor server.Actor, sp server.Sponsorship) (server.Sponsorship, error) {
	GinkgoHelper()
	g.need("Sponsor")
	return g.t.Sponsor(ctx, actor, sp)
}

func (g *guard) CreateLicenceKey(ctx context.Context, actor server.Actor, serial string, level server.Level) (string, error) {
	GinkgoHelper()
	g.need("CreateLicenceKey")
	return g.t.CreateLicenceKey(ctx, actor, serial, level)
}

func (g *guard) RedeemLicenceKey(ctx context.Context, userID, key string) error {
	g.need("RedeemLicenceKey")
	return g.t.RedeemLicenceKey(ctx, userID, key)
}

func (g *guard) CreateAccount(ctx context.Context, actor server.Actor, n server.NewAccount) (server.AccountView, error) {
	GinkgoHelper()
	g.need("CreateAccount")
	return g.t.CreateAccount(ctx, actor, n)
}

func (g *guard) Account(ctx context.Context, userID string) (server.AccountView, error) {
	GinkgoHelper()
	g.need("Account")
	return g.t.Account(ctx, userID)
}

func (g *guard) Accounts(ctx context.Context) ([]server.AccountView, error) {
	GinkgoHelper()
	g.need("Accounts")
	return g.t.Accounts(ctx)
}

func (g *guard) Connect(ctx context.Context, actor server.Actor, parentID, childID string) (server.AccountView, error) {
	GinkgoHelper()
	g.need("Connect")
	return g.t.Connect(ctx, actor, parentID, childID)
}

func (g *guard) CreateApplication(ctx context.Context, actor server.Actor, app server.Application) error {
	g.need("CreateApplication")
	return g.t.CreateApplication(ctx, actor, app)
}

func (g *guard) AcceptTerms(ctx context.Context, userID, appID string) error {
	g.need("AcceptTerms")
	return g.t.AcceptTerms(ctx, userID, appID)
}

func (g *guard) ChangePassword(ctx context.Context, userID, current, next string) error {
	g.need("ChangePassword")
	return g.t.ChangePassword(ctx, userID, current, next)
}

func (g *guard) Activate(ctx context.Context, userID, serial, otp1, otp2 string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Activate")
	return g.t.Activate(ctx, userID, serial, otp1, otp2)
}

func (g *guard) Verify(ctx context.Context, userID, otp string) (server.Verification, error) {
	GinkgoHelper()
	g.need("Verify")
	return g.t.Verify(ctx, userID, otp)
}

func (g *guard) Token(ctx context.Context, serial string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Token")
	return g.t.Token(ctx, serial)
}

func (g *guard) Tokens(ctx context.Context, f server.TokenFilter) ([]server.TokenView, error) {
	GinkgoHelper()
	g.need("Tokens")
	return g.t.Tokens(ctx, f)
}

func (g *guard) Resync(ctx context.Context, actor server.Actor, serial, otp1, otp2 string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Resync")
	return g.t.Resync(ctx, actor, serial, otp1, otp2)
}

func (g *guard) Suspend(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Suspend")
	return g.t.Suspend(ctx, actor, serial)
}

func (g *guard) Enable(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Enable")
	return g.t.Enable(ctx, actor, serial)
}

func (g *guard) Revoke(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Revoke")
	return g.t.Revoke(ctx, actor, serial)
}

func (g *guard) Renew(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Renew")
	return g.t.Renew(ctx, actor, serial)
}

func (g *guard) Reset(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Reset")
	return g.t.Reset(ctx, actor, serial)
}

func (g *guard) Approve(ctx context.Context, actor server.Actor, serial string) (server.TokenView, error) {
	GinkgoHelper()
	g.need("Approve")
	return g.t.Approve(ctx, actor, serial)
}

func (g *guard) Login(ctx context.Context, userID, password, otp string) (server.Session, error) {
	GinkgoHelper()
	g.need("Login")
	return g.t.Login(ctx, userID, password, otp)
}

func (g *guard) Session(ctx context.Context, id string) (server.Session, error) {
	GinkgoHelper()
	g.need("Session")
	return g.t.Session(ctx, id)
}

func (g *guard) Elevate(ctx context.Context, id, otp string) (server.Session, error) {
	GinkgoHelper()
	g.need("Elevate")
	return g.t.Elevate(ctx, id, otp)
}

func (g *guard) Access(ctx context.Context, id, appID string) error {
	g.need("Access")
	return g.t.Access(ctx, id, appID)
}

func (g *guard) Logout(ctx context.Context, id string) error {
	g.need("Logout")
	return g.t.Logout(ctx, id)
}

func (g *guard) AddPhone(ctx context.Context, userID, number, method, sessionID string) (server.PhoneView, error) {
	g.need("AddPhone")
	return g.t.AddPhone(ctx, userID, number, method, sessionID)
}

func (g *guard) VerifyPhone(ctx context.Context, userID, number, code string) (server.PhoneView, error) {
	g.need("VerifyPhone")
	return g.t.VerifyPhone(ctx, userID, number, code)
}

func (g *guard) RemovePhone(ctx context.Context, userID, number, sessionID string) error {
	g.need("RemovePhone")
	return g.t.RemovePhone(ctx, userID, number, sessionID)
}

func (g *guard) Phones(ctx context.Context, userID string) (server.PhonesView, error) {
	g.need("Phones")
	return g.t.Phones(ctx, userID)
}

func (g *guard) SendPhoneCode(ctx context.Context, userID, number string) (server.PhoneCodeSent, error) {
	g.need("SendPhoneCode")
	return g.t.SendPhoneCode(ctx, userID, number)
}

func (g *guard) LoginWithPhone(ctx context.Context, userID, password, number, code string) (server.Session, error) {
	g.need("LoginWithPhone")
	return g.t.LoginWithPhone(ctx, userID, password, number, code)
}

func (g *guard) ElevateWithPhone(ctx context.Context, sessionID, number, code string) (server.Session, error) {
	g.need("ElevateWithPhone")
	return g.t.ElevateWithPhone(ctx, sessionID, number, code)
}

func (g *guard) RenewPhoneSubscription(ctx context.Context, actor server.Actor, userID string) (server.PhonesView, error) {
	g.need("RenewPhoneSubscription")
	return g.t.RenewPhoneSubscription(ctx, actor, userID)
}

func (g *guard) RecordProofing(ctx context.Context, actor server.Actor, userID, outcome string) (server.ProofingView, error) {
	g.need("RecordProofing")
	return g.t.RecordProofing(ctx, actor, userID, outcome)
}

func (g *guard) EnterProofingCode(ctx context.Context, userID, code string) (server.ProofingView, error) {
	g.need("EnterProofingCode")
	return g.t.EnterProofingCode(ctx, userID, code)
}

func (g *guard) Proofing(ctx context.Context, userID string) (server.ProofingView, error) {
	g.need("Proofing")
	return g.t.Proofing(ctx, userID)
}

func (g *guard) Now(ctx context.Context) (time.Time, error) {
	return g.t.Now(ctx)
}

func (g *guard) Policy(ctx context.Context) (server.Policy, error) {
	GinkgoHelper()
	g.need("Policy")
	return g.t.Policy(ctx)
}

func (g *guard) Notifications(ctx context.Context, userID string) ([]server.Notification, error) {
	GinkgoHelper()
	g.need("Notifications")
	return g.t.Notifications(ctx, userID)
}

func (g *guard) Audit(ctx context.Context, target string, limit int) ([]server.AuditEntry, error) {
	GinkgoHelper()
	g.need("Audit")
	return g.t.Audit(ctx, target, limit)
}

func (g *guard) Sweep(ctx context.Context) (server.SweepReport, error) {
	GinkgoHelper()
	g.need("Sweep")
	return g.t.Sweep(ctx)
}

func (g *guard) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	GinkgoHelper()
	g.need("Advance")
	return g.t.Advance(ctx, d)
}
