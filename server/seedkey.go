package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The seed key's check value (see docs/lifecycle.md, “The seed key”): the
// database keeps HMAC-SHA256(key, seedKeyCheckLabel), so that a server
// given another key than the one its seeds are sealed with — a lost
// seed.key silently replaced by a new one, a key from another data
// directory — refuses to start, instead of answering /healthz and then
// failing every verification while sealing new imports under the new key.
const (
	seedKeyCheckName  = "seed_key_check"
	seedKeyCheckLabel = "tokenlab seed key check v1"
)

// ErrSeedKeyMismatch is returned (wrapped) by New when the seed key is not
// the one the database's seeds are sealed with.
var ErrSeedKeyMismatch = errors.New("the seed key is not the one this database's seeds are sealed with")

// seedKeyCheck is key's check value, in hex.
func seedKeyCheck(key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(seedKeyCheckLabel))
	return hex.EncodeToString(m.Sum(nil))
}

// checkSeedKey compares the key with the database's check value, and
// records it when there is none yet. A database from before the check
// value holds none: the key must then open a sealed seed, if there is one.
func (s *Server) checkSeedKey(ctx context.Context, key []byte) error {
	want := seedKeyCheck(key)
	return s.store.Update(ctx, func(tx Tx) error {
		got, err := tx.Meta(seedKeyCheckName)
		if err == nil {
			if !hmac.Equal([]byte(got), []byte(want)) {
				return ErrSeedKeyMismatch
			}
			return nil
		}
		if !errors.Is(err, ErrNoRecord) {
			return err
		}
		toks, err := tx.Tokens(TokenFilter{})
		if err != nil {
			return err
		}
		for _, t := range toks {
			if len(t.SealedSecret) == 0 {
				continue
			}
			if _, err := s.sealer.open(t.Serial, t.SealedSecret); err != nil {
				return fmt.Errorf("%w: the seed of %s does not open with it", ErrSeedKeyMismatch, t.Serial)
			}
			break
		}
		return tx.PutMeta(seedKeyCheckName, want)
	})
}

// NeedsSeedKey reports whether the store's data is bound to a seed key
// already — it holds the key's check value or a sealed seed — so that a
// missing key must be restored, not replaced: a new key would make every
// sealed seed unreadable. tokenlab serve asks before it makes a new key.
func NeedsSeedKey(ctx context.Context, st Store) (bool, error) {
	var needs bool
	err := st.View(ctx, func(tx Tx) error {
		if _, err := tx.Meta(seedKeyCheckName); err == nil {
			needs = true
			return nil
		} else if !errors.Is(err, ErrNoRecord) {
			return err
		}
		toks, err := tx.Tokens(TokenFilter{})
		needs = len(toks) > 0
		return err
	})
	return needs, err
}

// LoadSeedKey reads the 32-byte seed key at path. A missing file is an
// error that wraps fs.ErrNotExist; a key file readable by others is
// refused.
func LoadSeedKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("seed key %s: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the seed key: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seed key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("seed key %s is %d bytes: it must be 32", path, len(b))
	}
	return b, nil
}

// CreateSeedKey makes a new random 32-byte seed key at path, with mode
// 0600 (and its directory with 0700). It never replaces a file.
func CreateSeedKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create the seed key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// ParseSeedKey reads a seed key written in hex (64 digits), as
// TOKENLAB_SEED_KEY holds it.
func ParseSeedKey(s string) ([]byte, error) {
	key, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(key) != 32 {
		return nil, errors.New("the seed key must be 64 hex digits (32 bytes)")
	}
	return key, nil
}
