package provision

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// pskcUsers hands out users whose tokens the system under test already
// has: the team loaded a PSKC file into it and assigned the tokens to
// accounts, and gives tokenlab the same file and the assignment as CSV,
//
//	serial,user
//	VIRT0000000000001,alice
//
// one token a line; the header line is optional (a first line whose
// fields are "serial" and "user" is skipped), as are blank lines and lines
// starting with #. Relative paths are from the working directory.
//
// NewUser hands out the next line's user (in file order) not yet handed
// out by this provisioner, holding a virtual copy of the token. Unlike the
// other provisioners the users are not new: a code of theirs may have been
// used before this run (the system then refuses codes of steps up to that
// one), an HOTP token starts at the counter the file records, and a second
// run hands out the same users again.
//
// Encrypted files: password=P (PBKDF2) or key=HEX (the pre-shared AES
// key), as tokenlab's seed import takes them; percent-encode & and = in
// a password.
type pskcUsers struct {
	file  string
	clk   emulator.Clock
	users []pskcUser

	mu   sync.Mutex
	used []bool // by index of users: handed out in this run
}

type pskcUser struct {
	id   string
	spec emulator.Spec
}

func openPSKC(_ context.Context, rest string, clk emulator.Clock) (Provisioner, error) {
	const scheme = "pskc"
	file, opts, err := splitOptions(scheme, rest, "users", "password", "key")
	if err != nil {
		return nil, err
	}
	usersFile := opts.Get("users")
	if usersFile == "" {
		return nil, fmt.Errorf("pskc: no users file: write %s, the CSV of serial,user lines assigning the file's tokens to accounts", usage(scheme))
	}
	dec := seedfile.DecodeOptions{Format: seedfile.PSKC, Password: opts.Get("password")}
	if k := opts.Get("key"); k != "" {
		if dec.Key, err = hex.DecodeString(k); err != nil {
			return nil, fmt.Errorf("pskc: key= is not hex: give the pre-shared key as hex digits")
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("pskc: %w", err)
	}
	tokens, err := seedfile.Decode(data, dec)
	if err != nil {
		if errors.Is(err, seedfile.ErrKeyNeeded) {
			return nil, fmt.Errorf("pskc: %s: %w: add &password=P or &key=HEX", file, err)
		}
		return nil, fmt.Errorf("pskc: %s: %w", file, err)
	}
	specs := make(map[string]emulator.Spec, len(tokens))
	for _, t := range tokens {
		s, err := emulator.FromSeed(t)
		if err != nil {
			return nil, fmt.Errorf("pskc: %s: %w", file, err)
		}
		specs[t.Serial] = s
	}
	csvData, err := os.ReadFile(usersFile)
	if err != nil {
		return nil, fmt.Errorf("pskc: users file: %w", err)
	}
	users, err := readUserMap(usersFile, csvData, specs, file)
	if err != nil {
		return nil, err
	}
	return &pskcUsers{file: file, clk: orSystem(clk), users: users, used: make([]bool, len(users))}, nil
}

// readUserMap reads the serial,user CSV, checking every serial is in the
// seed file and no serial or user appears twice.
func readUserMap(name string, data []byte, specs map[string]emulator.Spec, seedFile string) ([]pskcUser, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.Comment = '#'
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	var users []pskcUser
	serials, ids := map[string]int{}, map[string]int{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("pskc: %s: %w: write one serial,user pair a line", name, err)
		}
		line, _ := r.FieldPos(0)
		serial, id := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if first && strings.EqualFold(serial, "serial") && strings.EqualFold(id, "user") {
			continue
		}
		if serial == "" || id == "" {
			return nil, fmt.Errorf("pskc: %s line %d: an empty serial or user: write serial,user", name, line)
		}
		spec, ok := specs[serial]
		if !ok {
			return nil, fmt.Errorf("pskc: %s line %d: serial %q is not in %s: map only tokens of that file", name, line, serial, seedFile)
		}
		if l, dup := serials[serial]; dup {
			return nil, fmt.Errorf("pskc: %s line %d: serial %q is already assigned on line %d: give each token one user", name, line, serial, l)
		}
		if l, dup := ids[id]; dup {
			return nil, fmt.Errorf("pskc: %s line %d: user %q already has a token on line %d: give each user one token", name, line, id, l)
		}
		serials[serial], ids[id] = line, line
		users = append(users, pskcUser{id: id, spec: spec})
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("pskc: %s assigns no tokens: write one serial,user line per token the system has", name)
	}
	return users, nil
}

func (p *pskcUsers) Name() string { return "pskc" }
func (p *pskcUsers) Close() error { return nil }

// Digits are the lengths of the mapped tokens.
func (p *pskcUsers) Digits() []int {
	var ds []int
	for _, u := range p.users {
		if !slices.Contains(ds, u.spec.Digits) {
			ds = append(ds, u.spec.Digits)
		}
	}
	sort.Ints(ds)
	return ds
}

func (p *pskcUsers) NewUser(_ context.Context, o Options) (User, error) {
	if o.Digits != 0 && !slices.Contains(p.Digits(), o.Digits) {
		return User{}, fmt.Errorf("pskc: no token of %s has %d digits (they have %v): %w", p.file, o.Digits, p.Digits(), ErrDigits)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	left := 0
	for i, u := range p.users {
		if p.used[i] {
			continue
		}
		left++
		if o.Digits != 0 && u.spec.Digits != o.Digits {
			continue
		}
		tok, err := emulator.New(u.spec, p.clk)
		if err != nil {
			return User{}, fmt.Errorf("pskc: token %s: %w", u.spec.Serial, err)
		}
		p.used[i] = true
		return User{ID: u.id, Token: tok}, nil
	}
	if left > 0 {
		return User{}, fmt.Errorf("pskc: the %d users left have no %d-digit token: map more %d-digit tokens to users", left, o.Digits, o.Digits)
	}
	return User{}, fmt.Errorf("pskc: all %d users mapped to tokens of %s are handed out: map more tokens to users, or run again", len(p.users), p.file)
}
