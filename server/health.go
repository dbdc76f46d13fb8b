package server

import (
	"context"
	"fmt"
)

// Health checks that the store answers a read and takes a durable write,
// at a cost that does not depend on how much it holds: a View reads the
// heartbeat record and an Update writes it. A store that reads but cannot
// write (a full disk, a read-only file system) is not healthy: every
// accepted code is a write.
func (s *Server) Health(ctx context.Context) error {
	if err := s.store.View(ctx, func(tx Tx) error {
		_, err := tx.Heartbeat()
		return err
	}); err != nil {
		return fmt.Errorf("the store does not answer a read: %w", err)
	}
	if err := s.store.Update(ctx, func(tx Tx) error {
		now, err := s.nowTx(tx)
		if err != nil {
			return err
		}
		return tx.PutHeartbeat(now)
	}); err != nil {
		return fmt.Errorf("the store does not take a write: %w", err)
	}
	return nil
}
