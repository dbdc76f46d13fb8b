package server_test

import (
	"testing"

	"github.com/tokenlab/tokenlab/server"
)

// TestSweepPrunesTheAuditLog: the sweep deletes the audit entries older
// than the retention (400 days by default) and keeps the newest entries
// within the cap (docs/lifecycle.md, “The audit log”).
func TestSweepPrunesTheAuditLog(t *testing.T) {
	f := newFixture(t, server.Policy{})
	first := f.user() // an audit entry now
	f.clk.Step(200 * day)
	second := f.user()
	f.clk.Step(201 * day) // the first is 401 days old, the second 201
	rep, err := f.srv.Sweep(f.ctx)
	f.ok(err)
	if es, err := f.srv.Audit(f.ctx, first, 0); err != nil || len(es) != 0 {
		t.Errorf("the audit of %s, 401 days old: %d entries (%v), want none", first, len(es), err)
	}
	if es, err := f.srv.Audit(f.ctx, second, 0); err != nil || len(es) != 1 {
		t.Errorf("the audit of %s, 201 days old: %d entries (%v), want 1", second, len(es), err)
	}
	if rep.AuditPruned != 1 {
		t.Errorf("the sweep reports %d pruned entries, want 1", rep.AuditPruned)
	}
}

// TestAuditRetentionPolicy: AuditMaxEntries keeps the newest entries; a
// negative retention and cap keep everything.
func TestAuditRetentionPolicy(t *testing.T) {
	f := newFixture(t, server.Policy{AuditMaxEntries: 3})
	var users []string
	for range 5 {
		users = append(users, f.user())
	}
	rep, err := f.srv.Sweep(f.ctx)
	f.ok(err)
	es, err := f.srv.Audit(f.ctx, "", 0)
	f.ok(err)
	if len(es) != 3 || es[0].Target != users[2] || es[2].Target != users[4] || rep.AuditPruned != 2 {
		t.Errorf("after a sweep keeping 3 entries: %d entries, first %q, pruned %d; want %s…%s, 2 pruned", len(es), es[0].Target, rep.AuditPruned, users[2], users[4])
	}

	g := newFixture(t, server.Policy{AuditRetention: -1, AuditMaxEntries: -1})
	old := g.user()
	g.clk.Step(10 * 365 * day)
	for range 3 {
		g.user()
	}
	rep, err = g.srv.Sweep(g.ctx)
	g.ok(err)
	if es, err := g.srv.Audit(g.ctx, old, 0); err != nil || len(es) != 1 || rep.AuditPruned != 0 {
		t.Errorf("with no limits a 10-year-old entry is gone (%d entries, %v, %d pruned)", len(es), err, rep.AuditPruned)
	}
}
