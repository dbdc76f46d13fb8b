package console

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
)

// maxCards is how many tokens the tokens page shows at once (newest
// first); a filter by serial finds the others.
const maxCards = 100

// lcdState is what a token's display shows after its last press, kept in
// memory: a real token's display is not part of its state either.
type lcdState struct {
	Code string
	// Dead is a press that did not register: the display stays blank.
	Dead bool
	HOTP bool
	// PressedAt is the true time (the server's clock) of the press.
	PressedAt time.Time
	ValidFor  time.Duration
	Frozen    bool
}

func (c *Console) setLCD(serial string, st lcdState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lcds[serial] = st
}

func (c *Console) lcd(serial string) (lcdState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.lcds[serial]
	return st, ok
}

// tokenCard is one token on the tokens page.
type tokenCard struct {
	Serial      string
	Spec        string // "TOTP · SHA1 · 8 digits · 30 s"
	KindName    string // TOTP or HOTP
	HOTP        bool
	LCD         string
	Pressed     bool
	Dead        bool
	Expired     bool
	Countdown   string
	ValidUntil  string // Unix milliseconds on the server's clock, or ""
	Drift       string
	PPM, Offset string // the drift form's values
	TokenTime   string
	Faults      string
	Frozen      bool
	Reset       bool
	WrongSecret bool
	DeadButton  bool
	InInventory bool
	ServerState string
	Owner       string
}

type tokensData struct {
	Tokens    []tokenCard
	Total     int // tokens in the store
	Matched   int // tokens the filter matches
	Query     string
	StorePath string
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request) {
	now := c.srv.Clock().Now()
	var specs []emulator.Spec
	if err := c.store.View(func(set *emulator.TokenSet) error { specs = set.List(); return nil }); err != nil {
		c.internalError(w, r, "tokens", err)
		return
	}
	inv, err := c.srv.Tokens(r.Context(), server.TokenFilter{})
	if err != nil {
		c.internalError(w, r, "tokens", err)
		return
	}
	byserial := make(map[string]server.TokenView, len(inv))
	for _, v := range inv {
		byserial[v.Serial] = v
	}
	d := tokensData{Total: len(specs), Query: strings.TrimSpace(r.URL.Query().Get("q")), StorePath: c.store.Path()}
	q := strings.ToLower(d.Query)
	for i := len(specs) - 1; i >= 0; i-- { // newest first
		s := specs[i]
		if q != "" && !strings.Contains(strings.ToLower(s.Serial), q) {
			continue
		}
		d.Matched++
		if len(d.Tokens) < maxCards {
			d.Tokens = append(d.Tokens, c.card(s, now, byserial))
		}
	}
	c.render(w, r, "tokens", &page{Title: "Virtual tokens", Nav: "tokens", Data: d})
}

// card describes a token as the page shows it at the server's time now.
func (c *Console) card(s emulator.Spec, now time.Time, inv map[string]server.TokenView) tokenCard {
	k := tokenCard{Serial: s.Serial, HOTP: s.Kind == emulator.HOTP, KindName: strings.ToUpper(s.Kind.String()),
		LCD: strings.Repeat("-", s.Digits), Countdown: "press the button for a code", Faults: "none",
		Frozen: !s.Faults.FrozenAt.IsZero(), Reset: !s.Faults.ResetAt.IsZero(), WrongSecret: s.Faults.WrongSecret, DeadButton: s.Faults.DeadButton,
		PPM: strconv.FormatFloat(s.Drift.PPM, 'f', -1, 64), Offset: s.Drift.Offset.String()}
	alg := strings.ToUpper(s.Algorithm.String())
	if k.HOTP {
		k.Spec = fmt.Sprintf("HOTP · %s · %d digits · next counter %d", alg, s.Digits, s.Counter)
		k.Drift = "no clock (event token)"
		k.TokenTime = "no clock"
	} else {
		k.Spec = fmt.Sprintf("TOTP · %s · %d digits · %d s", alg, s.Digits, int(s.Period/time.Second))
		k.Drift = fmt.Sprintf("%s ppm, offset %s", signedFloat(s.Drift.PPM), signedDuration(s.Drift.Offset))
		if tok, err := emulator.New(s, clock.Func(func() time.Time { return now })); err == nil {
			k.TokenTime = tok.TokenTime(now).UTC().Format(time.RFC3339)
		}
	}
	if names := s.Faults.Names(); len(names) > 0 {
		k.Faults = strings.Join(names, ", ")
	}
	if st, ok := c.lcd(s.Serial); ok {
		switch {
		case st.Dead:
			k.Dead, k.LCD, k.Countdown = true, "", "no code: the press did not register"
		default:
			k.Pressed, k.LCD = true, st.Code
			k.Countdown, k.ValidUntil, k.Expired = countdown(st, now)
		}
	}
	if v, ok := inv[s.Serial]; ok {
		k.InInventory, k.ServerState, k.Owner = true, v.StatusDisplay, v.OwnerID
	} else {
		k.ServerState = "not in the server's inventory"
	}
	return k
}

// countdown is a code's remaining validity at the server's time now: the
// text, the expiry in Unix milliseconds (for the script of a real clock) and
// whether it has passed.
func countdown(st lcdState, now time.Time) (text, until string, expired bool) {
	switch {
	case st.HOTP:
		return "until used", "", false
	case st.Frozen:
		return "clock frozen: the code does not change", "", false
	}
	end := st.PressedAt.Add(st.ValidFor)
	until = strconv.FormatInt(end.UnixMilli(), 10)
	left := end.Sub(now)
	if left <= 0 {
		return "expired, press again", until, true
	}
	return fmt.Sprintf("%d s left", int64(math.Ceil(left.Seconds()))), until, false
}

func signedFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if f >= 0 {
		s = "+" + s
	}
	return s
}

func signedDuration(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// pressed shows the outcome of a press at the server's time now on the
// token's LCD, as the device would: blank after a dead button, else the last
// code shown.
func (c *Console) pressed(serial string, now time.Time, spec emulator.Spec, last emulator.Display, err error) {
	switch {
	case errors.Is(err, emulator.ErrButtonDead):
		c.setLCD(serial, lcdState{Dead: true, PressedAt: now})
	case err == nil:
		c.setLCD(serial, lcdState{Code: last.Code, HOTP: spec.Kind == emulator.HOTP, PressedAt: now, ValidFor: last.ValidFor,
			Frozen: !spec.Faults.FrozenAt.IsZero()})
	}
}

// deadMessage is what a press of a dead button says.
const deadMessage = "the press did not register (dead-button fault): the display stays blank"

func (c *Console) pressToken(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	frag := "token-" + serial
	now := c.srv.Clock().Now()
	d, spec, err := c.store.Press(serial, now)
	c.pressed(serial, now, spec, d, err)
	switch {
	case errors.Is(err, emulator.ErrButtonDead):
		c.done(w, r, "/", frag, flash{Kind: "error", Text: serial + ": " + deadMessage + "."})
	case err != nil:
		c.fail(w, r, "/", frag, err, "")
	default:
		c.log.Info("pressed", "serial", serial)
		c.ok(w, r, "/", frag, "%s shows %s.", serial, d.Code)
	}
}

func (c *Console) setDrift(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	frag := "token-" + serial
	ppm, err := parsePPM(r.PostForm.Get("ppm"))
	if err != nil {
		c.fail(w, r, "/", frag, err, "")
		return
	}
	var offset time.Duration
	if s := strings.TrimSpace(r.PostForm.Get("offset")); s != "" {
		if offset, err = time.ParseDuration(s); err != nil {
			c.fail(w, r, "/", frag, fmt.Errorf("invalid drift offset %q: use a Go duration such as 30s, -1m30s or 2h", s), "")
			return
		}
	}
	now := c.srv.Clock().Now()
	spec, err := c.store.Edit(serial, now, func(t *emulator.Token) error {
		return t.SetDrift(emulator.Drift{Offset: offset, PPM: ppm, Start: now})
	})
	if err != nil {
		c.fail(w, r, "/", frag, err, "")
		return
	}
	c.log.Info("drift set", "serial", serial, "ppm", ppm, "offset", offset)
	c.ok(w, r, "/", frag, "%s drifts %s ppm, offset %s, from %s.", serial, signedFloat(spec.Drift.PPM),
		signedDuration(spec.Drift.Offset), now.UTC().Format(time.RFC3339))
}

func parsePPM(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	ppm, err := strconv.ParseFloat(strings.TrimPrefix(s, "+"), 64)
	if err != nil || math.IsNaN(ppm) || math.IsInf(ppm, 0) {
		return 0, fmt.Errorf("invalid drift rate %q: give parts per million, e.g. 4 or -12.5", s)
	}
	return ppm, nil
}

// faultNames are the fault form's checkbox values.
var faultNames = []string{"frozen", "reset", "wrong-secret", "dead-button"}

func (c *Console) setFaults(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	frag := "token-" + serial
	want := map[string]bool{}
	for _, f := range r.PostForm["fault"] {
		known := false
		for _, n := range faultNames {
			known = known || f == n
		}
		if !known {
			c.fail(w, r, "/", frag, fmt.Errorf("unknown fault %q: use %s", f, strings.Join(faultNames, ", ")), "")
			return
		}
		want[f] = true
	}
	clearAll := r.PostForm.Get("action") == "clear"
	now := c.srv.Clock().Now()
	spec, err := c.store.Edit(serial, now, func(t *emulator.Token) error {
		old := t.Spec().Faults
		var f emulator.Faults
		if !clearAll {
			if want["frozen"] {
				f.FrozenAt = old.FrozenAt
				if f.FrozenAt.IsZero() {
					f.FrozenAt = t.TokenTime(now) // stops at the time it shows now
				}
			}
			if want["reset"] {
				f.ResetAt, f.ResetTo = old.ResetAt, old.ResetTo
				if f.ResetAt.IsZero() {
					f.ResetAt, f.ResetTo = now, time.Time{} // a battery swap now
				}
			}
			f.WrongSecret, f.DeadButton = want["wrong-secret"], want["dead-button"]
		}
		return t.SetFaults(f)
	})
	if err != nil {
		c.fail(w, r, "/", frag, err, "")
		return
	}
	names := "none"
	if n := spec.Faults.Names(); len(n) > 0 {
		names = strings.Join(n, ", ")
	}
	c.log.Info("faults set", "serial", serial, "faults", names)
	c.ok(w, r, "/", frag, "%s faults: %s.", serial, names)
}

func (c *Console) createToken(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	serial := strings.TrimSpace(f.Get("serial"))
	var err error
	if serial == "" {
		if serial, err = emulator.RandomSerial(); err != nil {
			c.fail(w, r, "/", "", err, "")
			return
		}
	}
	kindName := strings.TrimSpace(f.Get("kind"))
	if kindName == "" {
		kindName = "totp"
	}
	kind, err := emulator.ParseKind(kindName)
	if err != nil {
		c.fail(w, r, "/", "", err, "")
		return
	}
	ppm, err := parsePPM(f.Get("ppm"))
	if err != nil {
		c.fail(w, r, "/", "", err, "")
		return
	}
	var secret []byte
	if h := strings.Join(strings.Fields(f.Get("secret_hex")), ""); h != "" {
		if secret, err = hex.DecodeString(h); err != nil {
			c.fail(w, r, "/", "", errors.New("the secret must be hexadecimal, e.g. 3132333435363738393031323334353637383930 (leave it empty for a random one)"), "")
			return
		}
	} else {
		secret = make([]byte, 20) // HMAC-SHA1's key size
		if _, err := rand.Read(secret); err != nil {
			c.fail(w, r, "/", "", err, "")
			return
		}
	}
	now := c.srv.Clock().Now()
	tok, err := emulator.New(emulator.Spec{Serial: serial, Secret: secret, Kind: kind, Drift: emulator.Drift{PPM: ppm}},
		clock.Func(func() time.Time { return now }))
	if err != nil {
		c.fail(w, r, "/", "", err, "")
		return
	}
	spec := tok.Spec()
	inventory := f.Get("inventory") != ""
	// All or nothing: a refused import leaves the store unchanged.
	err = c.store.Update(func(set *emulator.TokenSet) error {
		if err := set.Add(spec); err != nil {
			return err
		}
		if inventory {
			_, err := c.srv.ImportSeeds(r.Context(), actor, []seedfile.Token{spec.Seed()})
			return err
		}
		return nil
	})
	if errors.Is(err, emulator.ErrExists) {
		c.fail(w, r, "/", "token-"+serial, fmt.Errorf("token %s is already in the store: choose another serial (or leave it empty for a generated one)", serial), "")
		return
	}
	if err != nil {
		c.fail(w, r, "/", "", err, "nothing was created")
		return
	}
	c.mu.Lock()
	delete(c.lcds, serial)
	c.mu.Unlock()
	c.log.Info("token created", "serial", serial, "kind", kindName, "inventory", inventory)
	where := "in the token store"
	if inventory {
		where += " and in the server's inventory (Pending Activation)"
	}
	c.ok(w, r, "/", "token-"+serial, "Created %s (%s) %s.", serial, strings.ToUpper(kind.String()), where)
}

func (c *Console) importToken(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	frag := "token-" + serial
	var spec emulator.Spec
	err := c.store.View(func(set *emulator.TokenSet) (err error) { spec, err = set.Get(serial); return err })
	if err == nil {
		_, err = c.srv.ImportSeeds(r.Context(), actor, []seedfile.Token{spec.Seed()})
	}
	if err != nil {
		c.fail(w, r, "/", frag, err, "")
		return
	}
	c.log.Info("token imported", "serial", serial)
	c.ok(w, r, "/", frag, "Imported %s's seed into the server's inventory (Pending Activation).", serial)
}

// activateToken presses the token for two consecutive codes at the
// server's clock, as a user types them, and activates it for the user.
func (c *Console) activateToken(w http.ResponseWriter, r *http.Request) {
	serial := r.PathValue("serial")
	frag := "token-" + serial
	user := strings.TrimSpace(r.PostForm.Get("user_id"))
	if user == "" {
		c.fail(w, r, "/", frag, errors.New("give the user ID to activate the token for"), "")
		return
	}
	now := c.srv.Clock().Now()
	ds, spec, err := c.store.PressConsecutive(serial, now)
	c.pressed(serial, now, spec, ds[1], err)
	if errors.Is(err, emulator.ErrButtonDead) {
		c.done(w, r, "/", frag, flash{Kind: "error", Text: serial + ": " + deadMessage + ": nothing to activate with."})
		return
	}
	if err != nil {
		c.fail(w, r, "/", frag, err, "")
		return
	}
	typed := fmt.Sprintf("typed %s then %s for %s", ds[0].Code, ds[1].Code, user)
	v, err := c.srv.Activate(r.Context(), user, serial, ds[0].Code, ds[1].Code)
	if err != nil {
		c.fail(w, r, "/", frag, err, typed)
		return
	}
	c.log.Info("token activated", "serial", serial, "user", user)
	c.ok(w, r, "/", frag, "Activated %s for %s with %s and %s: %s, learned drift %+d steps.", serial, user,
		ds[0].Code, ds[1].Code, v.StatusDisplay, v.DriftSteps)
}
