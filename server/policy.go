package server

import "time"

// Policy holds every rule of the lifecycle (docs/lifecycle.md). The zero
// value of a field means its default, so Policy{} is the guide's policy and
// a test can change one rule at a time. The defaults are written once, in
// the table PolicySettings returns, with the units and the JSON names of
// GET /v1/policy; docs/lifecycle.md, “Policy defaults”, shows that table.
// The table also says which values each setting takes: Validate refuses the
// others, and New refuses a policy Validate refuses. ParsePolicy reads a
// policy file (tokenlab serve --policy): GET /v1/policy's keys, each
// missing one the default.
type Policy struct {
	// OperatorName and PortalName fill the guide's messages ("Contact
	// {operator} Customer Support", "log into {portal}").
	OperatorName string
	PortalName   string

	// SyncWindow is how many steps either side of the server's time
	// activation and resync search for two consecutive codes; the default is
	// the common open OTP servers' window.
	SyncWindow int
	// LoginWindow is how many steps either side of the server's time plus
	// the learned drift a login code may come from.
	LoginWindow int
	// DriftTracking is how a login's window follows a token's clock:
	//   - "offset": centred on the drift learned at the last success,
	//     ±LoginWindow;
	//   - "fixed": centred on the server's time, ±LoginWindow, whatever the
	//     token's drift (no tracking);
	//   - "rate": besides the offset, the drift rate is estimated from the
	//     successes, the window is centred on the offset predicted for now and
	//     widened by what the rate may still be wrong by since the last
	//     success — MaxDriftPPM until a rate is known, less as it firms up —
	//     at most MaxLoginWindow steps either way.
	DriftTracking string
	// MaxDriftPPM is the worst clock drift the rate policy allows for (real
	// tokens drift 3 to 12 ppm).
	MaxDriftPPM float64
	// MaxLoginWindow caps the rate policy's widened window, steps either way.
	MaxLoginWindow int
	// HOTPLookAhead is how many counters past the last accepted one an HOTP
	// login code may come from.
	HOTPLookAhead int
	// LockoutThreshold is the number of consecutive wrong login codes that
	// lock the token.
	LockoutThreshold int
	// LockoutBudget is the number of wrong login codes, consecutive or not,
	// within LockoutBudgetWindow that lock the token as LockoutThreshold
	// does: a success clears the consecutive count, so that rule alone lets
	// an attacker guess four times between every two logins of the user.
	LockoutBudget       int
	LockoutBudgetWindow time.Duration
	// ActivationAttempts and ResyncAttempts are the failed attempts after
	// which activation or resync is blocked until an administrator resets
	// the token.
	ActivationAttempts int
	ResyncAttempts     int

	// Validity is how long a token is valid from its purchase, and how far a
	// renewal moves the expiry.
	Validity time.Duration
	// ExpiryReminder is how long before expiry the renewal reminder goes
	// out.
	ExpiryReminder time.Duration
	// SuspendedRevokeAfter is how long a token may stay suspended: the sweep
	// revokes it at the first instant past that ("suspended for more than
	// 60 days").
	SuspendedRevokeAfter time.Duration
	// ExpiredRevokeAfter is how long a token may stay expired: the sweep
	// revokes it at the first instant past that. The default follows the
	// guide's one-year rule;
	// the guide also mentions renewing "by the end of the 59th day": set 59
	// days to follow that reading instead.
	ExpiredRevokeAfter time.Duration
	// RevocationReminders are how long before an automatic revocation the
	// reminders go out.
	RevocationReminders []time.Duration

	// ApprovalRequired puts an activated token in Pending Approval until an
	// administrator approves it.
	ApprovalRequired bool

	// MaxPhones is how many phones an account may register for phone OTP.
	// PhoneCodeValidity is how long a phone code is valid after it is sent.
	MaxPhones         int
	PhoneCodeValidity time.Duration
	// PhoneCodeAttempts is how many wrong codes void a phone code: a new
	// one must be sent. With the send limit it bounds how many guesses a
	// holder of the password gets.
	PhoneCodeAttempts int
	// PhoneCodeSends is how many codes one number may be sent within
	// PhoneCodeSendWindow (an account's numbers together: PhoneCodeSends ×
	// MaxPhones), so that the API cannot be made to flood a phone.
	PhoneCodeSends      int
	PhoneCodeSendWindow time.Duration
	// PhoneValidity is how long a phone OTP subscription is valid from its
	// start, and how far a renewal moves its expiry; PhoneRenewalWindow is
	// how long after the expiry it may still be renewed, after which it
	// lapses: its phones are removed and a new one must be set up.
	PhoneValidity      time.Duration
	PhoneRenewalWindow time.Duration
	// PhoneChangeWithoutOTP lets an account that holds an OTP credential
	// add or remove phones without a phone or hardware OTP session; the
	// guide's rule ("the phone numbers can be updated only after you login
	// with your phone OTP") is the default.
	PhoneChangeWithoutOTP bool

	// SessionIdleTimeout ends a portal session that has not been used for
	// that long; SessionMaxLifetime ends it that long after the login,
	// used or not.
	SessionIdleTimeout time.Duration
	SessionMaxLifetime time.Duration

	// AllowShortSecrets lets an import hold secrets shorter than the 128
	// bits RFC 4226 asks for, for a lab whose test tokens have them (see
	// docs/lifecycle.md, “Inventory, sponsorship and licence keys”).
	AllowShortSecrets bool

	// AuditRetention is how long the sweep keeps an audit entry, and
	// AuditMaxEntries how many it keeps at most, the newest (see
	// docs/lifecycle.md, “The audit log”). A negative value is no limit.
	AuditRetention  time.Duration
	AuditMaxEntries int

	// NoNextCodeChallenge turns off the next-code challenge (see
	// VerifyOrChallenge): a code outside the login window is then a wrong
	// code whatever the sync window says.
	NoNextCodeChallenge bool
	// RadiusPasswordAndCode makes a RADIUS User-Password the account's
	// password followed by the code (a common VPN mode), instead of the code
	// alone; a challenge's answer is still the code alone.
	RadiusPasswordAndCode bool
	// PasswordMinLength is the fewest characters a password may have (a
	// new account's, a changed one); bcrypt reads at most 72 bytes, which
	// is the longest.
	PasswordMinLength int
	// PasswordCost is the bcrypt cost.
	PasswordCost int
}

const day = 24 * time.Hour

// The drift tracking policies.
const (
	DriftFixed  = "fixed"
	DriftOffset = "offset"
	DriftRate   = "rate"
)

// withDefaults returns p with every field that has its zero value set to
// its default.
func (p Policy) withDefaults() Policy {
	for _, s := range policySettings {
		s.fill(&p)
	}
	return p
}

// DefaultPolicy is Policy{} with its defaults filled in, for display.
func DefaultPolicy() Policy { return Policy{}.withDefaults() }
