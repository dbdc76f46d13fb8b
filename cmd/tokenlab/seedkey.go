package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tokenlab/tokenlab/server"
)

// seedKey is the seed key serve runs with, and where it came from, for
// the messages that say what to restore (docs/lifecycle.md, “The seed
// key”).
type seedKey struct {
	key   []byte
	where string // a path, or "TOKENLAB_SEED_KEY"
}

// loadSeedKey finds the seed key: --seed-key-file, else TOKENLAB_SEED_KEY
// (hex), else seed.key in the data directory. A key file is made on first
// start only: when it is missing but the database already needs a key (it
// holds sealed seeds or the key's check value), serve refuses to start
// rather than make a new key that would leave every sealed seed
// unreadable. Keeping the key outside the data directory means a backup of
// the data is not a backup of the key.
func loadSeedKey(ctx context.Context, flagPath, dataDir string, st server.Store) (seedKey, error) {
	path := flagPath
	if path == "" {
		if env := os.Getenv("TOKENLAB_SEED_KEY"); env != "" {
			key, err := server.ParseSeedKey(env)
			if err != nil {
				return seedKey{}, fmt.Errorf("TOKENLAB_SEED_KEY: %w", err)
			}
			return seedKey{key: key, where: "TOKENLAB_SEED_KEY"}, nil
		}
		path = filepath.Join(dataDir, server.SeedKeyFile)
	}
	key, err := server.LoadSeedKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return seedKey{key: key, where: path}, err
	}
	needs, err := server.NeedsSeedKey(ctx, st)
	if err != nil {
		return seedKey{}, err
	}
	if needs {
		return seedKey{}, fmt.Errorf("seed key %s is missing, but the data in %s is sealed with it: restore %s from your backup (or give the key with --seed-key-file or TOKENLAB_SEED_KEY); a new key would make every sealed seed unreadable", path, dataDir, path)
	}
	key, err = server.CreateSeedKey(path)
	return seedKey{key: key, where: path}, err
}

// seedKeyMismatch says what to do when the key is not the data's.
func seedKeyMismatch(k seedKey, dataDir string) error {
	return fmt.Errorf("the seed key from %s is not the one the data in %s is sealed with: restore the data's own key (from the backup of %s) and start again; a new key would make every sealed seed unreadable", k.where, dataDir, k.where)
}
