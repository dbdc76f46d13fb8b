package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// SeedKeyFile is the name of the seed key in a data directory.
const SeedKeyFile = "seed.key"

// sealer encrypts seeds at rest with AES-256-GCM. The serial is the
// additional data, so a sealed seed moved to another token's record does not
// open.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("the seed key is %d bytes: it must be 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(serial string, secret []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, secret, []byte(serial)), nil
}

func (s *sealer) open(serial string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errors.New("sealed seed is too short")
	}
	secret, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(serial))
	if err != nil {
		return nil, fmt.Errorf("the seed of %s does not open with this seed key: is it the data directory's own %s?", serial, SeedKeyFile)
	}
	return secret, nil
}

// LoadOrCreateSeedKey reads the 32-byte seed key at path, creating it with
// mode 0600 (and its directory with 0700) on first start. A key file
// readable by others is refused.
func LoadOrCreateSeedKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
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
