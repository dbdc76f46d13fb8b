package seedfile

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/fixture"
)

// The conformance corpus (fixtures/pskc-corpus, see its README): every file
// is parsed and every field of expected.json compared. Files that use what
// tokenlab does not read are listed here with the reason, and must be
// refused with an "unsupported" error — never skipped in silence.
var unsupportedCorpus = map[string]string{
	"encryption/camellia128-cbc.pskcxml": "Camellia-CBC: not in Go's standard library",
	"encryption/camellia192-cbc.pskcxml": "Camellia-CBC: not in Go's standard library",
	"encryption/camellia256-cbc.pskcxml": "Camellia-CBC: not in Go's standard library",
	"encryption/kw-camellia128.pskcxml":  "Camellia key wrap: not in Go's standard library",
	"encryption/kw-camellia192.pskcxml":  "Camellia key wrap: not in Go's standard library",
	"encryption/kw-camellia256.pskcxml":  "Camellia key wrap: not in Go's standard library",
	"encryption/kw-tripledes.pskcxml":    "3DES key wrap (RFC 3217): no vendor ships it for OATH tokens",
	"rfc6030/figure8.pskcxml":            "RSA-1_5 key transport: the private key was never published",
}

// unsupportedPattern says which word the refusal of an unsupported file names.
var unsupportedPattern = map[string]string{
	"camellia": "camellia", "kw-tripledes": "kw-tripledes", "figure8": "rsa_1_5",
}

type corpusEntry struct {
	Valid          bool             `json:"valid"`
	Error          string           `json:"error"`
	ErrorStage     string           `json:"error_stage"`
	Format         string           `json:"format"`
	KeyHex         string           `json:"key_hex"`
	Password       string           `json:"password"`
	IVHex          string           `json:"iv_hex"`
	Container      map[string]any   `json:"container"`
	Keys           []map[string]any `json:"keys"`
	UsageChecks    []usageCheck     `json:"usage_checks"`
	NegativeChecks []negativeCheck  `json:"negative_checks"`
}

type usageCheck struct {
	Key     int       `json:"key"`
	Usage   string    `json:"usage"`
	At      time.Time `json:"at"`
	Allowed bool      `json:"allowed"`
}

type negativeCheck struct {
	WithoutKey bool   `json:"without_key"`
	KeyHex     string `json:"key_hex"`
	Password   string `json:"password"`
	Error      string `json:"error"`
}

func loadCorpus(t testing.TB) (map[string]corpusEntry, map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile(fixture.Path("pskc-corpus", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	entries := map[string]corpusEntry{}
	uncertain := map[string]bool{}
	for name, msg := range all {
		if name == "_uncertain" {
			var u []string
			if err := json.Unmarshal(msg, &u); err != nil {
				t.Fatalf("_uncertain: %v", err)
			}
			for _, f := range u {
				uncertain[f] = true
			}
		}
		if strings.HasPrefix(name, "_") {
			continue
		}
		var e corpusEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		entries[name] = e
	}
	return entries, uncertain
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	if s == "" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPSKCCorpus(t *testing.T) {
	entries, uncertain := loadCorpus(t)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	var read, refused, drafts int
	for _, name := range names {
		e := entries[name]
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(fixture.Path("pskc-corpus", name))
			if err != nil {
				t.Fatal(err)
			}
			if e.Format == "pre-rfc-draft" {
				// The drafts before RFC 6030 use other element names; tokenlab
				// reads RFC 6030 only and says so.
				drafts++
				_, err := DecodePSKC(data, DecodeOptions{Key: mustHex(t, e.KeyHex), Password: e.Password})
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "pre-RFC 6030 draft") {
					t.Fatalf("a pre-RFC draft file: got %v, want an unsupported error naming the draft layout", err)
				}
				return
			}
			if reason, ok := unsupportedCorpus[name]; ok {
				refused++
				checkRefused(t, name, data, e, reason)
				return
			}
			read++
			checkCorpusFile(t, name, data, e, uncertain[name])
		})
	}
	t.Logf("%d files read and compared, %d refused as unsupported (listed), %d pre-RFC 6030 drafts refused", read, refused, drafts)
	if read+refused+drafts != len(entries) || read < 50 {
		t.Fatalf("%d + %d + %d files of %d", read, refused, drafts, len(entries))
	}
}

func checkRefused(t *testing.T, name string, data []byte, e corpusEntry, reason string) {
	f, err := ParsePSKC(data)
	if err != nil {
		t.Fatalf("%s should parse (only its encryption is unsupported: %s): %v", name, reason, err)
	}
	compareContainer(t, f, e.Container, false)
	err = f.Unlock(DecodeOptions{Key: mustHex(t, e.KeyHex), Password: e.Password})
	if err == nil {
		_, err = f.Tokens()
	}
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unsupported (%s): got %v, want an unsupported error", reason, err)
	}
	for part, word := range unsupportedPattern {
		if strings.Contains(name, part) && !strings.Contains(err.Error(), word) {
			t.Fatalf("the refusal %q does not name %q", err, word)
		}
	}
}

func checkCorpusFile(t *testing.T, name string, data []byte, e corpusEntry, uncertainCounters bool) {
	f, err := ParsePSKC(data)
	if e.ErrorStage == "parse" {
		if err == nil {
			t.Fatalf("must not parse (%s)", e.Error)
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("parse error %v wraps neither ErrMalformed nor ErrUnsupported", err)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	compareContainer(t, f, e.Container, false)

	opts := DecodeOptions{Key: mustHex(t, e.KeyHex), Password: e.Password, IV: mustHex(t, e.IVHex)}
	if e.ErrorStage == "key_derivation" {
		if _, err := f.DeriveKey(e.Password); !errors.Is(err, ErrKeyDerivation) {
			t.Fatalf("key derivation must fail (%s): got %v", e.Error, err)
		}
		return
	}
	err = f.Unlock(opts)
	if e.ErrorStage == "decrypt" {
		if err == nil {
			_, err = f.Tokens()
		}
		if err == nil {
			t.Fatalf("reading the secret must fail (%s)", e.Error)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	unavailable := false
	for _, k := range e.Keys {
		if _, ok := k["secret_unavailable"]; ok {
			unavailable = true
		}
	}
	if unavailable {
		if err == nil {
			t.Fatal("a secret nobody can decrypt was decrypted")
		}
	} else if err != nil {
		t.Fatalf("unlock: %v", err)
	}
	compareContainer(t, f, e.Container, true)
	if e.Password != "" && e.Container["derived_key_hex"] != nil {
		k, err := f.DeriveKey(e.Password)
		if err != nil || hex.EncodeToString(k) != e.Container["derived_key_hex"] {
			t.Errorf("derived key %x (%v), want %v", k, err, e.Container["derived_key_hex"])
		}
	}
	if len(f.Keys) != len(e.Keys) {
		t.Fatalf("%d keys, want %d", len(f.Keys), len(e.Keys))
	}
	for i, want := range e.Keys {
		compareKey(t, fmt.Sprintf("key %d", i), f, f.Keys[i], want, uncertainCounters)
	}
	for _, u := range e.UsageChecks {
		if got := f.Keys[u.Key].MayUse(u.Usage, u.At); got != u.Allowed {
			t.Errorf("key %d may use %s at %v: %v, want %v", u.Key, u.Usage, u.At, got, u.Allowed)
		}
	}
	for _, n := range e.NegativeChecks {
		g, err := ParsePSKC(data)
		if err != nil {
			t.Fatal(err)
		}
		o := DecodeOptions{Key: mustHex(t, n.KeyHex), Password: n.Password}
		err = g.Unlock(o)
		if err == nil {
			_, err = g.Tokens()
		}
		if err == nil {
			t.Errorf("negative check %+v (%s): no error", n, n.Error)
		}
	}
	checkTokens(t, f)
}

// checkTokens converts the file's keys to Tokens: files of HOTP/TOTP keys
// must convert; others must be refused with a reason.
func checkTokens(t *testing.T, f *PSKCFile) {
	toks, err := f.Tokens()
	if err != nil {
		if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrKeyNeeded) {
			t.Fatalf("Tokens: %v is not a clear refusal", err)
		}
		return
	}
	i := 0
	for _, k := range f.Keys {
		if kind, name := keyKind(k.Algorithm); name == "hotp" || name == "totp" {
			tok := toks[i]
			if tok.Kind != kind || string(tok.Secret) != string(k.Secret) || (k.Serial != "" && tok.Serial != k.Serial) {
				t.Errorf("token %d: %+v from key %+v", i, tok, k)
			}
			i++
		}
	}
	if i != len(toks) {
		t.Fatalf("%d tokens from %d OTP keys", len(toks), i)
	}
}

func compareContainer(t *testing.T, f *PSKCFile, want map[string]any, unlocked bool) {
	t.Helper()
	str := map[string]string{"id": f.ID, "version": f.Version, "key_name": f.KeyName,
		"encryption_algorithm": f.EncryptionAlgorithm, "mac_algorithm": f.MACAlgorithm}
	for field, got := range str {
		w, _ := want[field].(string)
		if got != w {
			t.Errorf("container %s = %q, want %q", field, got, w)
		}
	}
	if got, w := float64(f.Packages), want["device_count"]; w != nil && got != w {
		t.Errorf("device_count %v, want %v", got, w)
	}
	if got, w := float64(len(f.Keys)), want["key_count"]; w != nil && got != w {
		t.Errorf("key_count %v, want %v", got, w)
	}
	if _, signed := want["signature"]; signed != f.Signed {
		t.Errorf("signed %v, want %v", f.Signed, signed)
	}
	if kd, ok := want["key_derivation"].(map[string]any); ok {
		d := f.Derivation
		if d == nil {
			t.Fatalf("no key derivation, want %v", kd)
		}
		got := map[string]any{"algorithm": d.Algorithm, "salt_hex": hex.EncodeToString(d.Salt), "iterations": float64(d.Iterations), "key_length": float64(d.KeyLength)}
		for k, v := range kd {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("key_derivation %s = %v, want %v", k, got[k], v)
			}
		}
	} else if f.Derivation != nil && f.Derivation.Algorithm != "" {
		t.Errorf("key derivation %+v, want none", f.Derivation)
	}
	if unlocked {
		if w, ok := want["mac_key_hex"].(string); ok && hex.EncodeToString(f.MACKey) != w {
			t.Errorf("MAC key %x, want %s", f.MACKey, w)
		}
	}
}

func compareKey(t *testing.T, where string, f *PSKCFile, k *PSKCKey, want map[string]any, uncertainCounter bool) {
	t.Helper()
	got := map[string]any{}
	put := func(name string, v any, present bool) {
		if present {
			got[name] = v
		}
	}
	for name, v := range map[string]string{
		"id": k.ID, "algorithm": k.Algorithm, "issuer": k.Issuer, "manufacturer": k.Manufacturer, "serial": k.Serial,
		"model": k.Model, "issue_no": k.IssueNo, "device_userid": k.DeviceUserID, "crypto_module": k.CryptoModule,
		"key_userid": k.KeyUserID, "friendly_name": k.FriendlyName, "key_profile": k.KeyProfile, "key_reference": k.KeyReference,
		"suite": k.Suite, "challenge_encoding": k.ChallengeEncoding, "encoding": k.Encoding,
	} {
		put(name, v, v != "")
	}
	for name, v := range map[string]time.Time{"device_start_date": k.DeviceStartDate, "device_expiry_date": k.DeviceExpiryDate, "start_date": k.StartDate, "expiry_date": k.ExpiryDate} {
		put(name, v.UTC().Format(time.RFC3339), !v.IsZero())
	}
	put("digits", float64(k.Digits), k.Digits != 0)
	if k.ChallengeMin != nil {
		got["challenge_min"] = float64(*k.ChallengeMin)
	}
	if k.ChallengeMax != nil {
		got["challenge_max"] = float64(*k.ChallengeMax)
	}
	if k.ChallengeCheckDigits != nil {
		got["challenge_check_digits"] = *k.ChallengeCheckDigits
	}
	if k.ResponseCheckDigits != nil {
		got["response_check_digits"] = *k.ResponseCheckDigits
	}
	put("secret_hex", hex.EncodeToString(k.Secret), k.Secret != nil)
	for name, v := range map[string]*uint64{"counter": k.Counter, "time": k.Time, "time_interval": k.TimeInterval} {
		if v != nil {
			got[name] = float64(*v)
		}
	}
	if k.TimeDrift != nil {
		got["time_drift"] = float64(*k.TimeDrift)
	}
	if k.NumberOfTransactions != nil {
		got["number_of_transactions"] = float64(*k.NumberOfTransactions)
	}
	if len(k.KeyUsage) > 0 {
		u := make([]any, len(k.KeyUsage))
		for i, s := range k.KeyUsage {
			u[i] = s
		}
		got["key_usage"] = u
	}
	if p := k.PINPolicy; p != nil {
		pp := map[string]any{}
		for name, v := range map[string]string{"pin_key_id": p.PINKeyID, "pin_usage_mode": p.PINUsageMode, "pin_encoding": p.PINEncoding} {
			if v != "" {
				pp[name] = v
			}
		}
		for name, v := range map[string]int{"min_length": p.MinLength, "max_length": p.MaxLength, "max_failed_attempts": p.MaxFailedAttempts} {
			if v != 0 {
				pp[name] = float64(v)
			}
		}
		got["pin_policy"] = pp
	}
	if pin, ok := f.PIN(k); ok {
		got["pin"] = pin
	}
	if k.UnknownPolicyElements {
		got["unknown_policy_elements"] = true
	}
	for name, w := range want {
		switch {
		case name == "secret_unavailable":
			if k.Secret != nil {
				t.Errorf("%s: a secret nobody can decrypt was read", where)
			}
			continue
		case name == "counter" && uncertainCounter:
			continue
		case (name == "device_start_date" || name == "device_expiry_date" || name == "start_date" || name == "expiry_date"):
			wt, err := parseXSDateTime(w.(string))
			if err != nil {
				t.Fatalf("expected %s %v: %v", name, w, err)
			}
			w = wt.UTC().Format(time.RFC3339)
		}
		if !reflect.DeepEqual(got[name], w) {
			t.Errorf("%s %s = %#v, want %#v", where, name, got[name], w)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok && !(name == "counter" && uncertainCounter) {
			t.Errorf("%s has %s = %#v, which expected.json does not list", where, name, g)
		}
	}
}

func TestCorpusFilesAllListed(t *testing.T) {
	entries, _ := loadCorpus(t)
	err := filepath.WalkDir(fixture.Path("pskc-corpus"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(fixture.Path("pskc-corpus"), path)
		if rel == "README.md" || rel == "expected.json" || strings.HasPrefix(rel, "certificate/") {
			return nil
		}
		if _, ok := entries[filepath.ToSlash(rel)]; !ok {
			t.Errorf("%s is in the corpus but not in expected.json", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range unsupportedCorpus {
		if _, ok := entries[name]; !ok {
			t.Errorf("unsupported list names %s, which the corpus does not hold", name)
		}
	}
}
