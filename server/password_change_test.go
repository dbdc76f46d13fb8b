package server_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

// tempPassword is the temporary password of the user's last notification.
func (f *fixture) tempPassword(user string) string {
	f.t.Helper()
	ns := f.notifications(user)
	last := ns[len(ns)-1]
	if last.Kind != server.NotificationTemporaryPassword {
		f.t.Fatalf("last notification of %s is %s, want a temporary password", user, last.Kind)
	}
	return last.Body[strings.LastIndex(last.Body, " ")+1:]
}

// revokedWithTempPassword is a user whose token was revoked (by by, or by
// the user when by is the zero Actor): their password is a temporary one,
// which it returns.
func (f *fixture) revokedWithTempPassword(by server.Actor) (string, string) {
	f.t.Helper()
	u, d := f.activeToken()
	if by == (server.Actor{}) {
		by = server.AsUser(u)
	}
	f.ok(errOf(f.srv.Revoke(f.ctx, by, d.serial)))
	return u, f.tempPassword(u)
}

// portalApp registers an application a password opens, with no terms: only
// the temporary password can keep a session out of it.
func (f *fixture) portalApp(id string) string {
	f.t.Helper()
	f.ok(f.srv.CreateApplication(f.ctx, f.admin, server.Application{ID: id, Name: "Dashboard",
		MinStrength: server.Strength{Credential: server.CredentialPassword, Level: 1}}))
	return id
}

// TestPasswordChangeRequiredAfterRevocation: a session opened with the
// temporary password a revocation sent is marked must_change_password and
// no application opens for it (password_change_required) until the user
// changes the password; the change lets the same session in.
func TestPasswordChangeRequiredAfterRevocation(t *testing.T) {
	for name, by := range map[string]server.Actor{"by the user": {}, "by an administrator": server.AsAdmin("ops")} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, server.Policy{})
			app := f.portalApp("dashboard")
			u, temp := f.revokedWithTempPassword(by)
			ss, err := f.srv.Login(f.ctx, u, temp, "")
			f.ok(err)
			if !ss.MustChangePassword {
				t.Fatalf("a login with the temporary password: %+v, want must_change_password", ss)
			}
			f.expectCode(f.srv.Access(f.ctx, ss.ID, app), server.CodePasswordChangeRequired)
			if got, err := f.srv.Session(f.ctx, ss.ID); err != nil || !got.MustChangePassword {
				t.Fatalf("Session: %+v, %v; want must_change_password", got, err)
			}

			f.ok(f.srv.ChangePassword(f.ctx, u, temp, "a new permanent one"))
			f.ok(f.srv.Access(f.ctx, ss.ID, app))
			if got, err := f.srv.Session(f.ctx, ss.ID); err != nil || got.MustChangePassword {
				t.Fatalf("Session after the change: %+v, %v; want no must_change_password", got, err)
			}
			_, err = f.srv.Login(f.ctx, u, temp, "")
			f.expectCode(err, server.CodeCredentialsInvalid)
			ss2, err := f.srv.Login(f.ctx, u, "a new permanent one", "")
			f.ok(err)
			if ss2.MustChangePassword {
				t.Fatalf("a login with the new password: %+v", ss2)
			}
			f.ok(f.srv.Access(f.ctx, ss2.ID, app))
		})
	}
}

// TestPasswordChangeRequiredSurvivesLogoutAndLogin: the flag is the
// account's: logging out and in again with the temporary password does not
// clear it, nor does a restart.
func TestPasswordChangeRequiredSurvivesLogoutAndLogin(t *testing.T) {
	f := newFixture(t, server.Policy{})
	app := f.portalApp("dashboard")
	u, temp := f.revokedWithTempPassword(server.Actor{})
	ss, err := f.srv.Login(f.ctx, u, temp, "")
	f.ok(err)
	f.ok(f.srv.Logout(f.ctx, ss.ID))
	f.reopen()
	ss, err = f.srv.Login(f.ctx, u, temp, "")
	f.ok(err)
	if !ss.MustChangePassword {
		t.Fatalf("the second login with the temporary password: %+v, want must_change_password", ss)
	}
	f.expectCode(f.srv.Access(f.ctx, ss.ID, app), server.CodePasswordChangeRequired)
	if a, err := f.srv.Account(f.ctx, u); err != nil || !a.TemporaryPassword {
		t.Fatalf("account %+v, %v; want the temporary password kept", a, err)
	}
}

// TestPasswordChangeRefusals: a new password equal to the temporary one,
// shorter than the policy's minimum or longer than bcrypt reads is
// password_rejected; a wrong current password (another user's, say) is
// credentials_invalid. None changes anything, and each is audited.
func TestPasswordChangeRefusals(t *testing.T) {
	f := newFixture(t, server.Policy{PasswordMinLength: 12})
	app := f.portalApp("dashboard")
	u, temp := f.revokedWithTempPassword(server.Actor{})
	other := f.user() // password "correct horse battery"
	for _, c := range []struct {
		name, current, next string
		code                server.Code
	}{
		{"the temporary password again", temp, temp, server.CodePasswordRejected},
		{"shorter than the policy's 12", temp, "eleven char", server.CodePasswordRejected},
		{"12 bytes but 11 characters", temp, "ünf chars!!", server.CodePasswordRejected},
		{"longer than 72 bytes", temp, strings.Repeat("x", 73), server.CodePasswordRejected},
		{"another user's password as the current one", "correct horse battery", "a new permanent one", server.CodeCredentialsInvalid},
		{"a wrong current password", "not the temporary one", "a new permanent one", server.CodeCredentialsInvalid},
		{"a wrong current password and a bad new one", "not the temporary one", "short", server.CodePasswordRejected},
	} {
		f.expectCode(f.srv.ChangePassword(f.ctx, u, c.current, c.next), c.code)
		a, err := f.srv.Account(f.ctx, u)
		f.ok(err)
		if !a.TemporaryPassword {
			t.Fatalf("%s: the password is no longer temporary", c.name)
		}
		ss, err := f.srv.Login(f.ctx, u, temp, "")
		if err != nil {
			t.Fatalf("%s: the temporary password no longer logs in: %v", c.name, err)
		}
		f.expectCode(f.srv.Access(f.ctx, ss.ID, app), server.CodePasswordChangeRequired)
	}
	// The other user's password is theirs still.
	f.ok(errOf(f.srv.Login(f.ctx, other, "correct horse battery", "")))

	entries, err := f.srv.Audit(f.ctx, u, 0)
	f.ok(err)
	var outcomes []string
	for _, e := range entries {
		if e.Action == "account.password" {
			outcomes = append(outcomes, e.Outcome)
		}
	}
	if want := "password_rejected,password_rejected,password_rejected,password_rejected,credentials_invalid,credentials_invalid,password_rejected"; strings.Join(outcomes, ",") != want {
		t.Errorf("audited password changes %v, want %s", outcomes, want)
	}

	// Exactly the minimum is enough.
	f.ok(f.srv.ChangePassword(f.ctx, u, temp, "twelve chars"))
}

// TestPasswordMinLengthForNewAccounts: an account is created with a
// password of at least the policy's minimum.
func TestPasswordMinLengthForNewAccounts(t *testing.T) {
	f := newFixture(t, server.Policy{PasswordMinLength: 12})
	_, err := f.srv.CreateAccount(f.ctx, f.admin, server.NewAccount{UserID: "shorty", Email: "s@example.com", FirstName: "S", LastName: "H", Password: "eleven char"})
	f.expectCode(err, server.CodeBadRequest)
	if _, err := f.srv.Account(f.ctx, "shorty"); !strings.Contains(errString(err), "not_found") {
		t.Fatalf("the refused account exists: %v", err)
	}
	f.ok(errOf(f.srv.CreateAccount(f.ctx, f.admin, server.NewAccount{UserID: "longer", Email: "l@example.com", FirstName: "L", LastName: "O", Password: "twelve chars"})))
}

// TestPasswordMinLengthPolicyBounds: the minimum is 8 to 72.
func TestPasswordMinLengthPolicyBounds(t *testing.T) {
	for _, n := range []int{-1, 7, 73} {
		if err := (server.Policy{PasswordMinLength: n}).Validate(); err == nil || !strings.Contains(err.Error(), "password_min_length") {
			t.Errorf("PasswordMinLength %d: %v, want a refusal naming password_min_length", n, err)
		}
	}
	for _, n := range []int{0, 8, 72} {
		if err := (server.Policy{PasswordMinLength: n}).Validate(); err != nil {
			t.Errorf("PasswordMinLength %d: %v", n, err)
		}
	}
	if p, _ := newFixture(t, server.Policy{}).srv.Policy(t.Context()); p.PasswordMinLength != 8 {
		t.Errorf("default PasswordMinLength %d, want 8", p.PasswordMinLength)
	}
}

// TestPasswordChangeOfAPermanentPassword: a user with a permanent password
// changes it too; the same password again is refused.
func TestPasswordChangeOfAPermanentPassword(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	f.expectCode(f.srv.ChangePassword(f.ctx, u, "correct horse battery", "correct horse battery"), server.CodePasswordRejected)
	f.ok(f.srv.ChangePassword(f.ctx, u, "correct horse battery", "a new permanent one"))
	ss, err := f.srv.Login(f.ctx, u, "a new permanent one", "")
	f.ok(err)
	if ss.MustChangePassword {
		t.Fatalf("%+v", ss)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestPasswordChangeRequiredForAPhoneSession: a phone OTP login with the
// temporary password is marked too.
func TestPasswordChangeRequiredForAPhoneSession(t *testing.T) {
	// The phone is added without an OTP login: this test is about the
	// temporary password, not the phone change rule.
	f := newFixture(t, server.Policy{PhoneChangeWithoutOTP: true})
	app := f.portalApp("dashboard")
	u, d := f.activeToken()
	f.verifiedPhone(u, "+17035550100", "")
	f.ok(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d.serial)))
	temp := f.tempPassword(u)
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, "+17035550100")))
	ns := f.notifications(u)
	code := regexp.MustCompile(`One-Time Password is (\d{6})`).FindStringSubmatch(ns[len(ns)-1].Body)[1]
	ss, err := f.srv.LoginWithPhone(f.ctx, u, temp, "+17035550100", code)
	f.ok(err)
	if !ss.MustChangePassword {
		t.Fatalf("phone login with the temporary password: %+v", ss)
	}
	f.expectCode(f.srv.Access(f.ctx, ss.ID, app), server.CodePasswordChangeRequired)
	f.ok(f.srv.ChangePassword(f.ctx, u, temp, "a new permanent one"))
	f.ok(f.srv.Access(f.ctx, ss.ID, app))
}
