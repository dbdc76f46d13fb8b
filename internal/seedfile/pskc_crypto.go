package seedfile

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Algorithm URIs tokenlab reads and writes.
const (
	uriXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
	uriDSigMore  = "http://www.w3.org/2001/04/xmldsig-more#"
	uriHMACSHA1  = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
	uriPBKDF2    = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2"
	uriAES128CBC = uriXMLEnc + "aes128-cbc"
	uriHMAC256   = uriDSigMore + "hmac-sha256"
)

// canonical maps an algorithm's short name (the URI fragment, or an old
// name such as PBE-3DES112-CBC) to its standard URI.
var canonical = map[string]string{
	"aes128-cbc": uriXMLEnc + "aes128-cbc", "aes192-cbc": uriXMLEnc + "aes192-cbc", "aes256-cbc": uriXMLEnc + "aes256-cbc",
	"tripledes-cbc": uriXMLEnc + "tripledes-cbc", "pbe-3des112-cbc": uriXMLEnc + "tripledes-cbc", "des3-cbc": uriXMLEnc + "tripledes-cbc",
	"kw-aes128": uriXMLEnc + "kw-aes128", "kw-aes192": uriXMLEnc + "kw-aes192", "kw-aes256": uriXMLEnc + "kw-aes256",
	"kw-tripledes":    uriXMLEnc + "kw-tripledes",
	"camellia128-cbc": uriDSigMore + "camellia128-cbc", "camellia192-cbc": uriDSigMore + "camellia192-cbc", "camellia256-cbc": uriDSigMore + "camellia256-cbc",
	"kw-camellia128": uriDSigMore + "kw-camellia128", "kw-camellia192": uriDSigMore + "kw-camellia192", "kw-camellia256": uriDSigMore + "kw-camellia256",
	"hmac-sha1": uriHMACSHA1, "hmac-sha224": uriDSigMore + "hmac-sha224", "hmac-sha256": uriDSigMore + "hmac-sha256",
	"hmac-sha384": uriDSigMore + "hmac-sha384", "hmac-sha512": uriDSigMore + "hmac-sha512", "hmac-md5": uriDSigMore + "hmac-md5",
	"pbkdf2": uriPBKDF2,
}

func normaliseAlgorithm(s string) string {
	s = strings.TrimSpace(s)
	frag := s
	if i := strings.LastIndex(s, "#"); i >= 0 {
		frag = s[i+1:]
	}
	if c, ok := canonical[strings.ToLower(frag)]; ok {
		return c
	}
	return s
}

func fragment(uri string) string {
	if i := strings.LastIndex(uri, "#"); i >= 0 {
		return uri[i+1:]
	}
	return uri
}

// cipherSpec says how an encryption algorithm decrypts.
type cipherSpec struct {
	keyLen int
	wrap   bool
	block  func([]byte) (cipher.Block, error)
}

func cipherFor(uri string) (cipherSpec, error) {
	switch fragment(uri) {
	case "aes128-cbc":
		return cipherSpec{16, false, aes.NewCipher}, nil
	case "aes192-cbc":
		return cipherSpec{24, false, aes.NewCipher}, nil
	case "aes256-cbc":
		return cipherSpec{32, false, aes.NewCipher}, nil
	case "tripledes-cbc":
		return cipherSpec{24, false, newTripleDES}, nil
	case "kw-aes128":
		return cipherSpec{16, true, aes.NewCipher}, nil
	case "kw-aes192":
		return cipherSpec{24, true, aes.NewCipher}, nil
	case "kw-aes256":
		return cipherSpec{32, true, aes.NewCipher}, nil
	case "":
		return cipherSpec{}, fmt.Errorf("%w: the encrypted value names no EncryptionMethod algorithm", ErrMalformed)
	}
	return cipherSpec{}, fmt.Errorf("%w: encryption algorithm %s (tokenlab reads AES-128/192/256-CBC, 3DES-CBC and the AES key wraps)", ErrUnsupported, uri)
}

// macFor returns the hash of an HMAC algorithm URI.
func macFor(uri string) (func() hash.Hash, error) {
	switch fragment(uri) {
	case "hmac-sha1":
		return sha1.New, nil
	case "hmac-sha224":
		return sha256.New224, nil
	case "hmac-sha256":
		return sha256.New, nil
	case "hmac-sha384":
		return sha512.New384, nil
	case "hmac-sha512":
		return sha512.New, nil
	}
	return nil, fmt.Errorf("%w: MAC algorithm %s (tokenlab checks HMAC-SHA1, -SHA224, -SHA256, -SHA384 and -SHA512)", ErrUnsupported, uri)
}

// MaxPBKDF2Iterations bounds the work a file can ask of an import: vendors
// use 1,000 to 100,000 iterations, and a million takes about half a second.
const MaxPBKDF2Iterations = 1_000_000

// ErrKeyDerivation: the password-based key cannot be derived.
var ErrKeyDerivation = errors.New("cannot derive the key from the password")

// DeriveKey derives the encryption key from a password with the file's
// PBKDF2 parameters.
func (f *PSKCFile) DeriveKey(password string) ([]byte, error) {
	d := f.Derivation
	if d == nil {
		return nil, &Error{Format: PSKC, Where: "EncryptionKey", Err: fmt.Errorf("%w: the file uses a pre-shared key, not a password: give --key HEX", ErrKeyDerivation)}
	}
	if d.Algorithm != uriPBKDF2 {
		return nil, &Error{Format: PSKC, Where: "KeyDerivationMethod", Err: fmt.Errorf("%w: %w: method %q (only PBKDF2)", ErrKeyDerivation, ErrUnsupported, d.Algorithm)}
	}
	if len(d.Salt) == 0 || d.Iterations <= 0 || d.KeyLength <= 0 {
		return nil, &Error{Format: PSKC, Where: "PBKDF2-params", Err: fmt.Errorf("%w: %w: salt, iteration count or key length is missing", ErrKeyDerivation, ErrMalformed)}
	}
	if d.Iterations > MaxPBKDF2Iterations || d.KeyLength > 64 {
		return nil, &Error{Format: PSKC, Where: "PBKDF2-params", Err: fmt.Errorf("%w: %d iterations or a %d-byte key is beyond what tokenlab derives (at most %d iterations, 64 bytes)", ErrKeyDerivation, d.Iterations, d.KeyLength, MaxPBKDF2Iterations)}
	}
	prf := sha1.New
	if d.PRF != "" {
		h, err := macFor(normaliseAlgorithm(d.PRF))
		if err != nil {
			return nil, &Error{Format: PSKC, Where: "PBKDF2-params/PRF", Err: fmt.Errorf("%w: %w", ErrKeyDerivation, err)}
		}
		prf = h
	}
	key, err := pbkdf2.Key(prf, password, d.Salt, d.Iterations, d.KeyLength)
	if err != nil {
		return nil, &Error{Format: PSKC, Where: "PBKDF2-params", Err: fmt.Errorf("%w: %v", ErrKeyDerivation, err)}
	}
	return key, nil
}

// Unlock decrypts the file's encrypted values with the key (or the
// password, or neither for a plain file), checking every ValueMAC: one that
// does not match fails the whole file unless opts.IgnoreMAC.
func (f *PSKCFile) Unlock(opts DecodeOptions) error {
	key := opts.Key
	if opts.Password != "" {
		k, err := f.DeriveKey(opts.Password)
		if err != nil {
			return err
		}
		key = k
	}
	if !f.needsKey() {
		f.unlocked = true
		return nil
	}
	// Say what cannot be decrypted before asking for a key that would not help.
	for _, e := range f.encryptedValues() {
		if _, err := cipherFor(e.algorithm); err != nil {
			return &Error{Format: PSKC, Where: e.where, Err: err}
		}
	}
	if len(key) == 0 {
		return &Error{Format: PSKC, Err: ErrKeyNeeded}
	}
	f.encKey = key
	if f.macKey != nil {
		mk, err := decryptValue(f.macKey, key, opts.IV)
		if err != nil {
			return &Error{Format: PSKC, Where: f.macKey.where, Err: err}
		}
		f.MACKey = mk
	} else if f.hasMACMethod {
		f.MACKey = key // an old convention: no MACKey means the encryption key MACs
	}
	dec := func(d *dataValue) ([]byte, error) {
		plain, err := decryptValue(d.enc, key, opts.IV)
		if err != nil {
			return nil, err
		}
		if err := f.checkMAC(d, plain, opts.IgnoreMAC); err != nil {
			return nil, err
		}
		return plain, nil
	}
	if err := f.readValues(dec); err != nil {
		return err
	}
	f.unlocked = true
	return nil
}

func (f *PSKCFile) needsKey() bool { return len(f.encryptedValues()) > 0 }

func (f *PSKCFile) encryptedValues() []*encrypted {
	var out []*encrypted
	if f.macKey != nil {
		out = append(out, f.macKey)
	}
	for _, k := range f.Keys {
		for _, d := range k.values() {
			if d != nil && d.enc != nil {
				out = append(out, d.enc)
			}
		}
	}
	return out
}

// checkMAC verifies a value's ValueMAC: RFC 6030 computes it over the
// CipherValue (IV and ciphertext); older producers over the plaintext.
//
// A file that declares a MACMethod promises a ValueMAC on every encrypted
// value, so a missing one is refused like a wrong one: otherwise removing
// the ValueMAC (MAC stripping) would turn a tampered ciphertext back into
// a value read without a check. ignore (IgnoreMAC) salvages such a file
// as it does one with a wrong MAC.
func (f *PSKCFile) checkMAC(d *dataValue, plain []byte, ignore bool) error {
	if d.mac == nil {
		if f.hasMACMethod && !ignore {
			return fmt.Errorf("%w: the value has no ValueMAC although the file declares a MACMethod: the file was altered; ask its producer for a new one", ErrMAC)
		}
		return nil
	}
	if !f.hasMACMethod {
		return fmt.Errorf("%w: the value carries a ValueMAC but the container has no MACMethod", ErrMalformed)
	}
	h, err := macFor(f.MACAlgorithm)
	if err != nil {
		return err
	}
	if ignore {
		return nil
	}
	for _, msg := range [][]byte{d.enc.cipher, plain} {
		m := hmac.New(h, f.MACKey)
		m.Write(msg)
		if subtle.ConstantTimeCompare(m.Sum(nil), d.mac) == 1 {
			return nil
		}
	}
	return fmt.Errorf("%w: the ValueMAC does not match: the file was altered or the key or password is wrong", ErrMAC)
}

// decryptValue decrypts an EncryptedValue with key; iv is used when the
// ciphertext does not start with its IV.
func decryptValue(e *encrypted, key, iv []byte) ([]byte, error) {
	spec, err := cipherFor(e.algorithm)
	if err != nil {
		return nil, err
	}
	if len(key) == 16 && spec.keyLen == 24 && fragment(e.algorithm) == "tripledes-cbc" {
		key = append(bytes.Clone(key), key[:8]...) // two-key 3DES: K1 K2 K1
	}
	if len(key) != spec.keyLen {
		return nil, fmt.Errorf("%w: the key is %d bytes; %s needs %d", ErrDecrypt, len(key), fragment(e.algorithm), spec.keyLen)
	}
	block, err := spec.block(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if spec.wrap {
		return unwrapKey(block, e.cipher)
	}
	bs := block.BlockSize()
	ct := e.cipher
	if iv == nil {
		if len(ct) < 2*bs {
			return nil, fmt.Errorf("%w: the CipherValue is too short to hold an IV and a block", ErrDecrypt)
		}
		iv, ct = ct[:bs], ct[bs:]
	} else if len(iv) != bs {
		return nil, fmt.Errorf("%w: the IV is %d bytes; %s needs %d", ErrDecrypt, len(iv), fragment(e.algorithm), bs)
	}
	if len(ct) == 0 || len(ct)%bs != 0 {
		return nil, fmt.Errorf("%w: the ciphertext is not a whole number of blocks", ErrDecrypt)
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	// XML Encryption padding: the last byte is the padding length (the
	// other padding bytes are arbitrary).
	n := int(plain[len(plain)-1])
	if n == 0 || n > bs {
		return nil, fmt.Errorf("%w: invalid padding after decryption: the key or password is wrong", ErrDecrypt)
	}
	return plain[:len(plain)-n], nil
}

func newTripleDES(key []byte) (cipher.Block, error) { return des.NewTripleDESCipher(key) }

var kwIV = []byte{0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6}

// unwrapKey is the AES key unwrap of RFC 3394 §2.2.2.
func unwrapKey(block cipher.Block, ct []byte) ([]byte, error) {
	if len(ct) < 24 || len(ct)%8 != 0 {
		return nil, fmt.Errorf("%w: a wrapped key is a multiple of 8 bytes, at least 24", ErrDecrypt)
	}
	n := len(ct)/8 - 1
	a := make([]byte, 8)
	copy(a, ct[:8])
	r := make([]byte, n*8)
	copy(r, ct[8:])
	buf := make([]byte, 16)
	for j := 5; j >= 0; j-- {
		for i := n; i >= 1; i-- {
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(buf[:8], binary.BigEndian.Uint64(a)^t)
			copy(buf[8:], r[(i-1)*8:i*8])
			block.Decrypt(buf, buf)
			copy(a, buf[:8])
			copy(r[(i-1)*8:i*8], buf[8:])
		}
	}
	if subtle.ConstantTimeCompare(a, kwIV) != 1 {
		return nil, fmt.Errorf("%w: the key unwrap integrity check failed: the key is wrong", ErrDecrypt)
	}
	return r, nil
}

// wrapKey is the AES key wrap of RFC 3394 §2.2.1 (used by tests and export).
func wrapKey(block cipher.Block, plain []byte) ([]byte, error) {
	if len(plain) < 16 || len(plain)%8 != 0 {
		return nil, errors.New("key wrap needs a multiple of 8 bytes, at least 16")
	}
	n := len(plain) / 8
	a := bytes.Clone(kwIV)
	r := bytes.Clone(plain)
	buf := make([]byte, 16)
	for j := 0; j <= 5; j++ {
		for i := 1; i <= n; i++ {
			copy(buf[:8], a)
			copy(buf[8:], r[(i-1)*8:i*8])
			block.Encrypt(buf, buf)
			t := uint64(n*j + i)
			binary.BigEndian.PutUint64(a, binary.BigEndian.Uint64(buf[:8])^t)
			copy(r[(i-1)*8:i*8], buf[8:])
		}
	}
	return append(a, r...), nil
}
