package seedfile

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PSKCFile is a parsed PSKC (RFC 6030) key container. Parse reads its
// structure and plain values; Unlock decrypts what is encrypted and checks
// the MACs. Tokens turns its HOTP and TOTP keys into Tokens.
type PSKCFile struct {
	ID, Version string
	// KeyName names the pre-shared key or password (EncryptionKey/KeyName or
	// DerivedKey/MasterKeyName).
	KeyName string
	// Derivation is set when the encryption key comes from a password.
	Derivation *PBKDF2Params
	// EncryptionAlgorithm and MACAlgorithm are W3C algorithm URIs
	// (normalised: old short names become the standard URI).
	EncryptionAlgorithm string
	MACAlgorithm        string
	// Signed reports an XML signature on the container (not verified).
	Signed bool
	// Packages is the number of KeyPackage elements.
	Packages int
	Keys     []*PSKCKey

	hasMACMethod bool
	macKey       *encrypted
	// after Unlock
	unlocked bool
	encKey   []byte
	MACKey   []byte
}

// PBKDF2Params are the PKCS #5 v2.0 parameters of a password-derived key.
type PBKDF2Params struct {
	Algorithm  string
	Salt       []byte
	Iterations int
	KeyLength  int
	// PRF is the pseudo-random function URI; empty means HMAC-SHA1.
	PRF string
}

// PSKCKey is one Key element with what its KeyPackage says about the device.
type PSKCKey struct {
	ID        string
	Algorithm string
	Issuer    string

	Manufacturer, Serial, Model, IssueNo string
	DeviceStartDate, DeviceExpiryDate    time.Time
	DeviceUserID                         string
	CryptoModule                         string

	KeyUserID, FriendlyName, KeyProfile, KeyReference string

	Suite                  string
	ChallengeEncoding      string
	ChallengeMin           *int
	ChallengeMax           *int
	ChallengeCheckDigits   *bool
	Encoding               string
	Digits                 int
	ResponseCheckDigits    *bool
	StartDate, ExpiryDate  time.Time
	NumberOfTransactions   *int64
	KeyUsage               []string
	PINPolicy              *PINPolicy
	UnknownPolicyElements  bool
	Secret                 []byte
	Counter, Time          *uint64
	TimeInterval           *uint64
	TimeDrift              *int64
	secret, counter, time_ *dataValue
	interval, drift        *dataValue
	where                  string
}

// PINPolicy is a key's PINPolicy element.
type PINPolicy struct {
	PINKeyID          string
	PINUsageMode      string
	MaxFailedAttempts int
	MinLength         int
	MaxLength         int
	PINEncoding       string
}

// dataValue is one Data child (Secret, Counter, …): a plain value, or an
// encrypted one with its MAC.
type dataValue struct {
	plain    string
	hasPlain bool
	enc      *encrypted
	mac      []byte
	where    string
}

// encrypted is an xenc EncryptedValue.
type encrypted struct {
	algorithm string // normalised URI; "" when the file gives none
	cipher    []byte
	where     string
}

// MayUse reports whether the key's policy allows usage (e.g. "OTP") at t:
// within StartDate and ExpiryDate, listed in KeyUsage when that is given, and
// never when the policy holds elements this reader does not know (RFC 6030
// §5: such a key must not be used).
func (k *PSKCKey) MayUse(usage string, t time.Time) bool {
	if k.UnknownPolicyElements {
		return false
	}
	if !k.StartDate.IsZero() && t.Before(k.StartDate) {
		return false
	}
	if !k.ExpiryDate.IsZero() && t.After(k.ExpiryDate) {
		return false
	}
	if len(k.KeyUsage) == 0 {
		return true
	}
	for _, u := range k.KeyUsage {
		if strings.EqualFold(u, usage) {
			return true
		}
	}
	return false
}

// PIN returns the PIN text the key's policy points to (the secret of the
// PIN key named by PINKeyId), after Unlock. A binary PIN is not text and is
// not returned.
func (f *PSKCFile) PIN(k *PSKCKey) (string, bool) {
	if k.PINPolicy == nil || k.PINPolicy.PINKeyID == "" || strings.EqualFold(k.PINPolicy.PINEncoding, "BINARY") {
		return "", false
	}
	for _, other := range f.Keys {
		if other.ID == k.PINPolicy.PINKeyID && other.Secret != nil && utf8.Valid(other.Secret) {
			return string(other.Secret), true
		}
	}
	return "", false
}

// ParsePSKC reads a PSKC file's structure and plain values. Encrypted values
// stay encrypted until Unlock.
func ParsePSKC(data []byte) (*PSKCFile, error) {
	root, err := parseXML(data)
	if err != nil {
		return nil, &Error{Format: PSKC, Err: err}
	}
	if root.name == "SecretContainer" || root.name == "KeyContainer" && (root.child("Device") != nil || root.child("EncryptionMethod") != nil) {
		return nil, &Error{Format: PSKC, Err: fmt.Errorf("%w: this is a pre-RFC 6030 draft layout (Device, KeyId, Usage elements): convert it to RFC 6030 (KeyPackage, Key Id, AlgorithmParameters)", ErrUnsupported)}
	}
	if root.name != "KeyContainer" {
		return nil, &Error{Format: PSKC, Err: fmt.Errorf("%w: the root element is %s, not KeyContainer: this is not a PSKC file", ErrMalformed, root.name)}
	}
	f := &PSKCFile{}
	f.Version, _ = root.attr("Version")
	f.ID, _ = root.attr("Id")
	if f.ID == "" {
		f.ID, _ = root.attr("id") // RFC 6030's own figure 8 writes it in lower case
	}
	if f.Version != "" && f.Version != "1.0" {
		return nil, &Error{Format: PSKC, Where: "KeyContainer", Err: fmt.Errorf("%w: Version %q: RFC 6030 containers are version 1.0", ErrUnsupported, f.Version)}
	}
	p := &parser{}
	f.parseEncryptionKey(root.child("EncryptionKey"), p)
	if mm := root.child("MACMethod"); mm != nil {
		f.hasMACMethod = true
		alg, _ := mm.attr("Algorithm")
		f.MACAlgorithm = normaliseAlgorithm(alg)
		if mk := mm.child("MACKey"); mk != nil {
			f.macKey = p.encrypted(mk, "MACMethod/MACKey")
		}
	}
	f.Signed = root.child("Signature") != nil
	for i, kp := range root.all("KeyPackage") {
		f.Packages++
		keys := kp.all("Key")
		for j, k := range keys {
			where := fmt.Sprintf("KeyPackage %d/Key", i+1)
			if len(keys) > 1 {
				where = fmt.Sprintf("KeyPackage %d/Key %d", i+1, j+1)
			}
			f.Keys = append(f.Keys, p.key(kp, k, where))
		}
	}
	if p.err != nil {
		return nil, &Error{Format: PSKC, Where: p.where, Err: p.err}
	}
	f.EncryptionAlgorithm = f.firstEncryptionAlgorithm()
	// Plain values can be read now; encrypted ones wait for Unlock.
	if err := f.readValues(nil); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *PSKCFile) parseEncryptionKey(ek *node, p *parser) {
	if ek == nil {
		return
	}
	f.KeyName = ek.child("KeyName").value()
	dk := ek.child("DerivedKey")
	if dk == nil {
		return
	}
	if n := dk.child("MasterKeyName"); n != nil {
		f.KeyName = n.value()
	}
	kdm := dk.child("KeyDerivationMethod")
	if kdm == nil {
		return
	}
	alg, _ := kdm.attr("Algorithm")
	d := &PBKDF2Params{Algorithm: normaliseAlgorithm(alg)}
	if params := kdm.child("PBKDF2-params"); params != nil {
		d.Salt = p.base64(params.path("Salt", "Specified"), "PBKDF2-params/Salt")
		d.Iterations = p.int(params.child("IterationCount"), "PBKDF2-params/IterationCount")
		d.KeyLength = p.int(params.child("KeyLength"), "PBKDF2-params/KeyLength")
		if prf := params.child("PRF"); prf != nil {
			d.PRF, _ = prf.attr("Algorithm")
		}
	}
	f.Derivation = d
}

// firstEncryptionAlgorithm is the container's encryption algorithm: the one
// of the MAC key, else of the first encrypted value.
func (f *PSKCFile) firstEncryptionAlgorithm() string {
	if f.macKey != nil && f.macKey.algorithm != "" {
		return f.macKey.algorithm
	}
	for _, k := range f.Keys {
		for _, d := range k.values() {
			if d != nil && d.enc != nil && d.enc.algorithm != "" {
				return d.enc.algorithm
			}
		}
	}
	return ""
}

func (k *PSKCKey) values() []*dataValue {
	return []*dataValue{k.secret, k.counter, k.time_, k.interval, k.drift}
}

// parser collects the first error while reading, so the reading code stays
// straight; later reads after an error are harmless no-ops.
type parser struct {
	err   error
	where string
}

func (p *parser) fail(where string, format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
		p.where = where
	}
}

func (p *parser) int(n *node, where string) int {
	if n == nil || n.value() == "" {
		return 0
	}
	v, err := strconv.Atoi(n.value())
	if err != nil || v < 0 {
		p.fail(where, "%s is not a non-negative integer", n.name)
	}
	return v
}

func (p *parser) intAttr(n *node, name, where string) int {
	s, ok := n.attr(name)
	if !ok || s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		p.fail(where, "attribute %s is not a non-negative integer", name)
	}
	return v
}

func (p *parser) optIntAttr(n *node, name, where string) *int {
	if s, ok := n.attr(name); !ok || s == "" {
		return nil
	}
	v := p.intAttr(n, name, where)
	return &v
}

func (p *parser) boolAttr(n *node, where string, names ...string) *bool {
	for _, name := range names {
		s, ok := n.attr(name)
		if !ok {
			continue
		}
		switch strings.ToLower(s) {
		case "true", "1":
			t := true
			return &t
		case "false", "0":
			f := false
			return &f
		}
		p.fail(where, "attribute %s is not a boolean: use true or false", name)
		return nil
	}
	return nil
}

func (p *parser) base64(n *node, where string) []byte {
	if n == nil {
		return nil
	}
	b, err := decodeBase64(n.value())
	if err != nil {
		p.fail(where, "%s is not base64", n.name)
	}
	return b
}

func (p *parser) date(n *node, where string) time.Time {
	if n == nil || n.value() == "" {
		return time.Time{}
	}
	t, err := parseXSDateTime(n.value())
	if err != nil {
		p.fail(where, "%s is not a date and time such as 2026-01-01T00:00:00Z", n.name)
	}
	return t
}

func parseXSDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05", s) // no zone: taken as UTC
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	return base64.StdEncoding.DecodeString(s)
}

func (p *parser) encrypted(n *node, where string) *encrypted {
	e := &encrypted{where: where}
	if m := n.child("EncryptionMethod"); m != nil {
		alg, _ := m.attr("Algorithm")
		e.algorithm = normaliseAlgorithm(alg)
	}
	e.cipher = p.base64(n.path("CipherData", "CipherValue"), where+"/CipherValue")
	return e
}

func (p *parser) data(n *node, where string) *dataValue {
	if n == nil {
		return nil
	}
	d := &dataValue{where: where}
	if pv := n.child("PlainValue"); pv != nil {
		d.plain, d.hasPlain = pv.value(), true
	}
	if ev := n.child("EncryptedValue"); ev != nil {
		d.enc = p.encrypted(ev, where+"/EncryptedValue")
	}
	if mac := n.child("ValueMAC"); mac != nil {
		d.mac = p.base64(mac, where+"/ValueMAC")
	}
	if d.plain == "" && d.enc == nil {
		return nil // an empty element is an absent value
	}
	return d
}

func (p *parser) key(pkg, k *node, where string) *PSKCKey {
	key := &PSKCKey{where: where}
	key.ID, _ = k.attr("Id")
	key.Algorithm, _ = k.attr("Algorithm")
	key.Issuer = k.child("Issuer").value()
	di := pkg.child("DeviceInfo")
	key.Manufacturer = di.child("Manufacturer").value()
	key.Serial = di.child("SerialNo").value()
	key.Model = di.child("Model").value()
	key.IssueNo = di.child("IssueNo").value()
	key.DeviceStartDate = p.date(di.child("StartDate"), where+"/DeviceInfo/StartDate")
	key.DeviceExpiryDate = p.date(di.child("ExpiryDate"), where+"/DeviceInfo/ExpiryDate")
	key.DeviceUserID = di.child("UserId").value()
	key.CryptoModule = pkg.path("CryptoModuleInfo", "Id").value()
	key.KeyUserID = k.child("UserId").value()
	key.FriendlyName = k.child("FriendlyName").value()
	key.KeyProfile = k.child("KeyProfileId").value()
	key.KeyReference = k.child("KeyReference").value()

	ap := k.child("AlgorithmParameters")
	key.Suite = ap.child("Suite").value()
	if cf := ap.child("ChallengeFormat"); cf != nil {
		key.ChallengeEncoding, _ = cf.attr("Encoding")
		key.ChallengeMin = p.optIntAttr(cf, "Min", where+"/ChallengeFormat")
		key.ChallengeMax = p.optIntAttr(cf, "Max", where+"/ChallengeFormat")
		key.ChallengeCheckDigits = p.boolAttr(cf, where+"/ChallengeFormat", "CheckDigits", "CheckDigit")
	}
	if rf := ap.child("ResponseFormat"); rf != nil {
		key.Encoding, _ = rf.attr("Encoding")
		key.Digits = p.intAttr(rf, "Length", where+"/ResponseFormat")
		key.ResponseCheckDigits = p.boolAttr(rf, where+"/ResponseFormat", "CheckDigits", "CheckDigit")
	}

	data := k.child("Data")
	key.secret = p.data(data.child("Secret"), where+"/Data/Secret")
	key.counter = p.data(data.child("Counter"), where+"/Data/Counter")
	key.time_ = p.data(data.child("Time"), where+"/Data/Time")
	key.interval = p.data(data.child("TimeInterval"), where+"/Data/TimeInterval")
	key.drift = p.data(data.child("TimeDrift"), where+"/Data/TimeDrift")

	if pol := k.child("Policy"); pol != nil {
		p.policy(key, pol, where+"/Policy")
	}
	return key
}

// knownPolicy are the Policy children and attributes RFC 6030 defines.
var knownPolicy = map[string]bool{"StartDate": true, "ExpiryDate": true, "PINPolicy": true, "KeyUsage": true, "NumberOfTransactions": true}

var knownPINPolicyAttrs = map[string]bool{"PINKeyId": true, "PINUsageMode": true, "MaxFailedAttempts": true, "MinLength": true, "MaxLength": true, "PINEncoding": true}

func (p *parser) policy(key *PSKCKey, pol *node, where string) {
	key.StartDate = p.date(pol.child("StartDate"), where+"/StartDate")
	key.ExpiryDate = p.date(pol.child("ExpiryDate"), where+"/ExpiryDate")
	for _, u := range pol.all("KeyUsage") {
		if v := u.value(); v != "" {
			key.KeyUsage = append(key.KeyUsage, v)
		}
	}
	if n := pol.child("NumberOfTransactions"); n != nil && n.value() != "" {
		v, err := strconv.ParseInt(n.value(), 10, 64)
		if err != nil || v < 0 {
			p.fail(where+"/NumberOfTransactions", "NumberOfTransactions is not a non-negative integer")
		}
		key.NumberOfTransactions = &v
	}
	if pp := pol.child("PINPolicy"); pp != nil {
		pin := &PINPolicy{}
		pin.PINKeyID, _ = pp.attr("PINKeyId")
		pin.PINUsageMode, _ = pp.attr("PINUsageMode")
		pin.PINEncoding, _ = pp.attr("PINEncoding")
		pin.MaxFailedAttempts = p.intAttr(pp, "MaxFailedAttempts", where+"/PINPolicy")
		pin.MinLength = p.intAttr(pp, "MinLength", where+"/PINPolicy")
		pin.MaxLength = p.intAttr(pp, "MaxLength", where+"/PINPolicy")
		key.PINPolicy = pin
		for _, a := range pp.attrs {
			if a.Name.Space == "" && !knownPINPolicyAttrs[a.Name.Local] {
				key.UnknownPolicyElements = true
			}
		}
		if len(pp.children) > 0 {
			key.UnknownPolicyElements = true
		}
	}
	for _, c := range pol.children {
		if !knownPolicy[c.name] {
			key.UnknownPolicyElements = true
		}
	}
}

// readValues decodes every Data value: plain ones always, encrypted ones
// with dec (nil before Unlock: they are left unread).
func (f *PSKCFile) readValues(dec func(*dataValue) ([]byte, error)) error {
	for _, k := range f.Keys {
		if k.secret != nil {
			b, err := readBytes(k.secret, dec)
			if err != nil {
				return &Error{Format: PSKC, Where: k.secret.where, Err: err}
			}
			if b != nil {
				k.Secret = b
			}
		}
		for _, iv := range []struct {
			d   *dataValue
			dst **uint64
		}{{k.counter, &k.Counter}, {k.time_, &k.Time}, {k.interval, &k.TimeInterval}} {
			if iv.d == nil {
				continue
			}
			v, ok, err := readInt(iv.d, dec)
			if err != nil {
				return &Error{Format: PSKC, Where: iv.d.where, Err: err}
			}
			if ok {
				if v.Sign() < 0 || !v.IsUint64() {
					return &Error{Format: PSKC, Where: iv.d.where, Err: fmt.Errorf("%w: value out of range", ErrMalformed)}
				}
				u := v.Uint64()
				*iv.dst = &u
			}
		}
		if k.drift != nil {
			v, ok, err := readInt(k.drift, dec)
			if err != nil {
				return &Error{Format: PSKC, Where: k.drift.where, Err: err}
			}
			if ok {
				if !v.IsInt64() {
					return &Error{Format: PSKC, Where: k.drift.where, Err: fmt.Errorf("%w: value out of range", ErrMalformed)}
				}
				d := v.Int64()
				k.TimeDrift = &d
			}
		}
	}
	return nil
}

// readBytes returns a value's bytes: a PlainValue is base64 (RFC 6030
// §4.2); an EncryptedValue is decrypted by dec, or left (nil) without it.
func readBytes(d *dataValue, dec func(*dataValue) ([]byte, error)) ([]byte, error) {
	if d.enc != nil {
		if dec == nil {
			return nil, nil
		}
		return dec(d)
	}
	b, err := decodeBase64(d.plain)
	if err != nil {
		return nil, fmt.Errorf("%w: PlainValue is not base64", ErrMalformed)
	}
	return b, nil
}

// readInt returns an integer value. RFC 6030 writes a plain integer in
// decimal; some producers base64 it (ASCII digits or big-endian bytes), and
// encrypted integers decrypt to either form. All are accepted.
func readInt(d *dataValue, dec func(*dataValue) ([]byte, error)) (*big.Int, bool, error) {
	var raw []byte
	if d.enc != nil {
		if dec == nil {
			return nil, false, nil
		}
		b, err := dec(d)
		if err != nil {
			return nil, false, err
		}
		raw = b
	} else {
		s := d.plain
		if len(s) > maxIntText {
			return nil, false, fmt.Errorf("%w: an integer of %d characters is out of range", ErrMalformed, len(s))
		}
		if v, ok := new(big.Int).SetString(s, 10); ok {
			return v, true, nil
		}
		b, err := decodeBase64(s)
		if err != nil || len(b) == 0 {
			return nil, false, fmt.Errorf("%w: PlainValue is neither a decimal integer nor base64", ErrMalformed)
		}
		raw = b
	}
	if len(raw) > maxIntText {
		return nil, false, fmt.Errorf("%w: an integer of %d bytes is out of range", ErrMalformed, len(raw))
	}
	if v, ok := new(big.Int).SetString(string(raw), 10); ok && isDigits(raw) {
		return v, true, nil
	}
	if len(raw) > 16 {
		return nil, false, fmt.Errorf("%w: integer of %d bytes is out of range", ErrMalformed, len(raw))
	}
	return new(big.Int).SetBytes(raw), true, nil
}

// maxIntText bounds an integer's text (a uint64 has 20 digits); parsing a
// megabyte of digits would take seconds.
const maxIntText = 40

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for i, c := range b {
		if !(c >= '0' && c <= '9' || i == 0 && c == '-') {
			return false
		}
	}
	return true
}
