package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// dbSize is the size of the database and its WAL in dir.
func dbSize(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, name := range []string{sqlitestore.FileName, sqlitestore.FileName + "-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// hugeID is 900 KiB of letters: a user ID, serial or key no one has, and
// that no rule allows.
var hugeID = strings.Repeat("a", 900<<10)

// TestMalformedIDsAreRefusedBeforeAnythingIsWritten: every entry point of
// the Go API refuses an identifier that is too long or holds characters
// no identifier has with bad_request, before its transaction — no audit
// entry, no growth of the database (docs/lifecycle.md, “Identifiers”).
// A 900 KiB user ID on a refused request used to grow it by megabytes.
func TestMalformedIDsAreRefusedBeforeAnythingIsWritten(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u, d := f.activeToken()
	admin := f.admin
	ctx := f.ctx
	_ = f.srv.CreateApplication(ctx, admin, server.Application{ID: "app", Name: "App", MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}})
	sess, err := f.srv.Login(ctx, u, "correct horse battery", "")
	f.ok(err)
	auditBefore, err := f.srv.Audit(ctx, "", 0)
	f.ok(err)
	sizeBefore := dbSize(t, f.dir)

	for _, bad := range []string{hugeID, strings.Repeat("b", 129), "john doe", "a/b", "é", "a\x00b"} {
		calls := map[string]error{
			"Verify":                errOf(f.srv.Verify(ctx, bad, "12345678")),
			"Login":                 errOf(f.srv.Login(ctx, bad, "correct horse battery", "")),
			"Activate user":         errOf(f.srv.Activate(ctx, bad, d.serial, "12345678", "12345678")),
			"Activate serial":       errOf(f.srv.Activate(ctx, u, bad, "12345678", "12345678")),
			"Account":               errOf(f.srv.Account(ctx, bad)),
			"Connect parent":        errOf(f.srv.Connect(ctx, admin, bad, u)),
			"Connect child":         errOf(f.srv.Connect(ctx, admin, u, bad)),
			"AcceptTerms user":      f.srv.AcceptTerms(ctx, bad, "app"),
			"AcceptTerms app":       f.srv.AcceptTerms(ctx, u, bad),
			"ChangePassword":        f.srv.ChangePassword(ctx, bad, "correct horse battery", "another long one"),
			"Token":                 errOf(f.srv.Token(ctx, bad)),
			"Tokens owner":          errOf(f.srv.Tokens(ctx, server.TokenFilter{OwnerID: bad})),
			"Resync":                errOf(f.srv.Resync(ctx, admin, bad, "12345678", "12345678")),
			"Suspend":               errOf(f.srv.Suspend(ctx, admin, bad)),
			"Suspend as user":       errOf(f.srv.Suspend(ctx, server.AsUser(bad), d.serial)),
			"Enable":                errOf(f.srv.Enable(ctx, admin, bad)),
			"Revoke":                errOf(f.srv.Revoke(ctx, admin, bad)),
			"Renew":                 errOf(f.srv.Renew(ctx, admin, bad)),
			"Reset":                 errOf(f.srv.Reset(ctx, admin, bad)),
			"Approve":               errOf(f.srv.Approve(ctx, admin, bad)),
			"Approve as admin":      errOf(f.srv.Approve(ctx, server.AsAdmin(bad), d.serial)),
			"Sponsor user":          errOf(f.srv.Sponsor(ctx, admin, server.Sponsorship{UserID: bad, Serial: d.serial})),
			"Sponsor serial":        errOf(f.srv.Sponsor(ctx, admin, server.Sponsorship{UserID: u, Serial: bad})),
			"Sponsor application":   errOf(f.srv.Sponsor(ctx, admin, server.Sponsorship{UserID: u, Serial: d.serial, ApplicationID: bad})),
			"CreateLicenceKey":      errOf(f.srv.CreateLicenceKey(ctx, admin, bad, 0)),
			"RedeemLicenceKey user": f.srv.RedeemLicenceKey(ctx, bad, "ABCD-EFGH-JKLM-NPQR"),
			"RedeemLicenceKey key":  f.srv.RedeemLicenceKey(ctx, u, bad),
			"CreateAccount":         errOf(f.srv.CreateAccount(ctx, admin, server.NewAccount{UserID: bad, Email: "x@example.com", FirstName: "X", LastName: "Y", Password: "long password"})),
			"CreateApplication":     f.srv.CreateApplication(ctx, admin, server.Application{ID: bad, MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}),
			"Session":               errOf(f.srv.Session(ctx, bad)),
			"Elevate":               errOf(f.srv.Elevate(ctx, bad, "12345678")),
			"Access session":        f.srv.Access(ctx, bad, "app"),
			"Access application":    f.srv.Access(ctx, sess.ID, bad),
			"Logout":                f.srv.Logout(ctx, bad),
			"Notifications":         errOf(f.srv.Notifications(ctx, bad)),
			"AddPhone":              errOf(f.srv.AddPhone(ctx, bad, "+17035550100", "text", "")),
			"AddPhone session":      errOf(f.srv.AddPhone(ctx, u, "+17035550100", "text", bad)),
			"VerifyPhone":           errOf(f.srv.VerifyPhone(ctx, bad, "+17035550100", "123456")),
			"RemovePhone":           f.srv.RemovePhone(ctx, bad, "+17035550100", ""),
			"RemovePhone session":   f.srv.RemovePhone(ctx, u, "+17035550100", bad),
			"Phones":                errOf(f.srv.Phones(ctx, bad)),
			"SendPhoneCode":         errOf(f.srv.SendPhoneCode(ctx, bad, "+17035550100")),
			"LoginWithPhone":        errOf(f.srv.LoginWithPhone(ctx, bad, "correct horse battery", "+17035550100", "123456")),
			"ElevateWithPhone":      errOf(f.srv.ElevateWithPhone(ctx, bad, "+17035550100", "123456")),
			"RenewPhone":            errOf(f.srv.RenewPhoneSubscription(ctx, admin, bad)),
			"RecordProofing":        errOf(f.srv.RecordProofing(ctx, admin, bad, server.ProofingPassed)),
			"EnterProofingCode":     errOf(f.srv.EnterProofingCode(ctx, bad, "ABCDEFGHJK")),
			"Proofing":              errOf(f.srv.Proofing(ctx, bad)),
		}
		for name, err := range calls {
			if server.CodeOf(err) != server.CodeBadRequest {
				t.Errorf("%s with a %d-byte %q…: got %v, want bad_request", name, len(bad), bad[:min(len(bad), 8)], err)
			}
		}
	}
	// A huge audit target filter is refused too; a real one is not.
	if _, err := f.srv.Audit(ctx, hugeID, 0); server.CodeOf(err) != server.CodeBadRequest {
		t.Errorf("Audit with a huge target: got %v, want bad_request", err)
	}
	auditAfter, err := f.srv.Audit(ctx, "", 0)
	f.ok(err)
	if n := len(auditAfter) - len(auditBefore); n != 0 {
		last := auditAfter[len(auditAfter)-1]
		t.Errorf("the refusals wrote %d audit entries, the last %s of a %d-byte target", n, last.Action, len(last.Target))
	}
	if grew := dbSize(t, f.dir) - sizeBefore; grew > 4<<10 {
		t.Errorf("the database grew by %d bytes on refused requests", grew)
	}
}
