package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// NewAccount is what creating an account takes.
type NewAccount struct {
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	FirstName    string `json:"first_name"`
	MiddleName   string `json:"middle_name"`
	LastName     string `json:"last_name"`
	Password     string `json:"password"`
	Organization string `json:"organization"`
	Role         Role   `json:"role"`
	// ApplicationAdmin names the applications the account is the
	// Application Administrator of (it needs an organization).
	ApplicationAdmin []string `json:"application_admin,omitempty"`
}

// AccountView is an account without its password hash.
type AccountView struct {
	UserID            string    `json:"user_id"`
	Email             string    `json:"email"`
	FirstName         string    `json:"first_name"`
	MiddleName        string    `json:"middle_name"`
	LastName          string    `json:"last_name"`
	Organization      string    `json:"organization"`
	Role              Role      `json:"role"`
	ApplicationAdmin  []string  `json:"application_admin,omitempty"`
	TemporaryPassword bool      `json:"temporary_password"`
	RememberToken     bool      `json:"remember_token"`
	Proofed           bool      `json:"proofed"`
	Phones            int       `json:"phones"`
	ParentID          string    `json:"parent_id,omitempty"`
	CreatedAt         time.Time `json:"created_at"`
}

func accountView(a Account) AccountView {
	return AccountView{UserID: a.UserID, Email: a.Email, FirstName: a.FirstName, MiddleName: a.MiddleName, LastName: a.LastName,
		Organization: a.Organization, Role: a.Role, ApplicationAdmin: a.ApplicationAdmin, TemporaryPassword: a.TemporaryPassword, RememberToken: a.RememberToken,
		Proofed: a.Proofed, Phones: len(a.Phones), ParentID: a.ParentID, CreatedAt: a.CreatedAt}
}

// CreateAccount creates an account; the password is stored as a bcrypt
// hash. The operator's administrator creates any account; an organization
// administrator creates users and organization administrators of their own
// organization (an empty Organization is theirs); a user creates none.
func (s *Server) CreateAccount(ctx context.Context, actor Actor, n NewAccount) (AccountView, error) {
	if err := s.checkIDs(actorRef(&actor), userRef(&n.UserID)); err != nil {
		return AccountView{}, err
	}
	if !actor.Admin && !actor.OrgAdmin {
		// Refused before the password is hashed: bcrypt is slow on purpose,
		// and a user has no business making it run.
		return AccountView{}, s.do(ctx, actor, "account.create", n.UserID, func(Tx, time.Time) error {
			return s.refuse(CodeForbidden, "only an administrator or an organization administrator creates accounts")
		})
	}
	if n.Role == "" {
		n.Role = RoleUser
	}
	// An organization administrator's new account is in their organization
	// when it names none; the transaction fills it in.
	if err := s.checkNewAccount(n, actor.OrgAdmin && n.Organization == ""); err != nil {
		return AccountView{}, err
	}
	hash, err := hashPasswordLimited(ctx, []byte(n.Password), s.policy.PasswordCost)
	if err != nil {
		return AccountView{}, err
	}
	var out AccountView
	err = s.do(ctx, actor, "account.create", n.UserID, func(tx Tx, now time.Time) error {
		// Who may create what comes first, so that an organization
		// administrator learns nothing of the accounts of another
		// organization (not even that one exists).
		if actor.OrgAdmin {
			org, err := s.orgAdmin(tx, actor)
			if err != nil {
				return err
			}
			if n.Organization == "" {
				n.Organization = org
			}
			switch {
			case n.Organization != org:
				return s.refuse(CodeForbidden, "%s administers %q, not %q", actor, org, n.Organization)
			case n.Role == RoleOperatorAdmin:
				return s.refuse(CodeForbidden, "only the operator's administrator creates an operator_admin account")
			}
		}
		if _, err := tx.Account(n.UserID); err == nil {
			return s.refuse(CodeConflict, "account %q exists (user IDs do not tell upper from lower case)", n.UserID)
		} else if !errors.Is(err, ErrNoRecord) {
			return err
		}
		for _, app := range n.ApplicationAdmin {
			if _, err := tx.Application(app); errors.Is(err, ErrNoRecord) {
				return s.refuse(CodeNotFound, "application_admin: no application %q", app)
			} else if err != nil {
				return err
			}
		}
		a := Account{UserID: n.UserID, Email: n.Email, FirstName: n.FirstName, MiddleName: n.MiddleName, LastName: n.LastName,
			Organization: n.Organization, Role: n.Role, ApplicationAdmin: n.ApplicationAdmin, PasswordHash: hash, CreatedAt: now}
		out = accountView(a)
		return tx.PutAccount(a)
	})
	return out, err
}

// MaxOrganizationLength is the longest organization name, in bytes, and
// MaxApplicationAdmin the most applications one account administers.
const (
	MaxOrganizationLength = 128
	MaxApplicationAdmin   = 64
)

// checkNewAccount refuses a malformed new account. orgFilled says the
// organization, empty now, is filled in later (an organization
// administrator's own).
func (s *Server) checkNewAccount(n NewAccount, orgFilled bool) error {
	switch {
	case !validID(n.UserID):
		return s.refuse(CodeBadRequest, "user_id must be 1 to 128 letters, digits, '.', '_', '-' or '@'")
	case n.Email == "":
		return s.refuse(CodeBadRequest, "email is required")
	case n.FirstName == "" || n.LastName == "":
		return s.refuse(CodeBadRequest, "first_name and last_name are required")
	case !s.passwordLengthOK(n.Password):
		return s.refuse(CodeBadRequest, "password must be %d to %d characters", s.policy.PasswordMinLength, maxPasswordLength)
	case n.Role != RoleUser && n.Role != RoleOrgAdmin && n.Role != RoleOperatorAdmin:
		return s.refuse(CodeBadRequest, "role must be user, org_admin or operator_admin")
	case !validOrganization(n.Organization):
		return s.refuse(CodeBadRequest, "organization must be at most %d bytes of UTF-8, without control characters or spaces around it", MaxOrganizationLength)
	case n.Organization == "" && !orgFilled && n.Role == RoleOrgAdmin:
		return s.refuse(CodeBadRequest, "an org_admin account administers an organization: give organization")
	case n.Organization == "" && !orgFilled && len(n.ApplicationAdmin) > 0:
		return s.refuse(CodeBadRequest, "an application administrator administers an application for an organization: give organization")
	case len(n.ApplicationAdmin) > MaxApplicationAdmin:
		return s.refuse(CodeBadRequest, "application_admin names at most %d applications", MaxApplicationAdmin)
	}
	for i, app := range n.ApplicationAdmin {
		if !validID(app) {
			return s.refuse(CodeBadRequest, "application_admin: an application id must be 1 to %d letters, digits, '.', '_', '-' or '@'", MaxIDLength)
		}
		if slices.Contains(n.ApplicationAdmin[:i], app) {
			return s.refuse(CodeBadRequest, "application_admin names %q twice", app)
		}
	}
	if _, err := mail.ParseAddress(n.Email); err != nil {
		return s.refuse(CodeBadRequest, "email is not an e-mail address")
	}
	return nil
}

// validOrganization reports an organization name the portal can show and
// compare: short, UTF-8, printable, no spaces around it (two spellings of
// one name would be two organizations). Empty is no organization.
func validOrganization(org string) bool {
	return len(org) <= MaxOrganizationLength && utf8.ValidString(org) && !strings.ContainsFunc(org, unicode.IsControl) &&
		strings.TrimSpace(org) == org
}

// passwordLengthOK reports a password of PasswordMinLength characters to
// 72 bytes, all that bcrypt reads.
func (s *Server) passwordLengthOK(p string) bool {
	return utf8.RuneCountInString(p) >= s.policy.PasswordMinLength && len(p) <= maxPasswordLength
}

// orgAdmin checks an organization administrator actor against its account
// and returns the organization it administers: the account must exist,
// have the org_admin role and belong to an organization. A refusal is
// forbidden whatever is missing: the claim is what is refused.
func (s *Server) orgAdmin(tx Tx, actor Actor) (string, error) {
	a, err := tx.Account(actor.ID)
	if errors.Is(err, ErrNoRecord) {
		return "", s.refuse(CodeForbidden, "%s: there is no such account", actor)
	}
	if err != nil {
		return "", err
	}
	if a.Role != RoleOrgAdmin || a.Organization == "" {
		return "", s.refuse(CodeForbidden, "%s is not an organization administrator (role %s, organization %q)", actor, a.Role, a.Organization)
	}
	return a.Organization, nil
}

// orgAdminOver refuses an organization administrator actor unless every
// account named belongs to the organization they administer. A missing
// account is refused alike, so that the answer does not tell which user
// IDs another organization has.
func (s *Server) orgAdminOver(tx Tx, actor Actor, userIDs ...string) error {
	org, err := s.orgAdmin(tx, actor)
	if err != nil {
		return err
	}
	for _, id := range userIDs {
		a, err := tx.Account(id)
		if err != nil && !errors.Is(err, ErrNoRecord) {
			return err
		}
		if err != nil || a.Organization != org {
			return s.refuse(CodeForbidden, "%s administers %q; account %q is not of it", actor, org, id)
		}
	}
	return nil
}

func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// Account returns an account (without its password hash).
func (s *Server) Account(ctx context.Context, userID string) (AccountView, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return AccountView{}, err
	}
	var out AccountView
	err := s.view(ctx, func(tx Tx) error {
		a, err := s.account(tx, userID)
		out = accountView(a)
		return err
	})
	return out, err
}

// Accounts lists every account.
func (s *Server) Accounts(ctx context.Context) ([]AccountView, error) {
	var out []AccountView
	err := s.view(ctx, func(tx Tx) error {
		as, err := tx.Accounts()
		for _, a := range as {
			out = append(out, accountView(a))
		}
		return err
	})
	return out, err
}

func (s *Server) account(tx Tx, userID string) (Account, error) {
	a, err := tx.Account(userID)
	if errors.Is(err, ErrNoRecord) {
		return a, s.refuse(CodeNotFound, "no account %q", userID)
	}
	return a, err
}

// Connect connects a child account to a parent and returns the child, so that the
// parent's hardware token logs into the child too. The e-mail and first,
// middle and last names must match exactly, and the child must hold no
// active credential of its own.
func (s *Server) Connect(ctx context.Context, actor Actor, parentID, childID string) (AccountView, error) {
	if err := s.checkIDs(actorRef(&actor), userRef(&parentID), userRef(&childID)); err != nil {
		return AccountView{}, err
	}
	err := s.do(ctx, actor, "account.connect", childID, func(tx Tx, now time.Time) error {
		if actor.OrgAdmin {
			if err := s.orgAdminOver(tx, actor, parentID, childID); err != nil {
				return err
			}
		} else if !actor.Admin && actor.ID != parentID && actor.ID != childID {
			return s.refuse(CodeForbidden, "%s may not connect %s to %s", actor, childID, parentID)
		}
		parent, err := s.account(tx, parentID)
		if err != nil {
			return err
		}
		child, err := s.account(tx, childID)
		if err != nil {
			return err
		}
		if parentID == childID || parent.ParentID != "" {
			return s.refuse(CodeActionUnavailable, "a parent account cannot itself be connected to another")
		}
		if parent.Email != child.Email || parent.FirstName != child.FirstName || parent.MiddleName != child.MiddleName || parent.LastName != child.LastName {
			return s.refuse(CodeActionUnavailable, "e-mail and first, middle and last names must match exactly")
		}
		owned, err := tx.Tokens(TokenFilter{OwnerID: childID})
		if err != nil {
			return err
		}
		for _, t := range owned {
			if t.Status != StatusRevoked {
				return s.refuse(CodeActionUnavailable, "the child account holds token %s", t.Serial)
			}
		}
		if len(child.Phones) > 0 {
			return s.refuse(CodeActionUnavailable, "the child account holds a phone OTP credential")
		}
		child.ParentID = parentID
		return tx.PutAccount(child)
	})
	if err != nil {
		return AccountView{}, err
	}
	return s.Account(ctx, childID)
}

// CreateApplication registers a partner application.
func (s *Server) CreateApplication(ctx context.Context, actor Actor, app Application) error {
	if err := s.checkIDs(actorRef(&actor), appRef(&app.ID)); err != nil {
		return err
	}
	if !validID(app.ID) {
		return s.refuse(CodeBadRequest, "application id must be 1 to 128 letters, digits, '.', '_', '-' or '@'")
	}
	if app.MinStrength.Credential < CredentialPassword || app.MinStrength.Credential > CredentialHardwareOTP {
		return s.refuse(CodeBadRequest, "min_strength.credential must be password, phone_otp or hardware_otp")
	}
	return s.do(ctx, actor, "application.create", app.ID, func(tx Tx, now time.Time) error {
		if !actor.Admin {
			return s.refuse(CodeForbidden, "only an administrator registers applications")
		}
		if _, err := tx.Application(app.ID); err == nil {
			return s.refuse(CodeConflict, "application %q exists", app.ID)
		}
		return tx.PutApplication(app)
	})
}

// AcceptTerms is userID accepting an application's terms and conditions
// for their organization: every account of it may then use the
// application ("no one in your organization can access the PIM application
// until terms and conditions are accepted"). It needs the role the guide
// names: "the MAG Organization Administrator role or the Application
// Administrator role for the application that is pending Terms and
// Conditions acceptance"; anyone else is forbidden.
func (s *Server) AcceptTerms(ctx context.Context, userID, appID string) error {
	if err := s.checkIDs(userRef(&userID), appRef(&appID)); err != nil {
		return err
	}
	return s.do(ctx, AsUser(userID), "terms.accept", appID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		if _, err := tx.Application(appID); errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no application %q", appID)
		} else if err != nil {
			return err
		}
		if acc.Organization == "" || acc.Role != RoleOrgAdmin && !slices.Contains(acc.ApplicationAdmin, appID) {
			return s.refuse(CodeForbidden, "%s has neither the Organization Administrator role nor the Application Administrator role for %s (role %s, organization %q)",
				userID, appID, acc.Role, acc.Organization)
		}
		return tx.AcceptOrganizationTerms(acc.Organization, appID, now)
	})
}

// termsAccepted reports whether an account may use an application whose
// terms need accepting: its organization accepted them, or the user did
// before acceptance became the organization's (the store keeps those).
func (s *Server) termsAccepted(tx Tx, acc Account, appID string) (bool, error) {
	if ok, err := tx.TermsAccepted(acc.UserID, appID); err != nil || ok {
		return ok, err
	}
	if acc.Organization == "" {
		return false, nil
	}
	return tx.OrganizationTermsAccepted(acc.Organization, appID)
}

// randomString draws n characters from alphabet with crypto/rand.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported systems
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// resetPassword replaces the password by a temporary one, e-mailed to the
// user, because their token serial was revoked. The password was hashed
// before the transaction (Revoke).
func (s *Server) resetPassword(tx Tx, now time.Time, a *Account, serial string, temp *tempPassword) error {
	a.PasswordHash, a.TemporaryPassword = temp.hash, true
	return s.notify(tx, now, *a, noteTemporaryPassword, noteValues{serial: serial, password: temp.plain})
}

// ChangePassword sets a new permanent password, given the current one (a
// temporary one included: the guide's "When prompted, enter a new
// permanent password"). It clears the temporary password's flag, and with
// it password_change_required, for the sessions already open too. Both
// passwords are hashed or compared before the write transaction
// (checkPassword).
//
// A new password the rules refuse is password_rejected, before the current
// one is compared: the rules are public, so the answer tells nothing of
// the account, and a refused change costs no bcrypt.
func (s *Server) ChangePassword(ctx context.Context, userID, current, next string) error {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return err
	}
	if why := s.passwordRule(current, next); why != "" {
		return s.do(ctx, AsUser(userID), "account.password", userID, func(Tx, time.Time) error {
			return s.refuse(CodePasswordRejected, "%s", why)
		})
	}
	checked, ok, err := s.checkPassword(ctx, userID, current)
	if err != nil {
		return err
	}
	var hash []byte
	if ok {
		if hash, err = hashPasswordLimited(ctx, []byte(next), s.policy.PasswordCost); err != nil {
			return err
		}
	}
	return s.do(ctx, AsUser(userID), "account.password", userID, func(tx Tx, now time.Time) error {
		a, err := s.passwordChecked(tx, userID, checked, ok)
		if err != nil {
			return err
		}
		a.PasswordHash, a.TemporaryPassword = hash, false
		return tx.PutAccount(a)
	})
}

// passwordRule says why a new password is refused ("" when it is not): too
// short for the policy, longer than bcrypt reads, or the current one again
// — a temporary password kept would stay in the e-mail that carried it.
func (s *Server) passwordRule(current, next string) string {
	switch {
	case utf8.RuneCountInString(next) < s.policy.PasswordMinLength:
		return fmt.Sprintf("the new password has %d characters; the policy asks for at least %d", utf8.RuneCountInString(next), s.policy.PasswordMinLength)
	case len(next) > maxPasswordLength:
		return fmt.Sprintf("the new password has %d bytes; bcrypt reads at most %d", len(next), maxPasswordLength)
	case next == current:
		return "the new password is the current one"
	}
	return ""
}
