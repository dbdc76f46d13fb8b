package server

import (
	"context"
	"errors"
	"time"
)

// ErrNoRecord is what a Store (its Tx) returns for a missing record. It is
// never shown to a caller: the server turns a miss into the refusal the flow
// calls for — ErrNotExist (not_found), ErrSerialIncorrect,
// ErrCredentialsInvalid, … — and any other is an internal error.
var ErrNoRecord = errors.New("not found")

// ErrUnavailable is what a Store returns (wrapped) when its database
// cannot answer for now — unreachable, restarting, out of connections —
// rather than because of the request: the request may succeed if tried
// again, and the HTTP API answers it with 503 unavailable. SQLite in the
// server's own process never does; PostgreSQL (server/pgstore) does.
var ErrUnavailable = errors.New("the store is unavailable")

// Store keeps the server's state durably. Every server operation runs in
// one Update (or View) transaction: an Update commits only when its function
// returns nil, and is acknowledged only after the commit is durable. Updates
// are serialisable: two at once behave as one after the other, which is what
// makes a code acceptable only once under concurrent requests — across
// processes too, when several share the store's data.
//
// A store may run an Update's function more than once: a store that runs
// Updates side by side (PostgreSQL, server/pgstore) runs one again, from
// the start and on fresh reads, when it could not be serialised with the
// others, and keeps only the last run's writes. So the function must keep
// nothing outside the Tx but results it sets on every run: no counters
// added to, no in-memory state changed, nothing sent.
//
// The default Store is SQLite (server/sqlitestore). Records are whole
// values: Put replaces, Get returns a copy.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is one transaction. Get methods return ErrNoRecord for a missing record.
type Tx interface {
	Account(userID string) (Account, error)
	PutAccount(Account) error
	Accounts() ([]Account, error)
	// AccountsDue lists accounts whose NextEventAt is set and not after t,
	// by NextEventAt then user ID.
	AccountsDue(t time.Time) ([]Account, error)

	Token(serial string) (Token, error)
	PutToken(Token) error
	// Tokens lists tokens in serial order; an empty filter field matches all.
	Tokens(f TokenFilter) ([]Token, error)
	// TokensDue lists tokens whose NextEventAt is set and not after t.
	TokensDue(t time.Time) ([]Token, error)

	Sponsorship(userID, serial string) (Sponsorship, error)
	PutSponsorship(Sponsorship) error
	Sponsorships(userID string) ([]Sponsorship, error)

	LicenceKey(key string) (LicenceKey, error)
	PutLicenceKey(LicenceKey) error

	Application(id string) (Application, error)
	PutApplication(Application) error
	Applications() ([]Application, error)
	TermsAccepted(userID, appID string) (bool, error)
	AcceptTerms(userID, appID string, at time.Time) error
	// OrganizationTermsAccepted reports whether an organization's
	// administrator accepted an application's terms for everyone in it;
	// AcceptOrganizationTerms records it (again: the new time).
	OrganizationTermsAccepted(organization, appID string) (bool, error)
	AcceptOrganizationTerms(organization, appID string, at time.Time) error

	Session(id string) (Session, error)
	PutSession(Session) error
	// Sessions lists a user's sessions, oldest first.
	Sessions(userID string) ([]Session, error)

	// AddNotification stores n with the next ID and returns it.
	AddNotification(n Notification) (int64, error)
	// Notifications lists a user's notifications, oldest first; "" lists all.
	Notifications(userID string) ([]Notification, error)

	// AddAudit stores e with the next ID and returns it.
	AddAudit(e AuditEntry) (int64, error)
	// Audit lists entries, oldest first; an empty target lists all. At most
	// limit entries (the newest), all when limit <= 0.
	Audit(target string, limit int) ([]AuditEntry, error)

	// Heartbeat is the time PutHeartbeat last wrote, zero if it never did.
	// They are the health check's read and write (Server.Health): one
	// small fixed record, so the check costs the same whatever the store
	// holds.
	Heartbeat() (time.Time, error)
	PutHeartbeat(at time.Time) error

	// PruneAudit deletes the entries dated before before (none when before
	// is zero; an entry with the zero time is never too old), then all but
	// the newest keep entries by ID (none when keep <= 0), and returns how
	// many it deleted. IDs of deleted entries are never given again.
	PruneAudit(before time.Time, keep int) (int, error)

	// Meta is a value the server keeps about its data as a whole (the seed
	// key's check value); PutMeta sets it.
	Meta(name string) (string, error)
	PutMeta(name, value string) error
}

// A LogAppender is a Tx that adds an audit entry or a notification
// without saying its ID, which lets a store send the entry with the commit
// rather than wait for it (server/pgstore: one round trip to the database
// fewer per verification). The server adds through it when the Tx has it.
type LogAppender interface {
	AppendAudit(AuditEntry) error
	AppendNotification(Notification) error
}

// addAudit adds e, through LogAppender when tx has it.
func addAudit(tx Tx, e AuditEntry) error {
	if a, ok := tx.(LogAppender); ok {
		return a.AppendAudit(e)
	}
	_, err := tx.AddAudit(e)
	return err
}

// addNotification adds n, through LogAppender when tx has it.
func addNotification(tx Tx, n Notification) error {
	if a, ok := tx.(LogAppender); ok {
		return a.AppendNotification(n)
	}
	_, err := tx.AddNotification(n)
	return err
}

// An Exclusive store runs a function while no other server on the same
// data runs one under the same name (an advisory lock, for PostgreSQL):
// the sweep runs so, so that replicas sharing a database do not do its
// work twice at once. The lock goes when the function returns or the
// process dies; fn's context ends if the lock is lost. The sweep is
// correct without it — each token's events are applied in one serialisable
// Update that reads the token afresh — so the lock saves work, it does not
// guard data.
type Exclusive interface {
	Exclusive(ctx context.Context, name string, fn func(context.Context) error) error
}

// TokenFilter selects tokens.
type TokenFilter struct {
	OwnerID string
	Status  Status
}
