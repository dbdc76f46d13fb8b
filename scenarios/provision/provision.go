// Package provision puts fresh users holding virtual tokens into an OTP
// system tokenlab did not write, so that the probe, the scenario suites and
// the load test can log in to it over RADIUS. RADIUS cannot create tokens; a
// provisioner does it the way the system under test is administered:
//
//	tokenlab+http://HOST:PORT       tokenlab serve: its API, with $TOKENLAB_ADMIN_TOKEN
//	oath-usersfile:PATH             a liboath/pam_oath users file (HOTP/T30/8 user - HEX)
//	google-authenticator:DIR        per-user .google_authenticator files, DIR/USER
//	pskc:FILE?users=FILE.csv        tokens already loaded into the system: virtual
//	                                copies from the same seed file, mapped to users
//
// Every User is new (but for pskc:, whose users are the team's), so probes
// and specs never disturb each other. A token's true time is the Clock the
// provisioner was opened with: the system's for a server with a real clock,
// the server's own when it is tokenlab with a virtual clock.
package provision

import (
	"context"
	"errors"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/server"
)

// User is an account on the system under test and the virtual token it
// holds: pressing the token gives the codes the system expects from it.
type User struct {
	ID    string
	Token *emulator.Token
	// Password is the account's password where the system has one (tokenlab);
	// empty where the code alone logs in.
	Password string
}

// Options shape a new user's token. Zero values are the provisioner's
// defaults (8 digits where the system allows it).
type Options struct {
	// Digits is 6 or 8.
	Digits int
}

// Provisioner makes users on one system under test.
type Provisioner interface {
	// Name is the scheme, e.g. "oath-usersfile", for reports and skips.
	Name() string
	// NewUser makes a fresh user whose token logs in at once with the code
	// it shows now, with no code of it used yet.
	NewUser(ctx context.Context, o Options) (User, error)
	// Digits are the code lengths the system accepts from this
	// provisioner's tokens (google-authenticator: only 6).
	Digits() []int
	// Close releases what the provisioner holds (files it wrote stay: the
	// system under test reads them).
	Close() error
}

// Batch is the extra role of a provisioner that makes many users faster
// together than one by one: tokenlab+http imports their tokens as one seed
// file and moves a virtual clock once for all of them, where NewUser moves
// it once per user. A fleet load uses it when present.
type Batch interface {
	// NewUsers makes n users as NewUser does: each logs in at once with
	// the code its token shows, none of its codes used yet.
	NewUsers(ctx context.Context, n int, o Options) ([]User, error)
}

// ErrDigits is a digit count the provisioner's system does not take.
var ErrDigits = errors.New("provision: the system does not take tokens of that many digits")

// Service is the extra role of a provisioner whose system is tokenlab: its
// whole API, for the specs that activate, resync, suspend, revoke, read a
// token's state or move the clock.
type Service interface {
	Provisioner
	Service() server.Service
	// Advance moves the server's virtual clock and sweeps; an error when the
	// server's clock is real.
	Advance(ctx context.Context, d time.Duration) (server.SweepReport, error)
	// VirtualClock reports whether Advance can move the clock.
	VirtualClock() bool
	// Policy is the server's policy (its names make the refusal messages).
	Policy(ctx context.Context) (server.Policy, error)
}

// Opener makes a provisioner from the part of its spec after the scheme.
// Clock is the tokens' true time (nil: the system's clock).
type Opener func(ctx context.Context, rest string, clk emulator.Clock) (Provisioner, error)
