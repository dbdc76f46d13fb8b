package token_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
)

var secret = []byte("12345678901234567890")

const year = 365 * 24 * time.Hour

// codeAt is what a correctly running token would show at true time t.
func codeAt(t time.Time) string {
	g, err := oath.NewGenerator(secret, oath.SHA1, 8)
	Expect(err).NotTo(HaveOccurred())
	step, _, err := oath.TimeStep(t, 30*time.Second)
	Expect(err).NotTo(HaveOccurred())
	return g.Code(step)
}

var _ = Describe("Pressing the button", Label("token", "press"), func() {
	var (
		clk *clock.Virtual
		tok *emulator.Token
	)
	BeforeEach(func() {
		clk = clock.NewVirtual(time.Date(2026, 11, 23, 9, 0, 5, 0, time.UTC))
		var err error
		tok, err = emulator.New(emulator.Spec{Serial: "VIRT0616534657375", Secret: secret}, clk)
		Expect(err).NotTo(HaveOccurred())
	})

	It("shows the 8-digit code of the current step and how long it stays", func() {
		d, err := tok.Press()
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Code).To(MatchRegexp(`^\d{8}$`))
		Expect(d.Code).To(Equal(codeAt(clk.Now())))
		Expect(d.ValidFor).To(Equal(25 * time.Second))
	})

	It("shows the same code when pressed twice in one step, and a new one in the next", func() {
		first, _ := tok.Press()
		clk.Step(24 * time.Second)
		second, _ := tok.Press()
		Expect(second.Code).To(Equal(first.Code))
		clk.Step(time.Second)
		third, _ := tok.Press()
		Expect(third.Step).To(Equal(first.Step + 1))
	})

	It("gives two consecutive codes for activation: press, wait for the next step, press again", func() {
		first, _ := tok.Press()
		clk.Step(first.ValidFor)
		second, _ := tok.Press()
		Expect(second.Step).To(Equal(first.Step + 1))
		Expect(second.Code).NotTo(Equal(first.Code))
	})
})

var _ = Describe("A token's own clock", Label("token", "drift"), func() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	DescribeTable("after a year of drift, the token shows the code of its own time",
		func(ppm float64, wantAhead time.Duration) {
			clk := clock.NewVirtual(start)
			tok, err := emulator.New(emulator.Spec{Serial: "DRIFT", Secret: secret, Drift: emulator.Drift{PPM: ppm}}, clk)
			Expect(err).NotTo(HaveOccurred())
			now := clk.Step(year)
			Expect(tok.TokenTime(now).Sub(now)).To(BeNumerically("~", wantAhead, time.Second))
			d, _ := tok.Press()
			Expect(d.Code).To(Equal(codeAt(now.Add(wantAhead))))
		},
		Entry("a good token: 3 ppm fast, about 95 s", 3.0, 95*time.Second),
		Entry("a typical one: 4 ppm fast, about 126 s", 4.0, 126*time.Second),
		Entry("a poor one: 12 ppm slow, about 378 s behind", -12.0, -378*time.Second),
	)
})

var _ = Describe("Faults", Label("token", "faults"), func() {
	var clk *clock.Virtual
	BeforeEach(func() { clk = clock.NewVirtual(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)) })

	newToken := func(f emulator.Faults) *emulator.Token {
		tok, err := emulator.New(emulator.Spec{Serial: "FAULTY", Secret: secret, Faults: f}, clk)
		Expect(err).NotTo(HaveOccurred())
		return tok
	}

	It("Given a dead button, When the user presses it, Then nothing registers", func() {
		_, err := newToken(emulator.Faults{DeadButton: true}).Press()
		Expect(err).To(MatchError(emulator.ErrButtonDead))
	})

	It("Given a damaged secret, When the user presses it, Then the code is not the true one", func() {
		d, err := newToken(emulator.Faults{WrongSecret: true}).Press()
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Code).NotTo(Equal(codeAt(clk.Now())))
	})

	It("Given a frozen clock, When a day passes, Then it still shows the old code", func() {
		tok := newToken(emulator.Faults{})
		before, _ := tok.Press()
		Expect(tok.Freeze()).To(Succeed())
		clk.Step(24 * time.Hour)
		after, _ := tok.Press()
		Expect(after.Code).To(Equal(before.Code))
	})

	It("Given a battery swap, When the user presses it, Then it shows a code from 1970", func() {
		tok := newToken(emulator.Faults{})
		Expect(tok.ResetClock()).To(Succeed())
		clk.Step(59 * time.Second)
		d, _ := tok.Press()
		Expect(d.TokenTime.Year()).To(Equal(1970))
		Expect(d.Code).To(Equal("94287082"))
	})
})

var _ = Describe("A fleet", Label("token", "fleet"), func() {
	It("is the same fleet every time it is made from the same seed", func() {
		spec := emulator.FleetSpec{Count: 100, Seed: "qa", DriftPPMMax: 12, Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		a, err := emulator.FleetSpecs(spec, nil)
		Expect(err).NotTo(HaveOccurred())
		b, _ := emulator.FleetSpecs(spec, nil)
		Expect(a).To(Equal(b))
		for _, s := range a {
			Expect(s.Drift.PPM).To(BeNumerically("<=", 12))
			Expect(s.Drift.PPM).To(BeNumerically(">=", -12))
		}
	})
})
