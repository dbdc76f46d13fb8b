package peers

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// NotInstalledError says a peer cannot run on this machine, as opposed to
// having failed: a program or module is missing, or the peer needs root.
// Tests skip on it, unless CI=true, where every peer must run.
type NotInstalledError struct {
	// What is missing.
	What string
	// Fix is what to do, e.g. the apt-get command.
	Fix string
}

func (e *NotInstalledError) Error() string { return e.What + ": " + e.Fix }

// The Debian packages each system needs (make setup installs them).
const (
	aptOath         = "apt-get install freeradius libpam-oath"
	aptGoogleAuth   = "apt-get install freeradius libpam-google-authenticator"
	makeSetupRemark = " (make setup does this)"
)

// installation is where this machine has FreeRADIUS and the PAM module.
type installation struct {
	freeradius string // the server binary
	libdir     string // FreeRADIUS's modules (rlm_pam.so)
}

// pamModule is the PAM module file of each system.
func (s System) pamModule() string {
	if s == GoogleAuthenticator {
		return "pam_google_authenticator.so"
	}
	return "pam_oath.so"
}

func (s System) apt() string {
	if s == GoogleAuthenticator {
		return aptGoogleAuth
	}
	return aptOath
}

// Available reports whether a peer of system s can start here: nil, or a
// *NotInstalledError saying what is missing and how to install it.
func Available(s System) error {
	_, err := find(s)
	return err
}

func find(s System) (installation, error) {
	if s != PAMOath && s != GoogleAuthenticator {
		return installation{}, fmt.Errorf("peers: unknown system %d: use PAMOath or GoogleAuthenticator", s)
	}
	missing := func(what string) error {
		return &NotInstalledError{What: what, Fix: "install it with '" + s.apt() + "'" + makeSetupRemark}
	}
	var in installation
	var err error
	// Debian names the server freeradius; Red Hat and upstream radiusd.
	if in.freeradius, err = exec.LookPath("freeradius"); err != nil {
		if in.freeradius, err = exec.LookPath("radiusd"); err != nil {
			return in, missing("FreeRADIUS (freeradius or radiusd) is not on PATH")
		}
	}
	in.libdir = firstGlob("/usr/lib/freeradius/rlm_pam.so", "/usr/lib64/freeradius/rlm_pam.so", "/usr/lib/*/freeradius/rlm_pam.so", "/usr/local/lib/freeradius/rlm_pam.so")
	if in.libdir == "" {
		return in, missing("FreeRADIUS's PAM module rlm_pam.so is not installed")
	}
	in.libdir = filepath.Dir(in.libdir)
	if pamModulePath(s.pamModule()) == "" {
		return in, missing("the PAM module " + s.pamModule() + " is not installed")
	}
	// The peer writes its PAM service into /etc/pam.d and reads the
	// secrets as root, as a RADIUS server's PAM stack does.
	if os.Geteuid() != 0 {
		return in, &NotInstalledError{What: "a FreeRADIUS peer needs root", Fix: "run the tests as root (it writes /etc/pam.d/tokenlab-*), as CI does"}
	}
	return in, nil
}

// pamModulePath finds a PAM module where Linux-PAM looks for it.
func pamModulePath(name string) string {
	return firstGlob("/lib/*/security/"+name, "/usr/lib/*/security/"+name, "/lib/security/"+name,
		"/usr/lib/security/"+name, "/lib64/security/"+name, "/usr/lib64/security/"+name)
}

func firstGlob(patterns ...string) string {
	for _, p := range patterns {
		if m, _ := filepath.Glob(p); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}
