// Package peers starts real OTP systems that tokenlab did not write, so
// that its RADIUS client, provisioners, probe, scenario suites and load
// test are tried against servers as deployed, not against tokenlab alone:
// FreeRADIUS 3 handing each Access-Request (PAP) to PAM, with
//
//   - pam_oath (OATH Toolkit) and a liboath users file, provisioned with
//     oath-usersfile:PATH, or
//   - pam_google_authenticator with one secret file per user in one
//     directory (secret=DIR/${USER}), provisioned with
//     google-authenticator:DIR.
//
// Start(ctx, Config) runs one as a child process on a free loopback UDP
// port with a private configuration (nothing of /etc/freeradius is read)
// and a PAM service of its own, /etc/pam.d/tokenlab-<random>, removed by
// Stop; the Peer it returns names the radius:// target, the provision.Open
// spec and the log. StartFreeRADIUSOath and StartFreeRADIUSGoogleAuth wrap
// it for tests. A peer needs root (it writes /etc/pam.d and the modules
// read root's files) and the Debian packages freeradius and libpam-oath or
// libpam-google-authenticator; without them Start returns a
// *NotInstalledError and tests skip, or fail when CI=true.
//
// # Measured (Debian 12, FreeRADIUS 3.2.1, liboath 2.6.7, 2 cores)
//
// A peer answers its first Status-Server about 0.3 s after exec (up to
// 0.9 s on a busy machine; 0.1 s with Debug, which starts no thread pool).
// Logins run at about 80 a second with pam_oath and 125 with
// google-authenticator, no faster from 16 clients than from one:
// FreeRADIUS runs rlm_pam under a mutex (the module declares itself
// thread-unsafe), so a PAM-backed FreeRADIUS serves one login at a time.
// Adding users costs little: 200 in 36 ms (users file) or 13 ms (files).
//
// # What the systems do
//
// FreeRADIUS 3.2.1 answers Access-Requests without a Message-Authenticator
// unless the client is set to require one (Config.RequireMessageAuthenticator),
// and never signs its own answers: they carry no Message-Authenticator.
// Every answer here is a bare Access-Accept or Access-Reject, without a
// Reply-Message saying why.
//
// pam_oath: window=N searches N steps either side of now (default 5).
// liboath records the last code used and takes only codes of later steps,
// so once a code has logged in, every earlier code in the window is
// refused as a replay, used or not. Without digits= a code is checked at
// the length it is typed: an 8-digit token's last six digits log in. With
// digits=8 a 6-digit code is refused; with digits=6 the first two of
// eight digits are taken as a password, which users with "-" lack. After
// each login liboath rewrites the whole file (PATH.new renamed over PATH)
// holding PATH.lock, which it creates exclusively: a login that finds
// PATH.lock already there is refused, valid code or not (and the code
// stays unused). The oath-usersfile provisioner holds that lock only while
// it appends a line, but a login in that instant is refused.
//
// pam_google_authenticator: codes have 6 digits (8 digits are read as a
// scratch code, and none are written). The recommended file (what the
// google-authenticator command writes when its questions are answered as
// it suggests) has WINDOW_SIZE 3, the step before, now and the step
// after; DISALLOW_REUSE, which refuses steps already used but not unused
// earlier ones; and RATE_LIMIT 3 30, which counts refusals too, so the
// fourth attempt within 30 s is refused whatever its code. The module
// records attempts and used steps in the user's file, rewriting it (as
// mode 0400). It works for users
// without a Unix account when told user=root.
package peers
