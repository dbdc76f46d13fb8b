package server

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"net/mail"
	"strings"
	"time"
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

// CreateAccount creates an account; the password is stored as a bcrypt hash.
func (s *Server) CreateAccount(ctx context.Context, actor Actor, n NewAccount) (AccountView, error) {
	if err := s.checkIDs(actorRef(&actor), userRef(&n.UserID)); err != nil {
		return AccountView{}, err
	}
	if n.Role == "" {
		n.Role = RoleUser
	}
	if err := s.checkNewAccount(n); err != nil {
		return AccountView{}, err
	}
	hash, err := hashPasswordLimited(ctx, []byte(n.Password), s.policy.PasswordCost)
	if err != nil {
		return AccountView{}, err
	}
	var out AccountView
	err = s.do(ctx, actor, "account.create", n.UserID, func(tx Tx, now time.Time) error {
		if _, err := tx.Account(n.UserID); err == nil {
			return s.refuse(CodeConflict, "account %q exists (user IDs do not tell upper from lower case)", n.UserID)
		} else if !errors.Is(err, ErrNoRecord) {
			return err
		}
		a := Account{UserID: n.UserID, Email: n.Email, FirstName: n.FirstName, MiddleName: n.MiddleName, LastName: n.LastName,
			Organization: n.Organization, Role: n.Role, PasswordHash: hash, CreatedAt: now}
		out = accountView(a)
		return tx.PutAccount(a)
	})
	return out, err
}

func (s *Server) checkNewAccount(n NewAccount) error {
	switch {
	case !validID(n.UserID):
		return s.refuse(CodeBadRequest, "user_id must be 1 to 128 letters, digits, '.', '_', '-' or '@'")
	case n.Email == "":
		return s.refuse(CodeBadRequest, "email is required")
	case n.FirstName == "" || n.LastName == "":
		return s.refuse(CodeBadRequest, "first_name and last_name are required")
	case len(n.Password) < 8 || len(n.Password) > 72:
		return s.refuse(CodeBadRequest, "password must be 8 to 72 characters")
	case n.Role != RoleUser && n.Role != RoleOrgAdmin && n.Role != RoleOperatorAdmin:
		return s.refuse(CodeBadRequest, "role must be user, org_admin or operator_admin")
	}
	if _, err := mail.ParseAddress(n.Email); err != nil {
		return s.refuse(CodeBadRequest, "email is not an e-mail address")
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
		if !actor.Admin && actor.ID != parentID && actor.ID != childID {
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

// AcceptTerms records that a user accepted an application's terms.
func (s *Server) AcceptTerms(ctx context.Context, userID, appID string) error {
	if err := s.checkIDs(userRef(&userID), appRef(&appID)); err != nil {
		return err
	}
	return s.do(ctx, AsUser(userID), "terms.accept", appID, func(tx Tx, now time.Time) error {
		if _, err := s.account(tx, userID); err != nil {
			return err
		}
		if _, err := tx.Application(appID); errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no application %q", appID)
		}
		return tx.AcceptTerms(userID, appID, now)
	})
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

// ChangePassword sets a new permanent password, given the current one. Both
// are hashed or compared before the write transaction (checkPassword).
func (s *Server) ChangePassword(ctx context.Context, userID, current, next string) error {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return err
	}
	if len(next) < 8 || len(next) > 72 {
		return s.refuse(CodeBadRequest, "password must be 8 to 72 characters")
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
