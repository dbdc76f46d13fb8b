package server

import (
	"context"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// The OATH maths, the clock and the seed-file codecs are internal building
// blocks that the server and the emulator share without importing each
// other. They stay internal — they are not products of their own — and the
// server's API names only what is declared here, so that a program in
// another module can call every exported function and fill every exported
// field: the types are the same ones (aliases), under the server's names.

// Clock tells the server the current time. It is as narrow as
// k8s.io/utils/clock's PassiveClock; time.Now wrapped in a type, or a
// virtual clock a test moves, both fit.
type Clock interface {
	Now() time.Time
}

// ClockMover is a virtual clock the API may move: a VirtualClock, or the
// one server/pgstore keeps in the database for every replica on it.
type ClockMover = clock.Mover

// A SharedClock is a Clock kept in the store, that every server on it
// shares (server/pgstore's virtual clock). The server reads an Update's
// time with NowTx inside the Update's own transaction, so that the time is
// the one in force at that transaction's place in the serial order: a move
// of the clock committed before is seen, on every replica. NowContext is
// the time outside a transaction, and says when the store cannot tell it.
type SharedClock interface {
	Clock
	NowTx(tx Tx) (time.Time, error)
	NowContext(ctx context.Context) (time.Time, error)
}

// VirtualClock is a clock that stands still until it is moved (Step, Set):
// a server started on one — tokenlab serve --virtual-clock, or a test — lets
// its time be moved through the API (see server/httpapi's Options).
type VirtualClock = clock.Virtual

// NewVirtualClock returns a virtual clock standing at t.
func NewVirtualClock(t time.Time) *VirtualClock { return clock.NewVirtual(t) }

// Kind says what moves a token's code on: time (TOTP) or events (HOTP).
type Kind = oath.Kind

// The token kinds.
const (
	TOTP = oath.TOTP
	HOTP = oath.HOTP
)

// Algorithm is the HMAC hash of a token's key.
type Algorithm = oath.Algorithm

// The algorithms RFC 6238 names; SHA1 is the zero value.
const (
	SHA1   = oath.SHA1
	SHA256 = oath.SHA256
	SHA512 = oath.SHA512
)

// Seed is one token of a vendor's seed file, as ImportSeeds takes it: its
// serial, its secret and its OATH parameters.
type Seed = seedfile.Token
