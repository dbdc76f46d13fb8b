package storetest_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/storetest"
)

// TestMemStore runs the suite on memStore, a store with nothing of
// SQLite's, to keep the suite store-agnostic.
func TestMemStore(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T, dir string) server.Store { return openMem(dir, "") })
}

// flaws are the ways memStore can be made to misbehave, and the subtests
// of the suite that must then fail.
var flaws = map[string][]string{
	"lostUpdate":       {"ConcurrentIncrements", "OnceEveryStep"},
	"commitOnError":    {"UpdateErrorChangesNothing"},
	"auditOldest":      {"Audit"},
	"pruneKeepsOldest": {"PruneAudit"},
	"dropsField":       {"RoundTrip/Token"},
	"plainNotFound":    {"NotFound"},
	"duplicate":        {"Tokens"},
	"aliases":          {"Copies"},
	"volatile":         {"Restart"},
}

// TestSuiteCatchesFlaws runs the suite on memStore with each flaw, in a
// child process (a failing suite fails its *testing.T), and checks that the
// subtests meant to catch the flaw fail.
func TestSuiteCatchesFlaws(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite once per flaw")
	}
	for flaw, catchers := range flaws {
		t.Run(flaw, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFlawed$", "-test.count=1", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), "STORETEST_FLAW="+flaw)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with flaw %s:\n%s", flaw, out)
			}
			for _, c := range catchers {
				if !strings.Contains(string(out), "--- FAIL: TestFlawed/"+c+" ") {
					t.Errorf("flaw %s: subtest %s did not fail:\n%s", flaw, c, out)
				}
			}
		})
	}
}

// TestFlawed is the child of TestSuiteCatchesFlaws.
func TestFlawed(t *testing.T) {
	flaw := os.Getenv("STORETEST_FLAW")
	if flaw == "" {
		t.Skip("run by TestSuiteCatchesFlaws")
	}
	storetest.RunTests(t, func(t *testing.T, dir string) server.Store { return openMem(dir, flaw) })
}

// memData is a memStore's state. A committed memData is never changed:
// an Update works on a copy.
type memData struct {
	accounts      map[string]server.Account
	tokens        map[string]server.Token
	sponsorships  map[[2]string]server.Sponsorship
	keys          map[string]server.LicenceKey
	apps          map[string]server.Application
	terms         map[[2]string]time.Time
	orgTerms      map[[2]string]time.Time
	sessions      map[string]memSession
	seq           int64 // orders sessions created at the same time
	notifications []server.Notification
	audit         []server.AuditEntry
	lastID        int64 // of notifications and audit entries
	heartbeat     time.Time
	meta          map[string]string
}

type memSession struct {
	s   server.Session
	seq int64
}

func newMemData() *memData {
	return &memData{accounts: map[string]server.Account{}, tokens: map[string]server.Token{},
		sponsorships: map[[2]string]server.Sponsorship{}, keys: map[string]server.LicenceKey{},
		apps: map[string]server.Application{}, terms: map[[2]string]time.Time{}, orgTerms: map[[2]string]time.Time{},
		sessions: map[string]memSession{}, meta: map[string]string{}}
}

// clone copies the maps and slices; the records in them are never
// changed in place, so they are shared.
func (d *memData) clone() *memData {
	c := *d
	c.accounts, c.tokens, c.sponsorships = maps.Clone(d.accounts), maps.Clone(d.tokens), maps.Clone(d.sponsorships)
	c.keys, c.apps, c.terms, c.sessions = maps.Clone(d.keys), maps.Clone(d.apps), maps.Clone(d.terms), maps.Clone(d.sessions)
	c.notifications, c.audit = slices.Clone(d.notifications), slices.Clone(d.audit)
	c.meta, c.orgTerms = maps.Clone(d.meta), maps.Clone(d.orgTerms)
	return &c
}

// disk is where memStores keep their data across Close, by directory.
var disk sync.Map // dir → *memData

// memStore is a server.Store in memory: Updates run one at a time on a
// copy of the state, which replaces it when they succeed.
type memStore struct {
	dir  string
	flaw string
	mu   sync.Mutex // held by the running Update
	cur  atomic.Pointer[memData]
	// stale is, for the lostUpdate flaw, the state before the last commit:
	// each Update starts from it, so it overwrites what the one before it
	// wrote, whatever the scheduling.
	stale  *memData
	closed atomic.Bool
}

func openMem(dir, flaw string) *memStore {
	s := &memStore{dir: dir, flaw: flaw}
	d, ok := disk.Load(dir)
	if !ok || flaw == "volatile" {
		d = newMemData()
	}
	s.cur.Store(d.(*memData))
	return s
}

var errMemClosed = errors.New("memstore: closed")

func (s *memStore) Update(ctx context.Context, fn func(server.Tx) error) error {
	if s.closed.Load() {
		return errMemClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	base := s.cur.Load()
	if s.flaw == "lostUpdate" {
		if s.stale != nil {
			base = s.stale
		}
		s.stale = s.cur.Load()
	}
	d := base.clone()
	err := fn(&memTx{d: d, write: true, flaw: s.flaw})
	if err == nil {
		err = ctx.Err()
	}
	if err == nil || s.flaw == "commitOnError" {
		s.cur.Store(d)
		disk.Store(s.dir, d)
	}
	return err
}

func (s *memStore) View(ctx context.Context, fn func(server.Tx) error) error {
	if s.closed.Load() {
		return errMemClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(&memTx{d: s.cur.Load().clone(), flaw: s.flaw})
}

func (s *memStore) Close() error {
	s.closed.Store(true)
	return nil
}

// memTx is a transaction on d.
type memTx struct {
	d     *memData
	write bool
	flaw  string
}

var errReadOnly = errors.New("memstore: write in a view")

// cp is a deep copy of v, so that neither the caller nor the store sees
// the other's changes.
func cp[T any](v T) T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func get[K comparable, V any](m map[K]V, k K, what string) (V, error) {
	v, ok := m[k]
	if !ok {
		return v, fmt.Errorf("%s %v: %w", what, k, server.ErrNoRecord)
	}
	return cp(v), nil
}

func put[K comparable, V any](t *memTx, m map[K]V, k K, v V) error {
	if !t.write {
		return errReadOnly
	}
	m[k] = cp(v)
	return nil
}

// sorted lists m's values in the order of their keys.
func sorted[K cmp.Ordered, V any](m map[K]V, keep func(V) bool) []V {
	var out []V
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if keep == nil || keep(m[k]) {
			out = append(out, cp(m[k]))
		}
	}
	return out
}

func (t *memTx) Account(id string) (server.Account, error) { return get(t.d.accounts, id, "account") }
func (t *memTx) PutAccount(a server.Account) error         { return put(t, t.d.accounts, a.UserID, a) }
func (t *memTx) Accounts() ([]server.Account, error)       { return sorted(t.d.accounts, nil), nil }

func (t *memTx) AccountsDue(at time.Time) ([]server.Account, error) {
	as := sorted(t.d.accounts, func(a server.Account) bool { return !a.NextEventAt.IsZero() && !a.NextEventAt.After(at) })
	slices.SortStableFunc(as, func(a, b server.Account) int { return a.NextEventAt.Compare(b.NextEventAt) })
	return as, nil
}

func (t *memTx) Token(serial string) (server.Token, error) {
	if t.flaw == "aliases" {
		if k, ok := t.d.tokens[serial]; ok {
			return k, nil
		}
	}
	k, err := get(t.d.tokens, serial, "token")
	if t.flaw == "plainNotFound" && err != nil {
		err = errors.New("no such token")
	}
	return k, err
}

func (t *memTx) PutToken(k server.Token) error {
	if t.flaw == "dropsField" {
		k.DriftPPM = 0
	}
	return put(t, t.d.tokens, k.Serial, k)
}

func (t *memTx) Tokens(f server.TokenFilter) ([]server.Token, error) {
	ks := sorted(t.d.tokens, func(k server.Token) bool {
		return (f.OwnerID == "" || k.OwnerID == f.OwnerID) && (f.Status == "" || k.Status == f.Status)
	})
	if t.flaw == "duplicate" && len(ks) > 0 {
		ks = append(ks, ks[len(ks)-1])
	}
	return ks, nil
}

func (t *memTx) TokensDue(at time.Time) ([]server.Token, error) {
	ks := sorted(t.d.tokens, func(k server.Token) bool { return !k.NextEventAt.IsZero() && !k.NextEventAt.After(at) })
	slices.SortStableFunc(ks, func(a, b server.Token) int { return a.NextEventAt.Compare(b.NextEventAt) })
	return ks, nil
}

func (t *memTx) Sponsorship(userID, serial string) (server.Sponsorship, error) {
	return get(t.d.sponsorships, [2]string{userID, serial}, "sponsorship")
}

func (t *memTx) PutSponsorship(p server.Sponsorship) error {
	return put(t, t.d.sponsorships, [2]string{p.UserID, p.Serial}, p)
}

func (t *memTx) Sponsorships(userID string) ([]server.Sponsorship, error) {
	var out []server.Sponsorship
	for _, k := range slices.SortedFunc(maps.Keys(t.d.sponsorships), func(a, b [2]string) int { return cmp.Compare(a[1], b[1]) }) {
		if k[0] == userID {
			out = append(out, cp(t.d.sponsorships[k]))
		}
	}
	return out, nil
}

func (t *memTx) LicenceKey(key string) (server.LicenceKey, error) {
	return get(t.d.keys, key, "licence key")
}
func (t *memTx) PutLicenceKey(l server.LicenceKey) error { return put(t, t.d.keys, l.Key, l) }

func (t *memTx) Application(id string) (server.Application, error) {
	return get(t.d.apps, id, "application")
}
func (t *memTx) PutApplication(a server.Application) error   { return put(t, t.d.apps, a.ID, a) }
func (t *memTx) Applications() ([]server.Application, error) { return sorted(t.d.apps, nil), nil }

func (t *memTx) TermsAccepted(userID, appID string) (bool, error) {
	_, ok := t.d.terms[[2]string{userID, appID}]
	return ok, nil
}

func (t *memTx) AcceptTerms(userID, appID string, at time.Time) error {
	return put(t, t.d.terms, [2]string{userID, appID}, at)
}

func (t *memTx) OrganizationTermsAccepted(organization, appID string) (bool, error) {
	_, ok := t.d.orgTerms[[2]string{organization, appID}]
	return ok, nil
}

func (t *memTx) AcceptOrganizationTerms(organization, appID string, at time.Time) error {
	return put(t, t.d.orgTerms, [2]string{organization, appID}, at)
}

func (t *memTx) Session(id string) (server.Session, error) {
	s, err := get(t.d.sessions, id, "session")
	return s.s, err
}

func (t *memTx) PutSession(s server.Session) error {
	ms, ok := t.d.sessions[s.ID]
	if !ok {
		t.d.seq++
		ms.seq = t.d.seq
	}
	ms.s = s
	return put(t, t.d.sessions, s.ID, ms)
}

func (t *memTx) Sessions(userID string) ([]server.Session, error) {
	var ms []memSession
	for _, s := range t.d.sessions {
		if s.s.UserID == userID {
			ms = append(ms, s)
		}
	}
	slices.SortFunc(ms, func(a, b memSession) int {
		return cmp.Or(a.s.CreatedAt.Compare(b.s.CreatedAt), cmp.Compare(a.seq, b.seq))
	})
	var out []server.Session
	for _, s := range ms {
		out = append(out, cp(s.s))
	}
	return out, nil
}

// cp copies memSession's unexported fields too.
func (m memSession) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		S   server.Session
		Seq int64
	}{m.s, m.seq})
}

func (m *memSession) UnmarshalJSON(b []byte) error {
	var v struct {
		S   server.Session
		Seq int64
	}
	err := json.Unmarshal(b, &v)
	m.s, m.seq = v.S, v.Seq
	return err
}

func (t *memTx) AddNotification(n server.Notification) (int64, error) {
	if !t.write {
		return 0, errReadOnly
	}
	t.d.lastID++
	n.ID = t.d.lastID
	t.d.notifications = append(t.d.notifications, cp(n))
	return n.ID, nil
}

func (t *memTx) Notifications(userID string) ([]server.Notification, error) {
	var out []server.Notification
	for _, n := range t.d.notifications {
		if userID == "" || n.UserID == userID {
			out = append(out, cp(n))
		}
	}
	return out, nil
}

func (t *memTx) AddAudit(e server.AuditEntry) (int64, error) {
	if !t.write {
		return 0, errReadOnly
	}
	t.d.lastID++
	e.ID = t.d.lastID
	t.d.audit = append(t.d.audit, cp(e))
	return e.ID, nil
}

func (t *memTx) Audit(target string, limit int) ([]server.AuditEntry, error) {
	var out []server.AuditEntry
	for _, e := range t.d.audit {
		if target == "" || e.Target == target {
			out = append(out, cp(e))
		}
	}
	if limit > 0 && len(out) > limit {
		if t.flaw == "auditOldest" {
			return out[:limit], nil
		}
		out = out[len(out)-limit:]
	}
	return out, nil
}

func (t *memTx) Heartbeat() (time.Time, error) { return t.d.heartbeat, nil }

func (t *memTx) PutHeartbeat(at time.Time) error {
	if !t.write {
		return errReadOnly
	}
	t.d.heartbeat = at
	return nil
}
func (t *memTx) PruneAudit(before time.Time, keep int) (int, error) {
	if !t.write {
		return 0, errReadOnly
	}
	n := len(t.d.audit)
	if !before.IsZero() {
		t.d.audit = slices.DeleteFunc(t.d.audit, func(e server.AuditEntry) bool { return !e.At.IsZero() && e.At.Before(before) })
	}
	if keep > 0 && len(t.d.audit) > keep {
		if t.flaw == "pruneKeepsOldest" {
			t.d.audit = t.d.audit[:keep]
		} else {
			t.d.audit = t.d.audit[len(t.d.audit)-keep:]
		}
	}
	return n - len(t.d.audit), nil
}

func (t *memTx) Meta(name string) (string, error) { return get(t.d.meta, name, "meta") }
func (t *memTx) PutMeta(name, value string) error { return put(t, t.d.meta, name, value) }
