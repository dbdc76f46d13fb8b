// Package probe measures how an OTP deployment reached over RADIUS actually
// behaves — its window, replay and lockout rules, drift learning, next-code
// challenge, code lengths, BlastRADIUS exposure, retransmission handling and
// latency — and compares the measurements with a profile the team requires.
// It is what `tokenlab probe` runs:
//
//	tokenlab probe radius://SECRET@HOST:PORT --provision P [--json|--markdown] [--expect FILE]
//
// A Target is the RADIUS client (radclient) and a provisioner
// (scenarios/provision) that makes users on the system under test. Every
// measurement makes its own fresh users, so no measurement disturbs
// another: a user locked by the lockout search never meets the drift
// chain.
//
// # Time
//
// The probe takes the time from the users' virtual tokens, whose true time
// is the provisioner's clock, and counts in the tokens' steps (30 s). When
// the provisioner has the Service role (tokenlab serve) and the server's
// clock is virtual, the probe moves that clock where a measurement needs
// time to pass, and the probe is exact and takes seconds. It moves it by
// about 26 hours in all (the lockout's clock trials wait up to a day, and
// tokenlab's provisioner moves it a step per user): do not probe a server
// whose clock other tests rely on at the same time. On a real clock
// nothing waits: a measurement whose attempt saw the step change between
// its first press and its last answer is made again with new users (at
// most three times), since its codes may have been judged against another
// step than the one they were made for. What needs time to pass on a real
// clock (a lock that expires) is not tried and the report says so.
//
// # Measurements
//
// Step n is the step the measurement reads from its user's token; "the
// code of n+k" is the token pressed k steps later. "Accepted" is an
// Access-Accept; an Access-Challenge is not acceptance. Warm-up: a login
// with the code of n, which every new user must pass (the provisioner's
// contract), so that a system that learns drift has learned the token's
// and the codes up to n count as used.
//
//   - baseline: a new user logs in with the code of n. A refusal ends the
//     probe with an error: nothing else could be measured.
//   - window behind: for k = 1, 2, … up to Options.MaxWindow, a new user
//     (no warm-up) logs in with the code of n-k; the window is the last k
//     accepted. On a virtual clock the user is made at step c, the clock
//     moved k steps and the code of c pressed: the step a new user is made
//     at is unused by the contract, while a provisioner that activates
//     (tokenlab) has used the steps before it. On a real clock the code of
//     n-k is pressed at once; when the provisioner has the Service role and
//     the server says that step is used already (tokenlab serve with a real
//     clock), behind cannot be measured without waiting and is null.
//   - window ahead: for k = 1, 2, … a new user warms up, then logs in with
//     the code of n+k; the window is the last k accepted. A window that
//     accepts up to the cap is reported as the cap, and the note says "at
//     least".
//   - replay_refused: a new user logs in with the code of n, then sends the
//     same code again in a new request: refused → true.
//   - older_code_refused: a new user logs in with the code of n, then with
//     the code of n-1, valid and unused and inside the window: refused →
//     true. On a virtual clock the user is made a step earlier, so that
//     n-1 is its creation step and unused. With no window behind, n-1 is
//     refused by the window itself: true, and the note says so.
//   - digits, digits_accepted: for each length the provisioner can make (6,
//     8), a new user with a token of that length logs in with the code of
//     n; digits_accepted lists the lengths accepted and digits is the
//     longest.
//   - lockout_threshold: trial(k) is a new user sending k wrong codes, then
//     the code of n: locked when it is refused. A wrong code is random and
//     none of the token's codes within 1100 steps of its creation, so that
//     it is never a code a sync window (tokenlab's is ±1000 steps) would
//     challenge rather than count. The threshold is the smallest k whose
//     trial is locked, found by trying k = 1, 2, 4, 8, 16 and the cap (a
//     trial is monotone in k), then halving the interval between the last
//     unlocked and the first locked trial: O(k log k) requests, not O(k²).
//     No lock up to Options.MaxLockout is null.
//   - unlocks_by: each way is tried on its own new user locked by
//     threshold wrong codes, the lock confirmed by the code of n being
//     refused. "later_code": the code of n+1 is accepted (tried when the
//     window reaches ahead). "resync": with the Service role, a resync
//     through the API with the codes of n and n+1, then the code of n+2 is
//     accepted. "clock": on a virtual clock, a new locked user per wait of
//     30 s, 5 min, 1 h and 24 h, the clock moved that long and the code the
//     token shows then accepted (the note says after how long; one attempt
//     per user, so that a system counting attempts made during a lock is
//     not kept locked by the probe). An empty list: nothing the probe tried
//     unlocks it (an administrator must).
//   - learns_drift: a new user warms up, then logs in with the codes of
//     n+A, n+2A, n+3A, … (A the window ahead: each code is within the
//     window of the one before, were the system to follow the token) until
//     the token is at least 3A+3 steps ahead, well past a window that stays
//     put. Accepted all the way → true. No window ahead → false.
//   - next_code_challenge: a new user warms up, then logs in with the code
//     of n+A+1, just outside the window. An Access-Challenge is answered
//     with its State and the token's next code (the code of n+A+2, after
//     moving a virtual clock one step, as the user waits for it): accepted
//     → true. A refusal without a challenge, or a refused answer, → false.
//   - requires_message_authenticator: a new user sends the code of n in an
//     Access-Request without Message-Authenticator, waiting
//     Options.NoAnswerTimeout. No answer → true, once the same user's
//     signed request is answered (so that the silence was not a dead
//     server); any answer → false: the server is exposed to BlastRADIUS
//     (CVE-2024-3596).
//   - retransmission: a new user's request with the code of n is sent, and
//     the identical packet (same identifier, authenticator and source port)
//     again Options.RetransmitAfter (1 s) after the answer, as a NAS whose
//     answer was lost sends it again when its timeout (a second or more)
//     has passed. Sooner, a server still finishing the first may drop the
//     copy as in progress: FreeRADIUS 3.2.1 does so for about half of the
//     copies sent the instant its answer arrives, which says nothing of what
//     a NAS meets. "cached": the same answer again, which cannot
//     be a second verification since replays are refused (RFC 5080);
//     "same_answer": the same answer but replays are not refused, so it
//     cannot be told from a second verification; "processed_again": the
//     second is refused (a NAS retransmitting after a lost answer makes a
//     good login fail); "dropped": no answer within Options.NoAnswerTimeout.
//   - response_signed: every answer carried a valid Message-Authenticator.
//   - latency_ms: p50 and p99 (nearest rank) of the time from sending to
//     the answer, over every answered request of the probe.
//
// # Profiles
//
// A profile is a JSON object with any of the report's properties and the
// values the team requires, e.g.
//
//	{"window": {"behind": 1, "ahead": 1}, "replay_refused": true,
//	 "lockout_threshold": 5, "requires_message_authenticator": true}
//
// window may give behind, ahead or both; lockout_threshold may be null (no
// lockout required); lockout_threshold and window's parts may instead be
// an upper bound, {"max": N}, which a measured null (no lockout) exceeds;
// unlocks_by and digits_accepted compare as sets; latency_ms gives upper
// bounds ({"p99": 50}). A key that is not a property is an error naming
// it. Compare lists each property that differs. A security team's profile
// is e.g.
//
//	{"replay_refused": true, "older_code_refused": true,
//	 "lockout_threshold": {"max": 10}, "window": {"ahead": {"max": 1}},
//	 "requires_message_authenticator": true}
package probe
