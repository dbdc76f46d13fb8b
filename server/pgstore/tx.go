package pgstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenlab/tokenlab/server"
)

var _ server.Tx = (*tx)(nil)

// scanOne runs a query of one row into dest; a missing row is
// server.ErrNoRecord (not a failure: the transaction goes on).
func (t *tx) scanOne(what, query string, args []any, dest ...any) error {
	err := t.queryRow("get "+what, query, args, dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, server.ErrNoRecord)
	}
	return err
}

// encode is v as the JSON stored in a data column.
func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// nanos is t as a column value: unix nanoseconds, NULL for the zero time.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// get reads the record of the query's one data column, ErrNoRecord if none.
func get[T any](t *tx, what, query string, args ...any) (T, error) {
	var v T
	var data string
	if err := t.scanOne(what, query, args, &data); err != nil {
		return v, err
	}
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return v, fmt.Errorf("get %s: %w", what, err)
	}
	return v, nil
}

// put queues an upsert of one record with args, the last of which is v,
// encoded: it goes with the next statement that is answered, or the commit.
func put(t *tx, what, query string, v any, args ...any) error {
	data, err := encode(v)
	if err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	return t.write("put "+what, query, append(args, data)...)
}

// list reads the records of the query's rows, of columns id and data; set,
// if not nil, gives each record the id of its row.
func list[T any](t *tx, what string, set func(*T, int64), query string, args ...any) ([]T, error) {
	var out []T
	err := t.query("list "+what, query, args, func(rows pgx.Rows) error {
		var id int64
		var data string
		if err := rows.Scan(&id, &data); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			return err
		}
		if set != nil {
			set(&v, id)
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insert runs an insert of v, encoded, as the last of args, returning the
// new row's id.
func insert(t *tx, what, query string, v any, args ...any) (int64, error) {
	if t.readOnly {
		return 0, fmt.Errorf("add %s: %w", what, errReadOnly)
	}
	data, err := encode(v)
	if err != nil {
		return 0, fmt.Errorf("add %s: %w", what, err)
	}
	var id int64
	if err := t.queryRow("add "+what, query, append(args, data), &id); err != nil {
		return 0, err
	}
	return id, nil
}

// Account reads the account and, in the same round trip, the tokens it
// owns: the server's logins read them next (to find the login token), and
// a round trip to the database is what a verification mostly costs. The
// tokens are kept for Tokens until a token is written in the transaction.
func (t *tx) Account(userID string) (server.Account, error) {
	what := fmt.Sprintf("account %q", userID)
	var data string
	var owned []string
	err := t.sendAll(
		stmt{"get " + what, `SELECT data FROM accounts WHERE user_id = $1`, []any{userID},
			func(br pgx.BatchResults) error { return br.QueryRow().Scan(&data) }},
		stmt{"list tokens", `SELECT data FROM tokens WHERE owner_id = $1 ORDER BY serial`, []any{userID},
			func(br pgx.BatchResults) error {
				rows, err := br.Query()
				if err != nil {
					return err
				}
				defer rows.Close()
				owned = []string{}
				for rows.Next() {
					var d string
					if err := rows.Scan(&d); err != nil {
						return err
					}
					owned = append(owned, d)
				}
				return rows.Err()
			}})
	if owned != nil {
		if t.owned == nil {
			t.owned = map[string][]string{}
		}
		t.owned[userID] = owned
	}
	var a server.Account
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("%s: %w", what, server.ErrNoRecord)
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(data), &a); err != nil {
		return a, fmt.Errorf("get %s: %w", what, err)
	}
	return a, nil
}

func (t *tx) PutAccount(a server.Account) error {
	return put(t, fmt.Sprintf("account %q", a.UserID),
		`INSERT INTO accounts (user_id, next_event_at, data) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET next_event_at = excluded.next_event_at, data = excluded.data`,
		a, a.UserID, nanos(a.NextEventAt))
}

func (t *tx) Accounts() ([]server.Account, error) {
	return list[server.Account](t, "accounts", nil, `SELECT 0, data FROM accounts ORDER BY user_id`)
}

func (t *tx) AccountsDue(at time.Time) ([]server.Account, error) {
	return list[server.Account](t, "accounts due", nil,
		`SELECT 0, data FROM accounts WHERE next_event_at IS NOT NULL AND next_event_at <= $1
		ORDER BY next_event_at, user_id`, at.UnixNano())
}

func (t *tx) Token(serial string) (server.Token, error) {
	return get[server.Token](t, fmt.Sprintf("token %q", serial), `SELECT data FROM tokens WHERE serial = $1`, serial)
}

// PutToken upserts the whole row. A login changes only the data column;
// PostgreSQL then sees the indexed columns unchanged and updates the row
// in place (HOT), leaving the indexes alone.
func (t *tx) PutToken(k server.Token) error {
	t.owned = nil // what Account read ahead may no longer be so
	return put(t, fmt.Sprintf("token %q", k.Serial),
		`INSERT INTO tokens (serial, owner_id, status, next_event_at, data) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (serial) DO UPDATE SET owner_id = excluded.owner_id, status = excluded.status,
			next_event_at = excluded.next_event_at, data = excluded.data`,
		k, k.Serial, k.OwnerID, string(k.Status), nanos(k.NextEventAt))
}

func (t *tx) Tokens(f server.TokenFilter) ([]server.Token, error) {
	if owned, ok := t.owned[f.OwnerID]; ok && f.OwnerID != "" && f.Status == "" {
		var out []server.Token // nil for none, as from the query
		for _, d := range owned {
			var k server.Token
			if err := json.Unmarshal([]byte(d), &k); err != nil {
				return nil, fmt.Errorf("list tokens: %w", err)
			}
			out = append(out, k)
		}
		return out, nil
	}
	var where []string
	var args []any
	if f.OwnerID != "" {
		args = append(args, f.OwnerID)
		where = append(where, fmt.Sprintf("owner_id = $%d", len(args)))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	q := `SELECT 0, data FROM tokens`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return list[server.Token](t, "tokens", nil, q+" ORDER BY serial", args...)
}

func (t *tx) TokensDue(at time.Time) ([]server.Token, error) {
	return list[server.Token](t, "tokens due", nil,
		`SELECT 0, data FROM tokens WHERE next_event_at IS NOT NULL AND next_event_at <= $1
		ORDER BY next_event_at, serial`, at.UnixNano())
}

func (t *tx) Sponsorship(userID, serial string) (server.Sponsorship, error) {
	return get[server.Sponsorship](t, fmt.Sprintf("sponsorship of %q for %q", serial, userID),
		`SELECT data FROM sponsorships WHERE user_id = $1 AND serial = $2`, userID, serial)
}

func (t *tx) PutSponsorship(p server.Sponsorship) error {
	return put(t, fmt.Sprintf("sponsorship of %q for %q", p.Serial, p.UserID),
		`INSERT INTO sponsorships (user_id, serial, data) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, serial) DO UPDATE SET data = excluded.data`, p, p.UserID, p.Serial)
}

func (t *tx) Sponsorships(userID string) ([]server.Sponsorship, error) {
	return list[server.Sponsorship](t, "sponsorships", nil,
		`SELECT 0, data FROM sponsorships WHERE user_id = $1 ORDER BY serial`, userID)
}

func (t *tx) LicenceKey(key string) (server.LicenceKey, error) {
	return get[server.LicenceKey](t, fmt.Sprintf("licence key %q", key), `SELECT data FROM licence_keys WHERE key = $1`, key)
}

func (t *tx) PutLicenceKey(l server.LicenceKey) error {
	return put(t, fmt.Sprintf("licence key %q", l.Key),
		`INSERT INTO licence_keys (key, data) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET data = excluded.data`, l, l.Key)
}

func (t *tx) Application(id string) (server.Application, error) {
	return get[server.Application](t, fmt.Sprintf("application %q", id), `SELECT data FROM applications WHERE id = $1`, id)
}

func (t *tx) PutApplication(a server.Application) error {
	return put(t, fmt.Sprintf("application %q", a.ID),
		`INSERT INTO applications (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`, a, a.ID)
}

func (t *tx) Applications() ([]server.Application, error) {
	return list[server.Application](t, "applications", nil, `SELECT 0, data FROM applications ORDER BY id`)
}

// exists runs a query of whether a row exists.
func (t *tx) exists(what, query string, args ...any) (bool, error) {
	var ok bool
	if err := t.queryRow(what, query, args, &ok); err != nil {
		return false, err
	}
	return ok, nil
}

func (t *tx) TermsAccepted(userID, appID string) (bool, error) {
	return t.exists(fmt.Sprintf("terms of %q for %q", appID, userID),
		`SELECT EXISTS (SELECT 1 FROM terms WHERE user_id = $1 AND app_id = $2)`, userID, appID)
}

// AcceptTerms records the acceptance; accepting again records the new time.
func (t *tx) AcceptTerms(userID, appID string, at time.Time) error {
	return t.write(fmt.Sprintf("accept terms of %q for %q", appID, userID),
		`INSERT INTO terms (user_id, app_id, accepted_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, app_id) DO UPDATE SET accepted_at = excluded.accepted_at`,
		userID, appID, at.UTC().Format(time.RFC3339Nano))
}

func (t *tx) OrganizationTermsAccepted(organization, appID string) (bool, error) {
	return t.exists(fmt.Sprintf("terms of %q for organization %q", appID, organization),
		`SELECT EXISTS (SELECT 1 FROM organization_terms WHERE organization = $1 AND app_id = $2)`, organization, appID)
}

// AcceptOrganizationTerms records the acceptance; accepting again records
// the new time.
func (t *tx) AcceptOrganizationTerms(organization, appID string, at time.Time) error {
	return t.write(fmt.Sprintf("accept terms of %q for organization %q", appID, organization),
		`INSERT INTO organization_terms (organization, app_id, accepted_at) VALUES ($1, $2, $3)
		ON CONFLICT (organization, app_id) DO UPDATE SET accepted_at = excluded.accepted_at`,
		organization, appID, at.UTC().Format(time.RFC3339Nano))
}

func (t *tx) Session(id string) (server.Session, error) {
	return get[server.Session](t, fmt.Sprintf("session %q", id), `SELECT data FROM sessions WHERE id = $1`, id)
}

func (t *tx) PutSession(s server.Session) error {
	// created_at orders a user's sessions; the zero time sorts first.
	var created int64
	if !s.CreatedAt.IsZero() {
		created = s.CreatedAt.UnixNano()
	}
	return put(t, fmt.Sprintf("session %q", s.ID),
		`INSERT INTO sessions (id, user_id, created_at, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at,
			data = excluded.data`, s, s.ID, s.UserID, created)
}

// Sessions lists a user's sessions by creation time, then in the order they
// were first put.
func (t *tx) Sessions(userID string) ([]server.Session, error) {
	return list[server.Session](t, "sessions", nil,
		`SELECT 0, data FROM sessions WHERE user_id = $1 ORDER BY created_at, seq`, userID)
}

func (t *tx) AddNotification(n server.Notification) (int64, error) {
	n.ID = 0 // the id column is the one ID
	return insert(t, "notification", `INSERT INTO notifications (user_id, data) VALUES ($1, $2) RETURNING id`, n, n.UserID)
}

func setNotificationID(n *server.Notification, id int64) { n.ID = id }

func (t *tx) Notifications(userID string) ([]server.Notification, error) {
	if userID == "" {
		return list(t, "notifications", setNotificationID, `SELECT id, data FROM notifications ORDER BY id`)
	}
	return list(t, "notifications", setNotificationID,
		`SELECT id, data FROM notifications WHERE user_id = $1 ORDER BY id`, userID)
}

func (t *tx) AddAudit(e server.AuditEntry) (int64, error) {
	e.ID = 0 // the id column is the one ID
	return insert(t, "audit entry", `INSERT INTO audit (target, at, data) VALUES ($1, $2, $3) RETURNING id`, e, e.Target, auditNanos(e.At))
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
		tag, err := t.execNow("prune audit", query, arg)
		if err != nil {
			return err
		}
		n += tag.RowsAffected()
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
		if err := del(`DELETE FROM audit WHERE at < $1`, cut); err != nil {
			return 0, err
		}
	}
	if keep > 0 {
		// The subquery is NULL, and nothing is deleted, when keep or fewer are left.
		if err := del(`DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET $1)`, keep); err != nil {
			return 0, err
		}
	}
	return int(n), nil
}

func setAuditID(e *server.AuditEntry, id int64) { e.ID = id }

func (t *tx) Audit(target string, limit int) ([]server.AuditEntry, error) {
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	var es []server.AuditEntry
	var err error
	if target == "" {
		es, err = list(t, "audit", setAuditID, `SELECT id, data FROM audit ORDER BY id DESC LIMIT $1`, lim)
	} else {
		es, err = list(t, "audit", setAuditID,
			`SELECT id, data FROM audit WHERE target = $1 ORDER BY id DESC LIMIT $2`, target, lim)
	}
	slices.Reverse(es) // oldest first
	return es, err
}

func (t *tx) Meta(name string) (string, error) {
	var v string
	if err := t.scanOne(fmt.Sprintf("meta %q", name), `SELECT value FROM meta WHERE name = $1`, []any{name}, &v); err != nil {
		return "", err
	}
	return v, nil
}

func (t *tx) PutMeta(name, value string) error {
	return t.write(fmt.Sprintf("put meta %q", name), `INSERT INTO meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
}

// heartbeatKey is the heartbeat's row in the meta table.
const heartbeatKey = "heartbeat"

// Heartbeat reads the one heartbeat row: a primary-key lookup, whatever
// the other tables hold.
func (t *tx) Heartbeat() (time.Time, error) {
	v, err := t.Meta(heartbeatKey)
	if errors.Is(err, server.ErrNoRecord) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("get heartbeat: %w", err)
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("get heartbeat: %w", err)
	}
	return at, nil
}

// PutHeartbeat replaces the one heartbeat row.
func (t *tx) PutHeartbeat(at time.Time) error {
	if err := t.PutMeta(heartbeatKey, at.UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("put heartbeat: %w", err)
	}
	return nil
}

var _ server.LogAppender = (*tx)(nil)

// AppendAudit queues e: it goes with the next statement that is answered,
// or the commit.
func (t *tx) AppendAudit(e server.AuditEntry) error {
	e.ID = 0 // the id column is the one ID
	return put(t, "audit entry", `INSERT INTO audit (target, at, data) VALUES ($1, $2, $3)`, e, e.Target, auditNanos(e.At))
}

// AppendNotification queues n, as AppendAudit.
func (t *tx) AppendNotification(n server.Notification) error {
	n.ID = 0 // the id column is the one ID
	return put(t, "notification", `INSERT INTO notifications (user_id, data) VALUES ($1, $2)`, n, n.UserID)
}
