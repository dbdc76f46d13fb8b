package server

import "time"

// Policy holds every default of the lifecycle (SPEC §3.3). The zero value
// of a field means its default, so Policy{} is the guide's policy and a test
// can change one rule at a time.
type Policy struct {
	// OperatorName and PortalName fill the guide's messages ("Contact
	// Exostar Customer Support", "log into MAG"). Defaults: Exostar, MAG.
	OperatorName string
	PortalName   string

	// SyncWindow is how many steps either side of the server's time
	// activation and resync search for two consecutive codes. Default 1000,
	// like the common open OTP servers (about ±8 hours at 30 s).
	SyncWindow int
	// LoginWindow is how many steps either side of the server's time plus
	// the learned drift a login code may come from. Default 1.
	LoginWindow int
	// DriftTracking is how a login's window follows a token's clock:
	//   - "offset" (the default): centred on the drift learned at the last
	//     success, ±LoginWindow;
	//   - "fixed": centred on the server's time, ±LoginWindow, whatever the
	//     token's drift (no tracking);
	//   - "rate": besides the offset, the drift rate is estimated from the
	//     successes, the window is centred on the offset predicted for now and
	//     widened by what the rate may still be wrong by since the last
	//     success — MaxDriftPPM until a rate is known, less as it firms up —
	//     at most MaxLoginWindow steps either way.
	DriftTracking string
	// MaxDriftPPM is the worst clock drift the rate policy allows for.
	// Default 15 ppm (real tokens: 3 to 12).
	MaxDriftPPM float64
	// MaxLoginWindow caps the rate policy's widened window. Default 10
	// steps either way (21 codes accepted per attempt at most).
	MaxLoginWindow int
	// HOTPLookAhead is how many counters past the last accepted one an HOTP
	// login code may come from. Default 10.
	HOTPLookAhead int
	// LockoutThreshold is the number of consecutive wrong login codes that
	// lock the token. Default 5.
	LockoutThreshold int
	// ActivationAttempts and ResyncAttempts are the failed attempts after
	// which activation or resync is blocked until an administrator resets
	// the token. Default 3 each.
	ActivationAttempts int
	ResyncAttempts     int

	// Validity is how long a token is valid from its purchase, and how far a
	// renewal moves the expiry. Default one year (365 days).
	Validity time.Duration
	// ExpiryReminder is how long before expiry the renewal reminder goes
	// out. Default 30 days.
	ExpiryReminder time.Duration
	// SuspendedRevokeAfter is how long a token may stay suspended before it
	// is revoked automatically. Default 60 days.
	SuspendedRevokeAfter time.Duration
	// ExpiredRevokeAfter is how long a token may stay expired before it is
	// revoked automatically. Default one year (365 days). The guide also
	// mentions renewing "by the end of the 59th day"; set 59 days to follow
	// that reading instead.
	ExpiredRevokeAfter time.Duration
	// RevocationReminders are how long before an automatic revocation the
	// reminders go out. Default 30, 15 and 3 days.
	RevocationReminders []time.Duration

	// ApprovalRequired puts an activated token in Pending Approval until an
	// administrator approves it. Default false.
	ApprovalRequired bool

	// MaxPhones is how many phones an account may register for phone OTP.
	// Default 3. PhoneCodeValidity is how long a phone code is valid after
	// it is sent. Default 2 minutes.
	MaxPhones         int
	PhoneCodeValidity time.Duration

	// PasswordCost is the bcrypt cost. Default 10.
	PasswordCost int
}

const day = 24 * time.Hour

// The drift tracking policies.
const (
	DriftFixed  = "fixed"
	DriftOffset = "offset"
	DriftRate   = "rate"
)

// withDefaults returns p with every zero field set to its default.
func (p Policy) withDefaults() Policy {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if p.OperatorName == "" {
		p.OperatorName = "Exostar"
	}
	if p.PortalName == "" {
		p.PortalName = "MAG"
	}
	def(&p.SyncWindow, 1000)
	def(&p.LoginWindow, 1)
	if p.DriftTracking == "" {
		p.DriftTracking = DriftOffset
	}
	if p.MaxDriftPPM == 0 {
		p.MaxDriftPPM = 15
	}
	def(&p.MaxLoginWindow, 10)
	def(&p.HOTPLookAhead, 10)
	def(&p.LockoutThreshold, 5)
	def(&p.ActivationAttempts, 3)
	def(&p.ResyncAttempts, 3)
	defd(&p.Validity, 365*day)
	defd(&p.ExpiryReminder, 30*day)
	defd(&p.SuspendedRevokeAfter, 60*day)
	defd(&p.ExpiredRevokeAfter, 365*day)
	if len(p.RevocationReminders) == 0 {
		p.RevocationReminders = []time.Duration{30 * day, 15 * day, 3 * day}
	}
	def(&p.MaxPhones, 3)
	defd(&p.PhoneCodeValidity, 2*time.Minute)
	def(&p.PasswordCost, 10)
	return p
}

// DefaultPolicy is Policy{} with its defaults filled in, for display.
func DefaultPolicy() Policy { return Policy{}.withDefaults() }
