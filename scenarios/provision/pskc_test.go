package provision

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// pskcFixture writes a PSKC file of tokens TL0001..TLn (8 digits but for
// those listed in six) and returns its path and the tokens.
func pskcFixture(t *testing.T, n int, six []int, opts seedfile.EncodeOptions) (string, []seedfile.Token) {
	t.Helper()
	var tokens []seedfile.Token
	for i := 1; i <= n; i++ {
		d := 8
		if slices.Contains(six, i) {
			d = 6
		}
		tokens = append(tokens, seedfile.Token{
			Serial: fmt.Sprintf("TL%04d", i), Secret: bytes.Repeat([]byte{byte(i)}, 20),
			Algorithm: oath.SHA1, Kind: oath.TOTP, Digits: d, Period: 30 * time.Second,
		})
	}
	var b bytes.Buffer
	opts.Format = seedfile.PSKC
	if err := seedfile.Encode(&b, tokens, opts); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens.pskc")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, tokens
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPSKCHandsOutMappedUsersInOrder(t *testing.T) {
	file, tokens := pskcFixture(t, 4, []int{2}, seedfile.EncodeOptions{})
	users := writeFile(t, "serial,user\n# the lab's tokens\nTL0003, carol\n\nTL0001,alice\nTL0002,bob\n")
	clk := clock.NewVirtual(time.Unix(1_700_000_000, 0))
	p, err := Open(context.Background(), "pskc:"+file+"?users="+users, clk)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "pskc" || !slices.Equal(p.Digits(), []int{6, 8}) {
		t.Fatalf("%s takes %v", p.Name(), p.Digits())
	}
	// A 6-digit request skips to bob; the rest come in file order.
	var got []string
	for _, o := range []Options{{Digits: 6}, {}, {}} {
		u, err := p.NewUser(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u.ID)
		// The user's token is the file's token: the same code now.
		want := tokens[map[string]int{"alice": 0, "bob": 1, "carol": 2}[u.ID]]
		gen, _ := oath.NewGenerator(want.Secret, want.Algorithm, want.Digits)
		d, err := u.Token.Press()
		if err != nil {
			t.Fatal(err)
		}
		if code := gen.Code(uint64(clk.Now().Unix() / 30)); d.Code != code || d.Serial != want.Serial {
			t.Fatalf("user %s holds %s showing %s, want %s showing %s", u.ID, d.Serial, d.Code, want.Serial, code)
		}
	}
	if !slices.Equal(got, []string{"bob", "carol", "alice"}) {
		t.Fatalf("handed out %v", got)
	}
	_, err = p.NewUser(context.Background(), Options{})
	if err == nil || !strings.Contains(err.Error(), "all 3 users") {
		t.Fatalf("a fourth user of three: %v, want an error naming 3", err)
	}
	if _, err := p.NewUser(context.Background(), Options{Digits: 6}); err == nil {
		t.Fatal("a user when none are left")
	}
}

func TestPSKCDigitsOfTheMappedTokens(t *testing.T) {
	file, _ := pskcFixture(t, 3, []int{3}, seedfile.EncodeOptions{})
	p, err := Open(context.Background(), "pskc:"+file+"?users="+writeFile(t, "TL0001,alice\nTL0002,bob\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// TL0003 has 6 digits but no user: the system takes it, but no one
	// here can log in with it.
	if !slices.Equal(p.Digits(), []int{8}) {
		t.Fatalf("Digits() = %v", p.Digits())
	}
	if _, err := p.NewUser(context.Background(), Options{Digits: 6}); !errors.Is(err, ErrDigits) {
		t.Fatalf("a 6-digit user: %v, want ErrDigits", err)
	}
	if _, err := p.NewUser(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewUser(context.Background(), Options{Digits: 8}); err != nil {
		t.Fatal(err)
	}
}

func TestPSKCUsersFileErrors(t *testing.T) {
	file, _ := pskcFixture(t, 2, nil, seedfile.EncodeOptions{})
	for csv, want := range map[string]string{
		"":                             "assigns no tokens",
		"serial,user\n":                "assigns no tokens",
		"TL0001,alice\nTL0009,bob\n":   `line 2: serial "TL0009" is not in`,
		"TL0001,alice\nTL0001,bob\n":   "already assigned on line 1",
		"TL0001,alice\nTL0002,alice\n": "already has a token on line 1",
		"TL0001,alice,extra\n":         "wrong number of fields",
		"TL0001,\n":                    "an empty serial or user",
	} {
		_, err := Open(context.Background(), "pskc:"+file+"?users="+writeFile(t, csv), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("users file %q: %v, want an error with %q", csv, err, want)
		}
	}
	if _, err := Open(context.Background(), "pskc:"+file+"?users=/nonexistent.csv", nil); err == nil || !strings.Contains(err.Error(), "users file") {
		t.Errorf("a missing users file: %v", err)
	}
	if _, err := Open(context.Background(), "pskc:/nonexistent.xml?users=/nonexistent.csv", nil); err == nil {
		t.Error("a missing PSKC file opened")
	}
}

func TestPSKCEncryptedFiles(t *testing.T) {
	users := writeFile(t, "TL0001,alice\n")
	file, _ := pskcFixture(t, 1, nil, seedfile.EncodeOptions{Password: "s3cret&more", Iterations: 1000})
	if _, err := Open(context.Background(), "pskc:"+file+"?users="+users, nil); err == nil || !strings.Contains(err.Error(), "password=") {
		t.Fatalf("an encrypted file without a password: %v, want advice to add password=", err)
	}
	if _, err := Open(context.Background(), "pskc:"+file+"?users="+users+"&password=wrong", nil); !errors.Is(err, seedfile.ErrDecrypt) && !errors.Is(err, seedfile.ErrMAC) {
		t.Fatalf("a wrong password: %v", err)
	}
	p, err := Open(context.Background(), "pskc:"+file+"?users="+users+"&password=s3cret%26more", nil)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := p.NewUser(context.Background(), Options{}); err != nil || u.ID != "alice" {
		t.Fatalf("%v %v", u, err)
	}

	key := bytes.Repeat([]byte{0x42}, 16)
	file, _ = pskcFixture(t, 1, nil, seedfile.EncodeOptions{Key: key})
	if _, err := Open(context.Background(), fmt.Sprintf("pskc:%s?users=%s&key=%x", file, users, key), nil); err != nil {
		t.Fatal(err)
	}
}

func TestPSKCConcurrentUsersAreDistinct(t *testing.T) {
	const n = 30
	file, _ := pskcFixture(t, n, nil, seedfile.EncodeOptions{})
	var csv strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&csv, "TL%04d,user%d\n", i, i)
	}
	p, err := Open(context.Background(), "pskc:"+file+"?users="+writeFile(t, csv.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range n + 5 {
		wg.Go(func() {
			u, err := p.NewUser(context.Background(), Options{})
			if err != nil {
				return // the five past n
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[u.ID] {
				t.Errorf("%s handed out twice", u.ID)
			}
			seen[u.ID] = true
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d users handed out, want %d", len(seen), n)
	}
}
