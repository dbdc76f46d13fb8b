// Package driftsim compares the server's drift tracking policies on a
// simulated fleet: tokens whose clocks drift, used now and then over years,
// run through the server's own login decisions (server.DriftSim) on a
// virtual timeline. It is what tokenlab simulate drift prints and plots.
//
// It sits apart from package server because it draws the fleet with the
// emulator, which the server never imports.
package driftsim

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/server"
)

// Fleet is the simulated fleet and how it is used. Tokens, Days and Every
// must be positive.
type Fleet struct {
	Tokens int
	Days   int
	// Every is how often each token is used.
	Every time.Duration
	// PPMMin and PPMMax bound each token's clock rate, either way.
	PPMMin, PPMMax float64
	// Seed draws the rates: the same seed gives the same fleet.
	Seed string
}

// Result is what one policy did to the fleet.
type Result struct {
	// RefusedShare is the share of logins whose first code was refused.
	RefusedShare float64 `json:"refused_share"`
	Resyncs      int     `json:"resyncs"`
	Lockouts     int     `json:"lockouts"`
	// CodesPerAttempt is the mean number of codes a login attempt accepted:
	// the online-guessing cost.
	CodesPerAttempt float64 `json:"codes_per_attempt"`
	Logins          int     `json:"logins"`
	Attempts        int     `json:"attempts"`
	// Monthly is the refused share for each 30-day period.
	Monthly []float64 `json:"monthly_refused_share"`
}

// Run runs the fleet through a drift tracking policy (server.DriftFixed,
// DriftOffset or DriftRate). Each token drifts at a rate drawn from the
// fleet seed and is used every f.Every; a refused code is retried twice a
// step later, then the user resyncs. progress, if not nil, is told the
// share of the timeline done after each round of logins.
func Run(f Fleet, policy string, progress func(done float64)) Result {
	start := time.Date(2026, 1, 1, 9, 0, 10, 0, time.UTC)
	fleet := emulator.FleetSpec{Count: f.Tokens, Seed: f.Seed, DriftPPMMax: 1, Start: start}
	sim := server.NewDriftSim(server.Policy{DriftTracking: policy})
	drifts := make([]emulator.Drift, f.Tokens)
	toks := make([]server.Token, f.Tokens)
	step := func(d emulator.Drift, at time.Time) int64 { return d.TokenTime(at).Unix() / 30 }
	for i := range toks {
		u := fleet.Member(i, start).Drift.PPM // uniform in [-1, 1]
		ppm := math.Copysign(f.PPMMin+(f.PPMMax-f.PPMMin)*math.Abs(u), u)
		drifts[i] = emulator.Drift{PPM: ppm, Start: start}
		toks[i] = server.Token{PeriodS: 30}
		sim.Activate(&toks[i], start, step(drifts[i], start))
	}
	var r Result
	var codes float64
	sessions := int(time.Duration(f.Days) * 24 * time.Hour / f.Every)
	monthRefused, monthLogins := 0, 0
	nextMonth := start.Add(30 * 24 * time.Hour)
	for s := 1; s <= sessions; s++ {
		at := start.Add(time.Duration(s) * f.Every)
		for at.After(nextMonth) {
			r.Monthly = append(r.Monthly, share(monthRefused, monthLogins))
			monthRefused, monthLogins = 0, 0
			nextMonth = nextMonth.Add(30 * 24 * time.Hour)
		}
		for i := range toks {
			r.Logins++
			monthLogins++
			ok := false
			for try := range 3 {
				t := at.Add(time.Duration(try) * 30 * time.Second)
				wasLocked := toks[i].Locked
				accepted, n := sim.Login(&toks[i], t, step(drifts[i], t))
				r.Attempts++
				codes += float64(n)
				if toks[i].Locked && !wasLocked {
					r.Lockouts++
				}
				if accepted {
					ok = true
					break
				}
				if try == 0 {
					r.RefusedShare++
					monthRefused++
				}
			}
			if !ok {
				t := at.Add(2 * time.Minute)
				if sim.Resync(&toks[i], t, step(drifts[i], t)) {
					r.Resyncs++
				}
			}
		}
		if progress != nil {
			progress(float64(s) / float64(sessions))
		}
	}
	if monthLogins > 0 {
		r.Monthly = append(r.Monthly, share(monthRefused, monthLogins))
	}
	r.RefusedShare = share(int(r.RefusedShare), r.Logins)
	if r.Attempts > 0 {
		r.CodesPerAttempt = codes / float64(r.Attempts)
	}
	return r
}

// Compare runs the fleet through each policy, in parallel, and returns the
// results by policy. progress, if not nil, is told the mean share done over
// all policies, one call at a time.
func Compare(f Fleet, policies []string, progress func(done float64)) map[string]Result {
	results := make(map[string]Result, len(policies))
	var mu sync.Mutex
	done := make([]float64, len(policies))
	var wg sync.WaitGroup
	for i, p := range policies {
		var report func(float64)
		if progress != nil {
			report = func(d float64) {
				mu.Lock()
				defer mu.Unlock()
				done[i] = d
				total := 0.0
				for _, d := range done {
					total += d
				}
				progress(total / float64(len(done)))
			}
		}
		wg.Go(func() {
			res := Run(f, p, report)
			mu.Lock()
			results[p] = res
			mu.Unlock()
		})
	}
	wg.Wait()
	return results
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// WriteSVG plots the monthly refused share of each policy, in the order
// given, with its overall share in the legend.
func WriteSVG(out io.Writer, f Fleet, policies []string, results map[string]Result) error {
	const w, h, left, bottom, top, right = 720, 360, 60, 40, 40, 120
	colors := map[string]string{server.DriftFixed: "#c0392b", server.DriftOffset: "#2471a3", server.DriftRate: "#1e8449"}
	months := 1
	peak := 0.01
	for _, p := range policies {
		months = max(months, len(results[p].Monthly))
		for _, v := range results[p].Monthly {
			peak = math.Max(peak, v)
		}
	}
	peak = math.Ceil(peak*10) / 10
	x := func(i int) float64 { return left + float64(i)*(w-left-right)/math.Max(1, float64(months-1)) }
	y := func(v float64) float64 { return h - bottom - v/peak*(h-bottom-top) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">Logins refused per month: %d tokens, %g–%g ppm, used every %v</text>`+"\n", left, f.Tokens, f.PPMMin, f.PPMMax, f.Every)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, h-bottom)
	for _, v := range []float64{0, peak / 2, peak} {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%.0f%%</text>`+"\n", left-6, y(v)+4, 100*v)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">month</text>`+"\n", float64(w-right+left)/2, h-8)
	for i, p := range policies {
		var pts []string
		for m, v := range results[p].Monthly {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(m), y(v)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", colors[p], strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s (%.1f%%)</text>`+"\n", w-right+10, top+20+18*i, colors[p], p, 100*results[p].RefusedShare)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(out, b.String())
	return err
}
