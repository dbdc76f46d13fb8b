package server

import (
	"context"
	"fmt"
	"time"
)

// pruneAudit applies the audit log's retention at now, in one Update after
// the sweep's events (whose entries it may prune at once, when a virtual
// clock moved far): entries older than AuditRetention go, then all but the
// newest AuditMaxEntries (see docs/lifecycle.md, “The audit log”). The
// pruning itself is not audited: an entry for it would be one more to
// prune at the next sweep, for ever.
func (s *Server) pruneAudit(ctx context.Context, now time.Time) (int, error) {
	var before time.Time
	if s.policy.AuditRetention > 0 {
		before = now.Add(-s.policy.AuditRetention)
	}
	keep := max(s.policy.AuditMaxEntries, 0)
	if before.IsZero() && keep == 0 {
		return 0, nil
	}
	var n int
	err := s.store.Update(ctx, func(tx Tx) (err error) {
		n, err = tx.PruneAudit(before, keep)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep: audit retention: %w", err)
	}
	return n, nil
}
