package server

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// auditStore is a Store that keeps only audit entries and meta values:
// enough for New and do.
type auditStore struct {
	entries []AuditEntry
	meta    map[string]string
}

func (s *auditStore) Update(_ context.Context, fn func(Tx) error) error { return fn(auditTx{s: s}) }
func (s *auditStore) View(_ context.Context, fn func(Tx) error) error   { return fn(auditTx{s: s}) }
func (s *auditStore) Close() error                                      { return nil }

// auditTx panics on anything but the audit: the test does nothing else.
type auditTx struct {
	Tx
	s *auditStore
}

func (t auditTx) Meta(name string) (string, error) {
	if v, ok := t.s.meta[name]; ok {
		return v, nil
	}
	return "", ErrNoRecord
}

func (t auditTx) PutMeta(name, value string) error {
	if t.s.meta == nil {
		t.s.meta = map[string]string{}
	}
	t.s.meta[name] = value
	return nil
}

func (t auditTx) Tokens(TokenFilter) ([]Token, error) { return nil, nil }
func (t auditTx) Accounts() ([]Account, error)        { return nil, nil }

func (t auditTx) AddAudit(e AuditEntry) (int64, error) {
	t.s.entries = append(t.s.entries, e)
	return int64(len(t.s.entries)), nil
}

// TestAuditEntriesAreCapped: whatever an action's target, actor or
// refusal detail, the audit log keeps at most MaxAuditTarget and
// MaxAuditDetail bytes of them, cut on a character boundary and marked
// (docs/lifecycle.md, “Identifiers”).
func TestAuditEntriesAreCapped(t *testing.T) {
	st := &auditStore{}
	s, err := New(Config{Store: st, SeedKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 5000) // two bytes a character: a cut may fall inside one
	err = s.do(context.Background(), AsAdmin(long), "test.capped", long, func(Tx, time.Time) error {
		return s.refuse(CodeBadRequest, "%s", long)
	})
	if CodeOf(err) != CodeBadRequest {
		t.Fatalf("got %v, want the refusal", err)
	}
	if len(st.entries) != 1 {
		t.Fatalf("%d audit entries, want 1", len(st.entries))
	}
	e := st.entries[0]
	for _, f := range []struct {
		name, v string
		max     int
	}{{"target", e.Target, MaxAuditTarget}, {"actor", e.Actor, MaxAuditTarget}, {"detail", e.Detail, MaxAuditDetail}} {
		if len(f.v) > f.max || !utf8.ValidString(f.v) || !strings.HasSuffix(f.v, "…") {
			t.Errorf("audit %s: %d bytes (valid UTF-8 %v), want at most %d, cut with …", f.name, len(f.v), utf8.ValidString(f.v), f.max)
		}
	}
	if got := clip("short", MaxAuditTarget); got != "short" {
		t.Errorf("clip cut a short text: %q", got)
	}
}
