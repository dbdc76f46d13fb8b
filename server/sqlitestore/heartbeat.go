package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// heartbeatKey is the heartbeat's row in the meta table.
const heartbeatKey = "heartbeat"

// Heartbeat reads the one heartbeat row: a primary-key lookup, whatever
// the other tables hold.
func (t *tx) Heartbeat() (time.Time, error) {
	var v string
	err := t.queryRow(`SELECT value FROM meta WHERE name = ?`, heartbeatKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
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
	_, err := t.exec(`INSERT INTO meta (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
		heartbeatKey, at.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("put heartbeat: %w", err)
	}
	return nil
}
