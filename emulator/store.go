package emulator

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
)

// A Store keeps virtual tokens in a JSON file, so that the CLI's presses of an
// HOTP token advance one counter across runs. The file is the tokens
// themselves — secrets included, as they are burnt into a real token — so it
// is written with mode 0600; the verification server keeps its own copy of
// the seeds, encrypted.
//
// Every change (Update, Press, Edit) holds an exclusive lock on FILE.lock from its
// read to its atomic replacement of the file, so concurrent presses never
// lose a counter step.
type Store struct {
	path string
}

// ErrNotFound is returned for a serial the store does not hold.
var ErrNotFound = errors.New("no such token")

// ErrExists is returned when adding a serial the store already holds.
var ErrExists = errors.New("token already exists")

// StoreFileName is the store's file name in its directory.
const StoreFileName = "tokens.json"

// DefaultStorePath is $TOKENLAB_HOME/tokens.json, or tokens.json in the
// per-user configuration directory (~/.config/tokenlab on Linux).
func DefaultStorePath() (string, error) {
	if home := os.Getenv("TOKENLAB_HOME"); home != "" {
		return filepath.Join(home, StoreFileName), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no per-user directory (%v): set TOKENLAB_HOME or pass --store", err)
	}
	return filepath.Join(dir, "tokenlab", StoreFileName), nil
}

// OpenStore returns the store kept at path; the file is created on the first
// Update.
func OpenStore(path string) *Store { return &Store{path: path} }

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// TokenSet is the store's content while a View or Update holds it.
type TokenSet struct {
	specs map[string]Spec
	order []string
}

// Len is the number of tokens.
func (t *TokenSet) Len() int { return len(t.order) }

// Get returns the spec of serial.
func (t *TokenSet) Get(serial string) (Spec, error) {
	s, ok := t.specs[serial]
	if !ok {
		return Spec{}, fmt.Errorf("%w %q", ErrNotFound, serial)
	}
	return s, nil
}

// List returns every spec in the order they were added.
func (t *TokenSet) List() []Spec {
	out := make([]Spec, 0, len(t.order))
	for _, serial := range t.order {
		out = append(out, t.specs[serial])
	}
	return out
}

// Add adds specs that must all be new (the set is unchanged on error).
func (t *TokenSet) Add(specs ...Spec) error {
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("token %s: %w", s.Serial, err)
		}
		if _, ok := t.specs[s.Serial]; ok || seen[s.Serial] {
			return fmt.Errorf("%w: %s", ErrExists, s.Serial)
		}
		seen[s.Serial] = true
	}
	for _, s := range specs {
		t.specs[s.Serial] = s
		t.order = append(t.order, s.Serial)
	}
	return nil
}

// Put replaces the spec of an existing token.
func (t *TokenSet) Put(s Spec) error {
	if _, ok := t.specs[s.Serial]; !ok {
		return fmt.Errorf("%w %q", ErrNotFound, s.Serial)
	}
	if err := s.Validate(); err != nil {
		return err
	}
	t.specs[s.Serial] = s
	return nil
}

// Remove removes serials that must all exist (the set is unchanged on error).
func (t *TokenSet) Remove(serials ...string) error {
	for _, serial := range serials {
		if _, ok := t.specs[serial]; !ok {
			return fmt.Errorf("%w %q", ErrNotFound, serial)
		}
	}
	gone := make(map[string]bool, len(serials))
	for _, serial := range serials {
		delete(t.specs, serial)
		gone[serial] = true
	}
	kept := t.order[:0]
	for _, serial := range t.order {
		if !gone[serial] {
			kept = append(kept, serial)
		}
	}
	t.order = kept
	return nil
}

// View reads the store under a shared lock.
func (s *Store) View(fn func(*TokenSet) error) error {
	unlock, err := lockFile(s.path+".lock", false)
	if err != nil {
		return err
	}
	defer unlock()
	set, err := s.read()
	if err != nil {
		return err
	}
	return fn(set)
}

// Update reads the store under an exclusive lock and, if fn returns nil,
// writes it back atomically. If fn fails nothing changes.
func (s *Store) Update(fn func(*TokenSet) error) error {
	return s.update(func(set *TokenSet) (bool, error) { return true, fn(set) })
}

// Press presses the button of the stored token serial at true time at, with
// its own drift and faults, and saves the HOTP counter the press advanced.
// The lock is held from the read to the write, so concurrent presses never
// show the same counter. It returns what the token showed and the token as
// saved; on an error (ErrNotFound, ErrButtonDead) nothing changes.
func (s *Store) Press(serial string, at time.Time) (Display, Spec, error) {
	var d Display
	spec, err := s.withToken(serial, at, func(tok *Token) (err error) {
		d, err = tok.PressAt(at)
		return err
	}, false)
	return d, spec, err
}

// PressConsecutive is Press for the two consecutive codes of an activation
// or a resync at true time now (see Token.PressConsecutive), both under one
// lock.
func (s *Store) PressConsecutive(serial string, now time.Time) ([2]Display, Spec, error) {
	var ds [2]Display
	spec, err := s.withToken(serial, now, func(tok *Token) (err error) {
		ds, err = tok.PressConsecutive(now)
		return err
	}, false)
	return ds, spec, err
}

// Edit applies edit (SetDrift, SetFaults, …) to the stored token serial,
// made with true time now, and saves it, under the same lock as a press. It
// returns the token as saved; if edit fails nothing changes.
func (s *Store) Edit(serial string, now time.Time, edit func(*Token) error) (Spec, error) {
	return s.withToken(serial, now, edit, true)
}

// withToken runs fn on the token serial, made with true time now, under the
// exclusive lock, and saves it afterwards if always is set or it is an HOTP
// token: a TOTP press changes nothing, so it spares the write.
func (s *Store) withToken(serial string, now time.Time, fn func(*Token) error, always bool) (Spec, error) {
	var after Spec
	err := s.update(func(set *TokenSet) (bool, error) {
		spec, err := set.Get(serial)
		if err != nil {
			return false, err
		}
		tok, err := New(spec, clock.Func(func() time.Time { return now }))
		if err != nil {
			return false, err
		}
		if err := fn(tok); err != nil {
			return false, err
		}
		after = tok.Spec()
		if !always && after.Kind != HOTP {
			return false, nil
		}
		return true, set.Put(after)
	})
	return after, err
}

// update is Update where fn also says whether there is anything to write.
func (s *Store) update(fn func(*TokenSet) (write bool, err error)) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("cannot create the store's directory: %w", err)
	}
	unlock, err := lockFile(s.path+".lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	set, err := s.read()
	if err != nil {
		return err
	}
	write, err := fn(set)
	if err != nil || !write {
		return err
	}
	return s.write(set)
}

// storeFile is the on-disk form. Version 1.
type storeFile struct {
	Version int           `json:"version"`
	Tokens  []tokenRecord `json:"tokens"`
}

type tokenRecord struct {
	Serial    string        `json:"serial"`
	SecretHex string        `json:"secret_hex"`
	Algorithm Algorithm     `json:"algorithm"`
	Digits    int           `json:"digits"`
	PeriodS   int64         `json:"period_s"`
	Kind      Kind          `json:"kind"`
	Counter   uint64        `json:"counter,omitempty"`
	Created   time.Time     `json:"created"`
	Drift     driftRecord   `json:"drift"`
	Faults    *faultsRecord `json:"faults,omitempty"`
}

type driftRecord struct {
	Offset string    `json:"offset"`
	PPM    float64   `json:"ppm"`
	Start  time.Time `json:"start"`
}

type faultsRecord struct {
	FrozenAt    time.Time `json:"frozen_at,omitzero"`
	ResetAt     time.Time `json:"reset_at,omitzero"`
	ResetTo     time.Time `json:"reset_to,omitzero"`
	WrongSecret bool      `json:"wrong_secret,omitempty"`
	DeadButton  bool      `json:"dead_button,omitempty"`
}

func (s *Store) read() (*TokenSet, error) {
	set := &TokenSet{specs: map[string]Spec{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the token store: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("token store %s is damaged (%v): fix or move it, or pass another --store", s.path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("token store %s has version %d; this tokenlab reads version 1", s.path, f.Version)
	}
	for _, r := range f.Tokens {
		spec, err := r.spec()
		if err == nil {
			err = spec.Validate()
		}
		if err == nil {
			err = set.Add(spec)
		}
		if err != nil {
			return nil, fmt.Errorf("token store %s: token %q: %v: fix or remove it", s.path, r.Serial, err)
		}
	}
	return set, nil
}

func (r tokenRecord) spec() (Spec, error) {
	secret, err := hex.DecodeString(r.SecretHex)
	if err != nil {
		return Spec{}, errors.New("secret_hex is not hex")
	}
	offset, err := time.ParseDuration(r.Drift.Offset)
	if err != nil {
		return Spec{}, fmt.Errorf("drift offset %q is not a duration", r.Drift.Offset)
	}
	s := Spec{
		Serial: r.Serial, Secret: secret, Algorithm: r.Algorithm, Digits: r.Digits,
		Period: time.Duration(r.PeriodS) * time.Second, Kind: r.Kind, Counter: r.Counter,
		Created: r.Created, Drift: Drift{Offset: offset, PPM: r.Drift.PPM, Start: r.Drift.Start},
	}
	if f := r.Faults; f != nil {
		s.Faults = Faults{FrozenAt: f.FrozenAt, ResetAt: f.ResetAt, ResetTo: f.ResetTo, WrongSecret: f.WrongSecret, DeadButton: f.DeadButton}
	}
	return s, nil
}

func recordOf(s Spec) tokenRecord {
	r := tokenRecord{
		Serial: s.Serial, SecretHex: hex.EncodeToString(s.Secret), Algorithm: s.Algorithm, Digits: s.Digits,
		PeriodS: int64(s.Period / time.Second), Kind: s.Kind, Counter: s.Counter, Created: s.Created.UTC(),
		Drift: driftRecord{Offset: s.Drift.Offset.String(), PPM: s.Drift.PPM, Start: s.Drift.Start.UTC()},
	}
	if f := s.Faults; !f.IsZero() {
		r.Faults = &faultsRecord{FrozenAt: f.FrozenAt, ResetAt: f.ResetAt, ResetTo: f.ResetTo, WrongSecret: f.WrongSecret, DeadButton: f.DeadButton}
	}
	return r
}

func (s *Store) write(set *TokenSet) error {
	f := storeFile{Version: 1, Tokens: make([]tokenRecord, 0, set.Len())}
	for _, spec := range set.List() {
		f.Tokens = append(f.Tokens, recordOf(spec))
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".tokens-*.json")
	if err != nil {
		return fmt.Errorf("cannot write the token store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write the token store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}
