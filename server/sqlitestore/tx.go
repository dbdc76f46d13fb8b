package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// tx is a server.Tx on a SQL transaction.
type tx struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts *stmtCache // the writer's prepared statements; nil in a View
	rows  *rowCache  // the writer's cached rows; nil in a View
}

var _ server.Tx = (*tx)(nil)

// encode is v as the JSON stored in a data column, its times in UTC.
func encode[T any](v T) (string, error) {
	b, err := json.Marshal(inUTC(v))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// nanos is t as a column value: unix nanoseconds, NULL for the zero time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// put runs an upsert of one record with args, the last of which is v, encoded.
func put[T any](t *tx, what, query string, v T, args ...any) error {
	_, err := putData(t, what, query, v, args...)
	return err
}

// putData is put, returning the data written.
func putData[T any](t *tx, what, query string, v T, args ...any) (string, error) {
	data, err := encode(v)
	if err != nil {
		return "", fmt.Errorf("put %s: %w", what, err)
	}
	if _, err := t.exec(query, append(args, data)...); err != nil {
		return "", fmt.Errorf("put %s: %w", what, err)
	}
	return data, nil
}

// get reads the record of the query's one data column, ErrNoRecord if none.
func get[T any](t *tx, what, query string, args ...any) (T, error) {
	var v T
	data, err := getData(t, what, query, args...)
	if err != nil {
		return v, err
	}
	return decodeData[T](what, data)
}

// getData reads the query's one data column, ErrNoRecord if no row.
func getData(t *tx, what, query string, args ...any) (string, error) {
	var data string
	err := t.queryRow(query, args...).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%s: %w", what, server.ErrNoRecord)
	}
	if err != nil {
		return "", fmt.Errorf("get %s: %w", what, err)
	}
	return data, nil
}

// getCached is get of the row k through the committer's cache.
func getCached[T any](t *tx, k rowKey, what, query string, args ...any) (T, error) {
	data, ok := t.rows.get(k)
	if !ok {
		var err error
		if data, err = getData(t, what, query, args...); err != nil {
			var v T
			return v, err
		}
		t.rows.read(k, data, nil)
	}
	return decodeData[T](what, data)
}

func decodeData[T any](what, data string) (T, error) {
	var v T
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return v, fmt.Errorf("get %s: %w", what, err)
	}
	return v, nil
}

// list reads the records of the query's rows, of columns id and data; set,
// if not nil, gives each record the id of its row.
func list[T any](t *tx, what string, set func(*T, int64), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var id int64
		var data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		var v T
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		if set != nil {
			set(&v, id)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return out, nil
}

// insert runs an insert of v, encoded, as the last of args, and returns the
// new row's id.
func insert[T any](t *tx, what, query string, v T, args ...any) (int64, error) {
	data, err := encode(v)
	if err != nil {
		return 0, fmt.Errorf("add %s: %w", what, err)
	}
	res, err := t.exec(query, append(args, data)...)
	if err != nil {
		return 0, fmt.Errorf("add %s: %w", what, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add %s: %w", what, err)
	}
	return id, nil
}

func (t *tx) Account(userID string) (server.Account, error) {
	return getCached[server.Account](t, rowKey{"accounts", userID}, fmt.Sprintf("account %q", userID),
		`SELECT data FROM accounts WHERE user_id = ?`, userID)
}

func (t *tx) PutAccount(a server.Account) error {
	data, err := putData(t, fmt.Sprintf("account %q", a.UserID),
		`INSERT INTO accounts (user_id, next_event_at, data) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET next_event_at = excluded.next_event_at, data = excluded.data`, a, a.UserID, nanos(a.NextEventAt))
	if err == nil {
		t.rows.wrote(rowKey{"accounts", a.UserID}, data, nil)
	}
	return err
}

func (t *tx) Accounts() ([]server.Account, error) {
	return list[server.Account](t, "accounts", nil, `SELECT 0, data FROM accounts ORDER BY user_id`)
}

func (t *tx) AccountsDue(at time.Time) ([]server.Account, error) {
	return list[server.Account](t, "accounts due", nil,
		`SELECT 0, data FROM accounts WHERE next_event_at IS NOT NULL AND next_event_at <= ?
		ORDER BY next_event_at, user_id`, at.UnixNano())
}

func (t *tx) Token(serial string) (server.Token, error) {
	if k, ok, err := t.cachedToken(serial); ok {
		return k, err
	}
	what := fmt.Sprintf("token %q", serial)
	data, err := getData(t, what, `SELECT data FROM tokens WHERE serial = ?`, serial)
	if err != nil {
		return server.Token{}, err
	}
	return t.readToken(serial, data)
}

// cachedToken is the token from the committer's cache, if it has it.
func (t *tx) cachedToken(serial string) (server.Token, bool, error) {
	if k, ok := t.rows.decoded(serial); ok {
		return cloneToken(*k), true, nil
	}
	data, ok := t.rows.get(rowKey{"tokens", serial})
	if !ok {
		return server.Token{}, false, nil
	}
	k, err := t.readToken(serial, data)
	return k, true, err
}

// readToken decodes a token row's data, and caches it and the token.
func (t *tx) readToken(serial, data string) (server.Token, error) {
	var k server.Token
	if err := json.Unmarshal([]byte(data), &k); err != nil {
		return k, fmt.Errorf("get token %q: %w", serial, err)
	}
	if t.rows != nil {
		c := cloneToken(k)
		t.rows.read(rowKey{"tokens", serial}, data, &c)
	}
	return k, nil
}

// PutToken first tries to change only the data column, which succeeds when
// the token exists and its indexed columns keep their values — the case of
// every login — and leaves the three indexes untouched; otherwise it
// upserts the whole row. A login writes about a third of the pages it
// would otherwise, and the commit is what bounds durable throughput.
func (t *tx) PutToken(k server.Token) error {
	what := fmt.Sprintf("token %q", k.Serial)
	data, err := encode(k)
	if err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	res, err := t.exec(`UPDATE tokens SET data = ? WHERE serial = ? AND owner_id IS ? AND status = ? AND next_event_at IS ?`,
		data, k.Serial, k.OwnerID, string(k.Status), nanos(k.NextEventAt))
	if err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	} else if n == 1 {
		t.rows.wrote(rowKey{"tokens", k.Serial}, data, storedToken(k))
		return nil
	}
	if _, err := t.exec(`INSERT INTO tokens (serial, owner_id, status, next_event_at, data) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (serial) DO UPDATE SET owner_id = excluded.owner_id, status = excluded.status,
			next_event_at = excluded.next_event_at, data = excluded.data`,
		k.Serial, k.OwnerID, string(k.Status), nanos(k.NextEventAt), data); err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	t.rows.wrote(rowKey{"tokens", k.Serial}, data, storedToken(k))
	t.rows.ownersChanged()
	return nil
}

func (t *tx) Tokens(f server.TokenFilter) ([]server.Token, error) {
	if f.OwnerID != "" && f.Status == "" && t.rows != nil {
		return t.ownedTokens(f.OwnerID)
	}
	var where []string
	var args []any
	if f.OwnerID != "" {
		where = append(where, "owner_id = ?")
		args = append(args, f.OwnerID)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	q := `SELECT 0, data FROM tokens`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return list[server.Token](t, "tokens", nil, q+" ORDER BY serial", args...)
}

// ownedTokens lists an owner's tokens through the committer's cache.
func (t *tx) ownedTokens(owner string) ([]server.Token, error) {
	if serials, ok := t.rows.ownedBy(owner); ok {
		var out []server.Token // nil for none, as from the query
		for _, serial := range serials {
			k, ok, err := t.cachedToken(serial)
			if err != nil {
				return nil, fmt.Errorf("list tokens: %w", err)
			}
			if !ok {
				break // dropped from the cache: read them all
			}
			out = append(out, k)
		}
		if len(out) == len(serials) {
			return out, nil
		}
	}
	rows, err := t.query(`SELECT serial, data FROM tokens WHERE owner_id = ? ORDER BY serial`, owner)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []server.Token
	var serials []string
	for rows.Next() {
		var serial, data string
		if err := rows.Scan(&serial, &data); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		k, err := t.readToken(serial, data)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		serials = append(serials, serial)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	t.rows.readOwned(owner, serials)
	return out, nil
}

func (t *tx) TokensDue(at time.Time) ([]server.Token, error) {
	return list[server.Token](t, "tokens due", nil,
		`SELECT 0, data FROM tokens WHERE next_event_at IS NOT NULL AND next_event_at <= ?
		ORDER BY next_event_at, serial`, at.UnixNano())
}

func (t *tx) Sponsorship(userID, serial string) (server.Sponsorship, error) {
	return get[server.Sponsorship](t, fmt.Sprintf("sponsorship of %q for %q", serial, userID),
		`SELECT data FROM sponsorships WHERE user_id = ? AND serial = ?`, userID, serial)
}

func (t *tx) PutSponsorship(p server.Sponsorship) error {
	return put(t, fmt.Sprintf("sponsorship of %q for %q", p.Serial, p.UserID),
		`INSERT INTO sponsorships (user_id, serial, data) VALUES (?, ?, ?)
		ON CONFLICT (user_id, serial) DO UPDATE SET data = excluded.data`, p, p.UserID, p.Serial)
}

func (t *tx) Sponsorships(userID string) ([]server.Sponsorship, error) {
	return list[server.Sponsorship](t, "sponsorships", nil,
		`SELECT 0, data FROM sponsorships WHERE user_id = ? ORDER BY serial`, userID)
}

func (t *tx) LicenceKey(key string) (server.LicenceKey, error) {
	return get[server.LicenceKey](t, fmt.Sprintf("licence key %q", key),
		`SELECT data FROM licence_keys WHERE key = ?`, key)
}

func (t *tx) PutLicenceKey(l server.LicenceKey) error {
	return put(t, fmt.Sprintf("licence key %q", l.Key),
		`INSERT INTO licence_keys (key, data) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET data = excluded.data`, l, l.Key)
}

func (t *tx) Application(id string) (server.Application, error) {
	return get[server.Application](t, fmt.Sprintf("application %q", id),
		`SELECT data FROM applications WHERE id = ?`, id)
}

func (t *tx) PutApplication(a server.Application) error {
	return put(t, fmt.Sprintf("application %q", a.ID),
		`INSERT INTO applications (id, data) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`, a, a.ID)
}

func (t *tx) Applications() ([]server.Application, error) {
	return list[server.Application](t, "applications", nil, `SELECT 0, data FROM applications ORDER BY id`)
}

func (t *tx) TermsAccepted(userID, appID string) (bool, error) {
	var n int
	err := t.queryRow(
		`SELECT count(*) FROM terms WHERE user_id = ? AND app_id = ?`, userID, appID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("terms of %q for %q: %w", appID, userID, err)
	}
	return n > 0, nil
}

// AcceptTerms records the acceptance; accepting again records the new time.
func (t *tx) AcceptTerms(userID, appID string, at time.Time) error {
	_, err := t.exec(
		`INSERT INTO terms (user_id, app_id, accepted_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id, app_id) DO UPDATE SET accepted_at = excluded.accepted_at`,
		userID, appID, at.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("accept terms of %q for %q: %w", appID, userID, err)
	}
	return nil
}

func (t *tx) OrganizationTermsAccepted(organization, appID string) (bool, error) {
	var n int
	err := t.queryRow(
		`SELECT count(*) FROM organization_terms WHERE organization = ? AND app_id = ?`, organization, appID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("terms of %q for organization %q: %w", appID, organization, err)
	}
	return n > 0, nil
}

// AcceptOrganizationTerms records the acceptance; accepting again records
// the new time.
func (t *tx) AcceptOrganizationTerms(organization, appID string, at time.Time) error {
	_, err := t.exec(
		`INSERT INTO organization_terms (organization, app_id, accepted_at) VALUES (?, ?, ?)
		ON CONFLICT (organization, app_id) DO UPDATE SET accepted_at = excluded.accepted_at`,
		organization, appID, at.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("accept terms of %q for organization %q: %w", appID, organization, err)
	}
	return nil
}

func (t *tx) Session(id string) (server.Session, error) {
	return get[server.Session](t, fmt.Sprintf("session %q", id),
		`SELECT data FROM sessions WHERE id = ?`, id)
}

func (t *tx) PutSession(s server.Session) error {
	// created_at orders a user's sessions; the zero time sorts first.
	var created int64
	if !s.CreatedAt.IsZero() {
		created = s.CreatedAt.UnixNano()
	}
	return put(t, fmt.Sprintf("session %q", s.ID),
		`INSERT INTO sessions (id, user_id, created_at, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at,
			data = excluded.data`, s, s.ID, s.UserID, created)
}

// Sessions lists a user's sessions by creation time, then in the order they
// were first put.
func (t *tx) Sessions(userID string) ([]server.Session, error) {
	return list[server.Session](t, "sessions", nil,
		`SELECT 0, data FROM sessions WHERE user_id = ? ORDER BY created_at, rowid`, userID)
}

func (t *tx) AddNotification(n server.Notification) (int64, error) {
	n.ID = 0 // the id column is the one ID
	return insert(t, "notification", `INSERT INTO notifications (user_id, data) VALUES (?, ?)`, n, n.UserID)
}

func setNotificationID(n *server.Notification, id int64) { n.ID = id }

func (t *tx) Notifications(userID string) ([]server.Notification, error) {
	if userID == "" {
		return list(t, "notifications", setNotificationID, `SELECT id, data FROM notifications ORDER BY id`)
	}
	return list(t, "notifications", setNotificationID,
		`SELECT id, data FROM notifications WHERE user_id = ? ORDER BY id`, userID)
}

func (t *tx) AddAudit(e server.AuditEntry) (int64, error) {
	e.ID = 0 // the id column is the one ID
	return insert(t, "audit entry", `INSERT INTO audit (target, at, data) VALUES (?, ?, ?)`, e, e.Target, auditNanos(e.At))
}

// auditNanos is an audit entry's time as its at column: unix nanoseconds,
// NULL for the zero time and for a time they cannot hold (before 1678,
// after 2261), which is then never too old to keep.
func auditNanos(at time.Time) any {
	if y := at.UTC().Year(); at.IsZero() || y < 1678 || y > 2261 {
		return nil
	}
	return at.UnixNano()
}

// PruneAudit deletes by the at column (the entry's time), then by ID.
func (t *tx) PruneAudit(before time.Time, keep int) (int, error) {
	var n int64
	del := func(query string, arg any) error {
		res, err := t.exec(query, arg)
		if err != nil {
			return fmt.Errorf("prune audit: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("prune audit: %w", err)
		}
		n += k
		return nil
	}
	if !before.IsZero() {
		var cut int64 = math.MinInt64 // before 1678: nothing is older
		switch y := before.UTC().Year(); {
		case y > 2261:
			cut = math.MaxInt64
		case y >= 1678:
			cut = before.UnixNano()
		}
		if err := del(`DELETE FROM audit WHERE at < ?`, cut); err != nil {
			return 0, err
		}
	}
	if keep > 0 {
		// The subquery is NULL, and nothing is deleted, when keep or fewer are left.
		if err := del(`DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?)`, keep); err != nil {
			return 0, err
		}
	}
	return int(n), nil
}

func setAuditID(e *server.AuditEntry, id int64) { e.ID = id }

func (t *tx) Audit(target string, limit int) ([]server.AuditEntry, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	var es []server.AuditEntry
	var err error
	if target == "" {
		es, err = list(t, "audit", setAuditID, `SELECT id, data FROM audit ORDER BY id DESC LIMIT ?`, limit)
	} else {
		es, err = list(t, "audit", setAuditID,
			`SELECT id, data FROM audit WHERE target = ? ORDER BY id DESC LIMIT ?`, target, limit)
	}
	slices.Reverse(es) // oldest first
	return es, err
}

func (t *tx) Meta(name string) (string, error) {
	var v string
	err := t.queryRow(`SELECT value FROM meta WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("meta %q: %w", name, server.ErrNoRecord)
	}
	if err != nil {
		return "", fmt.Errorf("get meta %q: %w", name, err)
	}
	return v, nil
}

func (t *tx) PutMeta(name, value string) error {
	if _, err := t.exec(`INSERT INTO meta (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value); err != nil {
		return fmt.Errorf("put meta %q: %w", name, err)
	}
	return nil
}
