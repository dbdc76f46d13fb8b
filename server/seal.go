package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
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
// mode 0600 (and its directory with 0700) when it is missing. A key file
// readable by others is refused. It does not ask whether the data needs
// the old key: tokenlab serve asks NeedsSeedKey before it makes one, and
// New refuses a key other than the data's (docs/lifecycle.md, “The seed
// key”).
func LoadOrCreateSeedKey(path string) ([]byte, error) {
	key, err := LoadSeedKey(path)
	if errors.Is(err, fs.ErrNotExist) {
		return CreateSeedKey(path)
	}
	return key, err
}
