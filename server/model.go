package server

import (
	"fmt"
	"time"
)

// Role is what an account may do.
type Role string

// The roles (see docs/lifecycle.md, “Accounts and roles”).
const (
	RoleUser          Role = "user"
	RoleOrgAdmin      Role = "org_admin"
	RoleOperatorAdmin Role = "operator_admin"
)

// IsAdmin reports an administrator role.
func (r Role) IsAdmin() bool { return r == RoleOrgAdmin || r == RoleOperatorAdmin }

// Account is a portal account.
type Account struct {
	UserID       string `json:"user_id"`
	Email        string `json:"email"`
	FirstName    string `json:"first_name"`
	MiddleName   string `json:"middle_name"`
	LastName     string `json:"last_name"`
	Organization string `json:"organization"`
	Role         Role   `json:"role"`
	// ApplicationAdmin lists the applications whose Application
	// Administrator the account is, for its organization: it may accept
	// their terms for everyone in it, as an Organization Administrator may
	// any application's.
	ApplicationAdmin []string `json:"application_admin,omitempty"`
	PasswordHash     []byte   `json:"password_hash"`
	// TemporaryPassword is set when the password was reset (by a revocation)
	// and must be changed at the next login.
	TemporaryPassword bool `json:"temporary_password"`
	// RememberToken is the "remember my token" cookie: set by a login with
	// the token, cleared by a revocation.
	RememberToken bool `json:"remember_token"`
	// Proofed is identity proofing done (level 3 credentials).
	Proofed  bool      `json:"proofed"`
	Proofing *Proofing `json:"proofing,omitempty"`
	Phones   []Phone   `json:"phones,omitempty"`
	// ParentID connects this (child) account to a parent whose hardware
	// token it uses.
	ParentID  string    `json:"parent_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`

	// PhoneSubscription is the phone OTP subscription the account's phones
	// log in under; nil until a phone is first verified (phone.go).
	PhoneSubscription *PhoneSubscription `json:"phone_subscription,omitempty"`
	// PhoneSends are the phone codes sent within the policy's send window,
	// kept across a phone's removal so that removing and adding a number
	// again does not reset its limit.
	PhoneSends []PhoneSend `json:"phone_sends,omitempty"`
	// LastPhoneID is the ID the last phone added was given: each phone
	// gets a new one, so that a session knows its phone from a later phone
	// of the same number.
	LastPhoneID int `json:"last_phone_id,omitempty"`
	// NextEventAt is when the sweep next has something to do for the
	// account's phone OTP subscription (a reminder, an expiry, a lapse);
	// zero when nothing is scheduled.
	NextEventAt time.Time `json:"next_event_at,omitzero"`
}

// Phone is a phone OTP device.
type Phone struct {
	// ID tells this phone from an earlier one of the same number.
	ID     int    `json:"id,omitempty"`
	Number string `json:"number"`
	// Method is "text" or "voice".
	Method string `json:"method"`
	// Verified is set when the user entered the code sent at registration:
	// only a verified phone logs in.
	Verified   bool      `json:"verified"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	// CodeHash and CodeExpires hold the code last sent (an HMAC, see
	// codeHash); CodeFor is the account it was sent for (a connected
	// account's login code goes to its parent's phone), CodeAttempts the
	// wrong codes entered against it.
	CodeHash     []byte    `json:"code_hash,omitempty"`
	CodeExpires  time.Time `json:"code_expires,omitzero"`
	CodeFor      string    `json:"code_for,omitempty"`
	CodeAttempts int       `json:"code_attempts,omitempty"`
	AddedAt      time.Time `json:"added_at"`
}

// Proofing is an account's identity proofing in progress.
type Proofing struct {
	// Outcome is the last proofing result: passed, postal, live or failed.
	Outcome string `json:"outcome"`
	// CodeHash is the activation code pending (sent by postal mail, or
	// given by the live proofing agent), an HMAC (see codeHash).
	CodeHash []byte    `json:"code_hash,omitempty"`
	At       time.Time `json:"at"`
}

// Status is a hardware token's status (see docs/lifecycle.md, “Statuses”).
type Status string

// Token statuses. Locked is not a status but a sub-status of Active.
const (
	StatusPendingActivation Status = "pending_activation"
	StatusActive            Status = "active"
	StatusSuspended         Status = "suspended"
	StatusExpired           Status = "expired"
	StatusPendingApproval   Status = "pending_approval"
	StatusRevoked           Status = "revoked"
)

// Display is the status as the portal shows it: "Active (Locked)" for a
// locked token.
func (s Status) Display(locked bool) string {
	name := map[Status]string{
		StatusPendingActivation: "Pending Activation", StatusActive: "Active", StatusSuspended: "Suspended",
		StatusExpired: "Expired", StatusPendingApproval: "Pending Approval", StatusRevoked: "Revoked",
	}[s]
	if s == StatusActive {
		if locked {
			return "Active (Locked)"
		}
		return "Active (Active)"
	}
	return name
}

// Level is the assurance of a credential: 2 without identity proofing, 3 with.
type Level int

// The levels of a hardware or phone OTP credential.
const (
	LevelUnproofed Level = 2
	LevelProofed   Level = 3
)

// ActorKind is who acted on a token, as the token keeps it: a user acting
// for themselves and an administrator have different powers over it (only
// an administrator lifts an administrator's suspension).
type ActorKind string

// The actor kinds. System is the server itself: the sweep's automatic
// revocations.
const (
	ActorUser   ActorKind = "user"
	ActorAdmin  ActorKind = "admin"
	ActorSystem ActorKind = "system"
)

// Token is a hardware token of the inventory, with its lifecycle state.
type Token struct {
	Serial       string    `json:"serial"`
	Manufacturer string    `json:"manufacturer,omitempty"`
	Kind         Kind      `json:"kind"`
	Algorithm    Algorithm `json:"algorithm"`
	Digits       int       `json:"digits"`
	PeriodS      int64     `json:"period_s"`
	// SealedSecret is the seed, encrypted with the server's seed key.
	SealedSecret []byte `json:"sealed_secret"`

	Status Status `json:"status"`
	Locked bool   `json:"locked"`
	// SuspendedBy is ActorUser or ActorAdmin.
	SuspendedBy ActorKind `json:"suspended_by,omitempty"`
	SuspendedAt time.Time `json:"suspended_at,omitzero"`
	// OwnerID is the account the token is activated on.
	OwnerID string `json:"owner_id,omitempty"`
	Level   Level  `json:"level,omitempty"`

	// SessionEpoch counts the times the token stopped being usable to log
	// in (suspended, locked, expired, revoked): each ends the hardware OTP
	// sessions it gave their strength before (docs/lifecycle.md,
	// “Sessions”).
	SessionEpoch int `json:"session_epoch,omitempty"`

	// FailCount counts consecutive wrong login codes (lockout).
	FailCount int `json:"fail_count"`
	// FailureTimes are the times of the wrong login codes within the
	// lockout budget's window, oldest first: at most LockoutBudget of them
	// (docs/lifecycle.md, “Lockout”).
	FailureTimes []time.Time `json:"failure_times,omitempty"`
	// ActivationFailures and ResyncFailures count failed attempts; at the
	// policy's limit the token is Blocked until an administrator resets it.
	ActivationFailures int  `json:"activation_failures"`
	ResyncFailures     int  `json:"resync_failures"`
	Blocked            bool `json:"blocked"`

	// DriftSteps is the learned offset of the token's clock, in steps.
	DriftSteps int64 `json:"drift_steps"`
	// AnchorAt and AnchorDrift are the last successful sync: when, and the
	// drift (steps) found then. DriftPPM is the estimated drift rate from
	// RateSamples intervals between syncs (rate policy).
	AnchorAt    time.Time `json:"anchor_at,omitzero"`
	AnchorDrift int64     `json:"anchor_drift,omitempty"`
	DriftPPM    float64   `json:"drift_ppm,omitempty"`
	RateSamples int       `json:"rate_samples,omitempty"`
	// LastStep is the last accepted time step (TOTP) or counter (HOTP); a
	// code is accepted only for a later step. -1: none yet.
	LastStep int64 `json:"last_step"`

	ImportedAt  time.Time `json:"imported_at"`
	PurchasedAt time.Time `json:"purchased_at,omitzero"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	LastUsedAt  time.Time `json:"last_used_at,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	RevokedBy   ActorKind `json:"revoked_by,omitempty"`
	// Reminders are the reminders already sent in the current state, so
	// that each goes out once.
	Reminders []string `json:"reminders,omitempty"`
	// NextEventAt is when the sweep next has something to do for the token
	// (a reminder, an expiry, a revocation); zero when nothing is scheduled.
	NextEventAt time.Time `json:"next_event_at,omitzero"`
}

// Sponsorship entitles a user to activate a serial: a partner paying for the
// token (by a deadline), or a licence key the user redeemed (LicenceKey set).
type Sponsorship struct {
	UserID string `json:"user_id"`
	Serial string `json:"serial"`
	// ActivateBy is the activation deadline; zero means none.
	ActivateBy time.Time `json:"activate_by,omitzero"`
	// ApplicationID is the sponsoring application, whose terms the user
	// must accept before activating.
	ApplicationID string `json:"application_id,omitempty"`
	Level         Level  `json:"level"`
	// LicenceKey is set when the entitlement comes from a redeemed licence key.
	LicenceKey string    `json:"licence_key,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	Used       bool      `json:"used"`
}

// LicenceKey is a purchased credential, bound to a token serial and a
// product (level 2 without identity proofing, level 3 with).
type LicenceKey struct {
	Key         string    `json:"key"`
	Serial      string    `json:"serial"`
	Level       Level     `json:"level"`
	PurchasedAt time.Time `json:"purchased_at"`
	RedeemedBy  string    `json:"redeemed_by,omitempty"`
	RedeemedAt  time.Time `json:"redeemed_at,omitzero"`
}

// Credential is what a session was authenticated with.
type Credential int

// Credentials, weakest first.
const (
	CredentialPassword Credential = iota + 1
	CredentialPhoneOTP
	CredentialHardwareOTP
)

var credentialNames = map[Credential]string{CredentialPassword: "password", CredentialPhoneOTP: "phone_otp", CredentialHardwareOTP: "hardware_otp"}

// String returns password, phone_otp or hardware_otp.
func (c Credential) String() string { return credentialNames[c] }

// MarshalText implements encoding.TextMarshaler; the zero Credential (not
// set) is "".
func (c Credential) MarshalText() ([]byte, error) {
	if c == 0 {
		return []byte{}, nil
	}
	if n, ok := credentialNames[c]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("unknown credential %d", int(c))
}

// UnmarshalText reads password, phone_otp or hardware_otp.
func (c *Credential) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = 0
		return nil
	}
	for k, n := range credentialNames {
		if n == string(b) {
			*c = k
			return nil
		}
	}
	return fmt.Errorf("unknown credential %q: use password, phone_otp or hardware_otp", b)
}

// Strength is a credential and its level; a password is level 1.
type Strength struct {
	Credential Credential `json:"credential"`
	Level      Level      `json:"level"`
}

// Meets reports whether s is at least min: a credential at least as strong,
// at a level at least as high.
func (s Strength) Meets(min Strength) bool {
	return s.Credential >= min.Credential && s.Level >= min.Level
}

// Application is a partner application behind the portal.
type Application struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	MinStrength Strength `json:"min_strength"`
	// Terms is the text of the terms and conditions; empty means none to accept.
	Terms string `json:"terms,omitempty"`
}

// Session is a logged-in session. It ends when the user logs out, when it
// has not been used for SessionIdleTimeout, SessionMaxLifetime after the
// login, and, when its strength came from a hardware token, when the token
// stops being usable (docs/lifecycle.md, “Sessions”).
type Session struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Strength  Strength  `json:"strength"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsedAt is the last use: the login, an elevation, an application
	// opened. Zero in a session stored before it was kept: the login.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// Serial is the hardware token whose code gave the session its
	// strength, and TokenEpoch that token's SessionEpoch at the time.
	Serial     string `json:"serial,omitempty"`
	TokenEpoch int    `json:"token_epoch,omitempty"`
	// Phone is the phone whose code gave the session its strength: its
	// number, the account it is registered on (a connected account's
	// parent), its ID, and that account's PhoneSubscription.Epoch at the
	// time (docs/lifecycle.md, “Sessions”).
	Phone      string    `json:"phone,omitempty"`
	PhoneOwner string    `json:"phone_owner,omitempty"`
	PhoneID    int       `json:"phone_id,omitempty"`
	PhoneEpoch int       `json:"phone_epoch,omitempty"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	// MustChangePassword is set while the account's password is a
	// temporary one: every application refuses the session
	// (password_change_required) until the user changes it. It belongs to
	// the account, not to the session: the server fills it in from the
	// account whenever it hands out a session.
	MustChangePassword bool `json:"must_change_password"`
}

// Notification is an e-mail (or text) the system would send.
type Notification struct {
	ID        int64            `json:"id"`
	UserID    string           `json:"user_id"`
	Recipient string           `json:"recipient"`
	Kind      NotificationKind `json:"kind"`
	Subject   string           `json:"subject"`
	Body      string           `json:"body"`
	CreatedAt time.Time        `json:"created_at"`
}

// AuditEntry records a state change or a refusal: who, what, when, outcome.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	// Outcome is "ok" or the error code.
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}
