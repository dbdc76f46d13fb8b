package server

import (
	"context"
	"time"
)

// Service is the verification service as its callers see it: the portal's
// flows and the operator's, one Go API whether the server runs in process
// (*Server) or is reached over HTTP (*client.Client in server/client). Both
// take the same arguments and give the same views, and a refusal is an error
// that errors.Is matches against this package's sentinels (ErrTokenLocked, …)
// and errors.As turns into an *Error.
//
// Who acts:
//   - A call an administrator or a user may make (a token's lifecycle, an
//     import, an account) names its Actor: AsUser(id), AsOrgAdmin(id) (an
//     organization administrator, on the accounts of their organization)
//     or AsAdmin(id). The zero Actor is refused as a bad request: nobody
//     acts by default.
//   - A call only a user can make for themselves (activate, verify, log in,
//     change a password, redeem a licence key, accept terms — the last
//     needing the Organization or Application Administrator role) names the
//     user by ID.
//   - A call on a session (elevate, access, log out) is made by whoever holds
//     the session's ID, as a browser holds its cookie.
//
// Over HTTP the credential bounds what the actor may be: an administrator
// actor needs the administrator credential, and the API records the
// administrator as "api" whatever the Actor's ID. An organization
// administrator is sent as "by" with either credential; the server, not
// the credential, decides what it may do.
//
// The roles are small interfaces so that a caller can ask for only what it
// uses (a login page needs Sessions, a provisioning job Inventory).
type Service interface {
	Inventory
	Accounts
	Tokens
	Sessions
	Records
	Phones
	IdentityProofing
}

// Inventory is the operator's stock of tokens: seed-file imports,
// sponsorships and licence keys.
type Inventory interface {
	// ImportSeedFile imports a seed file's tokens, all or nothing, and
	// returns their serials. Only an administrator imports.
	ImportSeedFile(ctx context.Context, actor Actor, data []byte, opts ImportOptions) ([]string, error)
	// Sponsor makes a pending token the user's to activate.
	Sponsor(ctx context.Context, actor Actor, sp Sponsorship) (Sponsorship, error)
	// CreateLicenceKey sells a pending token: a key bound to serial at level
	// (0 means 2).
	CreateLicenceKey(ctx context.Context, actor Actor, serial string, level Level) (string, error)
	// RedeemLicenceKey is the user entering a licence key.
	RedeemLicenceKey(ctx context.Context, userID, key string) error
}

// Accounts are the portal's users and the partner applications they use.
type Accounts interface {
	CreateAccount(ctx context.Context, actor Actor, n NewAccount) (AccountView, error)
	Account(ctx context.Context, userID string) (AccountView, error)
	Accounts(ctx context.Context) ([]AccountView, error)
	// Connect connects a child account to a parent and returns the child.
	Connect(ctx context.Context, actor Actor, parentID, childID string) (AccountView, error)
	CreateApplication(ctx context.Context, actor Actor, app Application) error
	// AcceptTerms is userID accepting an application's terms for their
	// organization; it needs the Organization Administrator role, or the
	// Application Administrator role for that application.
	AcceptTerms(ctx context.Context, userID, appID string) error
	// ChangePassword is a user setting a new permanent password, given
	// the current one (a temporary one included).
	ChangePassword(ctx context.Context, userID, current, next string) error
}

// Tokens is the hardware token lifecycle (docs/lifecycle.md). Every action
// answers with the token's view after it.
type Tokens interface {
	// Activate registers a token on the user's account with two
	// consecutive codes.
	Activate(ctx context.Context, userID, serial, otp1, otp2 string) (TokenView, error)
	// Verify checks a login code of the user's token.
	Verify(ctx context.Context, userID, otp string) (Verification, error)
	Token(ctx context.Context, serial string) (TokenView, error)
	Tokens(ctx context.Context, f TokenFilter) ([]TokenView, error)
	// Resync re-synchronises a token with two consecutive codes and unlocks it.
	Resync(ctx context.Context, actor Actor, serial, otp1, otp2 string) (TokenView, error)
	Suspend(ctx context.Context, actor Actor, serial string) (TokenView, error)
	Enable(ctx context.Context, actor Actor, serial string) (TokenView, error)
	Revoke(ctx context.Context, actor Actor, serial string) (TokenView, error)
	Renew(ctx context.Context, actor Actor, serial string) (TokenView, error)
	// Reset is an administrator unblocking activation and resync.
	Reset(ctx context.Context, actor Actor, serial string) (TokenView, error)
	// Approve moves a token from Pending Approval to Active.
	Approve(ctx context.Context, actor Actor, serial string) (TokenView, error)
}

// Sessions are portal logins: a password and a code, then elevation and
// access to partner applications.
type Sessions interface {
	Login(ctx context.Context, userID, password, otp string) (Session, error)
	Session(ctx context.Context, id string) (Session, error)
	Elevate(ctx context.Context, id, otp string) (Session, error)
	Access(ctx context.Context, id, appID string) error
	Logout(ctx context.Context, id string) error
}

// Phones is phone OTP, the second credential type: a user's phones, the
// codes sent to them, logins and elevations with those codes, and the
// annual subscription they log in under (docs/lifecycle.md, “Phone OTP and
// identity proofing”). A connected account uses its parent's phones. Each
// call is the user's own; a change of phones of an account that holds an
// OTP credential takes the session ID of a phone or hardware OTP login of
// the account ("" otherwise).
type Phones interface {
	// AddPhone registers a phone (E.164) by text or voice, and sends it a
	// code to verify it with.
	AddPhone(ctx context.Context, userID, number, method, sessionID string) (PhoneView, error)
	// VerifyPhone verifies a phone with the code sent to it: only verified
	// phones log in. The first starts the subscription.
	VerifyPhone(ctx context.Context, userID, number, code string) (PhoneView, error)
	RemovePhone(ctx context.Context, userID, number, sessionID string) error
	// Phones lists the phones a user logs in with, and their subscription.
	Phones(ctx context.Context, userID string) (PhonesView, error)
	// SendPhoneCode sends (or sends again, replacing) a code to a phone: a
	// login code to a verified phone, the verification code to another.
	SendPhoneCode(ctx context.Context, userID, number string) (PhoneCodeSent, error)
	// LoginWithPhone opens a phone OTP session with the password and a code.
	LoginWithPhone(ctx context.Context, userID, password, number, code string) (Session, error)
	// ElevateWithPhone raises a session to phone OTP with a code.
	ElevateWithPhone(ctx context.Context, sessionID, number, code string) (Session, error)
	// RenewPhoneSubscription renews the subscription for another period.
	RenewPhoneSubscription(ctx context.Context, actor Actor, userID string) (PhonesView, error)
}

// IdentityProofing is the identity proofing a level 3 credential needs: an
// administrator records the proofing service's outcome, and the user enters
// the activation code a postal or live outcome yields.
type IdentityProofing interface {
	// RecordProofing records an outcome: passed, postal, live or failed.
	// Only an administrator records one.
	RecordProofing(ctx context.Context, actor Actor, userID, outcome string) (ProofingView, error)
	// EnterProofingCode is the user entering the activation code.
	EnterProofingCode(ctx context.Context, userID, code string) (ProofingView, error)
	Proofing(ctx context.Context, userID string) (ProofingView, error)
}

// Records is what the server keeps and tells: its time, its policy, the
// e-mails it sent, the audit log, and the sweep that applies due deadlines.
type Records interface {
	// Now is the server's time (a virtual clock's, when it has one).
	Now(ctx context.Context) (time.Time, error)
	// Policy is the policy in force, defaults filled in.
	Policy(ctx context.Context) (Policy, error)
	// Notifications lists a user's outbox, oldest first ("" for everyone's).
	Notifications(ctx context.Context, userID string) ([]Notification, error)
	// Audit lists the newest limit entries for a target ("" for all),
	// oldest first.
	Audit(ctx context.Context, target string, limit int) ([]AuditEntry, error)
	// Sweep applies every deadline that is due, and the audit log's
	// retention.
	Sweep(ctx context.Context) (SweepReport, error)
}

// ImportOptions say how to read a seed file. The zero value detects the
// format and expects no encryption.
type ImportOptions struct {
	// Format is "pskc", "csv", "otpauth", or "" / "auto" to detect it.
	Format string
	// Key is the pre-shared key of an encrypted PSKC file.
	Key []byte
	// Password derives the key of a PBKDF2-protected PSKC file.
	Password string
}

// CheckActor refuses the zero Actor as a bad request, so that no action runs
// as nobody (or, over HTTP, silently as whoever the server would pick). The
// server checks every call that names an Actor; the client checks before it
// sends, so both refuse alike.
func CheckActor(a Actor) error {
	switch {
	case a == (Actor{}):
		return &Error{Code: CodeBadRequest, Message: catalogueMessage(CodeBadRequest), Detail: "name who acts: server.AsUser(id), server.AsOrgAdmin(id) or server.AsAdmin(id)"}
	case a.Admin && a.OrgAdmin:
		return &Error{Code: CodeBadRequest, Message: catalogueMessage(CodeBadRequest), Detail: "an actor is the administrator or an organization administrator, not both"}
	}
	return nil
}

// CheckAdmin is CheckActor for a call only an administrator makes: it also
// refuses a user (forbidden), saying that only an administrator does what.
func CheckAdmin(a Actor, what string) error {
	if err := CheckActor(a); err != nil {
		return err
	}
	if !a.Admin {
		return &Error{Code: CodeForbidden, Message: catalogueMessage(CodeForbidden), Detail: "only an administrator " + what}
	}
	return nil
}

// CheckSelf is CheckActor for a call a user makes for themselves only: it
// also refuses a user acting for another (forbidden). An administrator may
// act for anyone.
func CheckSelf(a Actor, userID, what string) error {
	if err := CheckActor(a); err != nil {
		return err
	}
	if !a.Admin && a.ID != userID {
		return &Error{Code: CodeForbidden, Message: catalogueMessage(CodeForbidden), Detail: "a user " + what + " only for themselves"}
	}
	return nil
}

// catalogueMessage is a code's message as the catalogue writes it (for the
// codes whose message names no policy value).
func catalogueMessage(c Code) string {
	for _, e := range Catalogue {
		if e.Code == c {
			return e.Message
		}
	}
	return ""
}
