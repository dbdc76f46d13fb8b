package harness

import (
	"reflect"
	"strings"
	"testing"
)

// failed is what the test's fail function panics with, as Ginkgo's Fail
// ends a spec.
type failed struct{ message string }

// call calls method on the guard with zero arguments and reports the
// failure it raised ("" if none) and whether it reached the target.
func call(g *guard, method reflect.Method) (failure string, reached bool) {
	defer func() {
		switch p := recover().(type) {
		case nil:
		case failed:
			failure = p.message
		default:
			reached = true // the nil target behind the guard was called
		}
	}()
	m := reflect.ValueOf(g).MethodByName(method.Name)
	args := make([]reflect.Value, m.Type().NumIn())
	for i := range args {
		args[i] = reflect.Zero(m.Type().In(i))
	}
	m.Call(args)
	return "", false
}

func newGuard(needs ...Role) *guard {
	w := &World{needs: needs, fail: func(message string, _ ...int) { panic(failed{message}) }}
	return &guard{w: w, t: nil}
}

// TestGuardFailsUndeclaredRoles: every method of Target belongs to a role
// (a new method of server.Service must be given one), a spec that did not
// declare it fails saying what to declare, and one that did reaches the
// target.
func TestGuardFailsUndeclaredRoles(t *testing.T) {
	target := reflect.TypeFor[Target]()
	for i := range target.NumMethod() {
		m := target.Method(i)
		roles, ok := methodRoles[m.Name]
		if !ok {
			t.Errorf("Target.%s belongs to no role: add it to methodRoles", m.Name)
			continue
		}
		failure, reached := call(newGuard(), m)
		if len(roles) == 0 {
			if failure != "" || !reached {
				t.Errorf("%s needs no role, but the guard said %q (reached the target: %v)", m.Name, failure, reached)
			}
			continue
		}
		if reached || !strings.Contains(failure, "w.Needs(harness."+goName(roles[0])) || !strings.HasPrefix(failure, m.Name+" needs the "+string(roles[0])+" role") {
			t.Errorf("%s undeclared: failure %q, reached the target: %v", m.Name, failure, reached)
		}
		for _, r := range roles {
			if failure, reached := call(newGuard(r), m); failure != "" || !reached {
				t.Errorf("%s declared %s: failure %q, reached the target: %v", m.Name, r, failure, reached)
			}
		}
		// Another role is no declaration of this one.
		other := Portal
		if roles[0] == Portal || len(roles) > 1 && roles[1] == Portal {
			other = Clock
		}
		if failure, _ := call(newGuard(other), m); failure == "" {
			t.Errorf("%s with only %s declared: no failure", m.Name, other)
		}
	}
	for name := range methodRoles {
		if _, ok := target.MethodByName(name); !ok {
			t.Errorf("methodRoles names %s, which Target has not", name)
		}
	}
}

// TestHelpersNeedTheirRoles: the World's helpers that work through the
// unguarded target check the spec's declaration themselves.
func TestHelpersNeedTheirRoles(t *testing.T) {
	w := newGuard().w
	w.T = &guard{w: w}
	for name, f := range map[string]func(){
		"ActiveUser":      func() { w.ActiveUser() },
		"FreshUser":       func() { w.FreshUser() },
		"ActiveMember":    func() { w.ActiveMember("org") },
		"NewDevice":       func() { w.NewDevice() },
		"AnswerChallenge": func() { _, _ = w.AnswerChallenge(nil, "") },
		"WaitForNextCode": func() { w.WaitForNextCode() },
	} {
		msg := func() (msg string) {
			defer func() {
				if p, ok := recover().(failed); ok {
					msg = p.message
				}
			}()
			f()
			return ""
		}()
		if !strings.Contains(msg, "role, which this spec does not declare") {
			t.Errorf("%s without its role: %q", name, msg)
		}
	}
}

func TestDeclaredReadsNeedsLabels(t *testing.T) {
	got := declared([]string{"login", "needs-resync", "target-radius", "needs-next-code", "needs-resync"})
	if !reflect.DeepEqual(got, Roles{Resync, NextCode}) {
		t.Fatalf("declared: %v", got)
	}
	if goName(NextCode) != "NextCode" || goName(Inspect) != "Inspect" {
		t.Fatal(goName(NextCode), goName(Inspect))
	}
}
