package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/pgstore"
)

// openWait bounds how long serve --db waits for the database at start: a
// database that does not answer stops serve with an error rather than
// leaving it half started.
const openWait = 30 * time.Second

// openDB opens the PostgreSQL store of --db and reads the seed key every
// replica on it shares.
func openDB(dsn, seedKeyFile string) (*pgstore.Store, seedKey, error) {
	key, err := sharedSeedKey(seedKeyFile)
	if err != nil {
		return nil, seedKey{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), openWait)
	defer cancel()
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		return nil, seedKey{}, fmt.Errorf("--db: %w", err)
	}
	return st, key, nil
}

// sharedSeedKey is the seed key of --db: it is not made on first start, as
// in a data directory, since every replica needs the same one.
func sharedSeedKey(path string) (seedKey, error) {
	if path == "" {
		env := os.Getenv("TOKENLAB_SEED_KEY")
		if env == "" {
			return seedKey{}, usagef("--db needs the seed key every replica shares: --seed-key-file FILE (64 hex digits) or TOKENLAB_SEED_KEY; for a new database make one with: (umask 077; openssl rand -hex 32 > FILE)")
		}
		key, err := server.ParseSeedKey(env)
		if err != nil {
			return seedKey{}, fmt.Errorf("TOKENLAB_SEED_KEY: %w", err)
		}
		return seedKey{key: key, where: "TOKENLAB_SEED_KEY"}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return seedKey{}, fmt.Errorf("cannot read the seed key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return seedKey{}, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return seedKey{}, fmt.Errorf("seed key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	if len(b) == 32 && !isHex(string(b)) {
		return seedKey{key: b, where: path}, nil // a data directory's seed.key, in binary
	}
	key, err := server.ParseSeedKey(string(b))
	if err != nil {
		return seedKey{}, fmt.Errorf("seed key %s: %w", path, err)
	}
	return seedKey{key: key, where: path}, nil
}

func isHex(s string) bool {
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// seedKeyMismatchDB says what to do when a replica's key is not the
// database's.
func seedKeyMismatchDB(k seedKey) error {
	return fmt.Errorf("the seed key from %s is not the one the database's seeds are sealed with: give this replica the key the others run with; a new key would make every sealed seed unreadable", k.where)
}

// dbClock is the clock of a server on --db: the system clock, or with
// --virtual-clock the one in the database that every replica shares. A
// replica on a real clock refuses a database whose clock is virtual, and
// the other way round a replica's --clock-start does not move the clock
// the others run on.
func dbClock(db *pgstore.Store, f serveFlags, startAt time.Time, logger *slog.Logger) (clock.Clock, clock.Mover, error) {
	ctx, cancel := context.WithTimeout(context.Background(), openWait)
	defer cancel()
	if !f.virtualClock {
		has, err := db.HasVirtualClock(ctx)
		if err != nil {
			return nil, nil, err
		}
		if has {
			return nil, nil, errors.New("the database's clock is virtual (a replica ran on it with --virtual-clock): start every replica on it with --virtual-clock, or give this one another database")
		}
		return clock.System{}, nil, nil
	}
	c, created, err := db.VirtualClock(ctx, startAt)
	if err != nil {
		return nil, nil, err
	}
	if now := c.Now(); !created && f.clockStart != "" && !now.Equal(startAt) {
		logger.Warn("the database's virtual clock is kept: --clock-start sets only a new database's; POST /v1/clock moves it",
			"clock", now.Format(time.RFC3339Nano), "clock_start", f.clockStart)
	}
	return c, c, nil
}
