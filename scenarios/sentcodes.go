package scenarios

import (
	"errors"
	"regexp"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/scenarios/harness"
	"github.com/tokenlab/tokenlab/server"
)

// The codes the server "sends" — phone codes by text or voice, proofing
// activation codes by post or from the live agent — land in the user's
// outbox, which stands for the phone and the letter: a spec reads a code
// there as the user would read it off the phone. Reading the outbox is the
// Inspect role, so every spec that uses these helpers declares it.

var (
	phoneCodeInBody    = regexp.MustCompile(`One-Time Password is (\d{6})\.`)
	proofingCodeInBody = regexp.MustCompile(`activation code is ([A-Z0-9]{10})\.`)
)

// phoneCodeTo is the code of the last text or voice message sent to number
// in user's outbox. A connected account's codes go to its parent's phone
// but into its own outbox, so user is who asked for the code.
func phoneCodeTo(w *harness.World, user, number string) string {
	GinkgoHelper()
	ns, err := w.T.Notifications(w.Ctx, user)
	Expect(err).NotTo(HaveOccurred())
	for _, n := range slices.Backward(ns) {
		if n.Recipient != number || (n.Kind != server.NotificationPhoneCodeText && n.Kind != server.NotificationPhoneCodeVoice) {
			continue
		}
		m := phoneCodeInBody.FindStringSubmatch(n.Body)
		Expect(m).NotTo(BeNil(), "no code in the message %q", n.Body)
		return m[1]
	}
	Fail("no code was sent to " + number + " for " + user)
	return ""
}

// proofingCodeIn is the activation code of the user's last proofing
// notification of the kind (postal or live).
func proofingCodeIn(w *harness.World, user string, kind server.NotificationKind) string {
	GinkgoHelper()
	ns, err := w.T.Notifications(w.Ctx, user)
	Expect(err).NotTo(HaveOccurred())
	for _, n := range slices.Backward(ns) {
		if n.Kind != kind {
			continue
		}
		m := proofingCodeInBody.FindStringSubmatch(n.Body)
		Expect(m).NotTo(BeNil(), "no activation code in the notification %q", n.Body)
		return m[1]
	}
	Fail("no " + string(kind) + " notification for " + user)
	return ""
}

// otherPhoneCode is a well-formed phone code that is not code: a wrong one
// the user might type, which counts against the code (a malformed one is a
// bad request and would not).
func otherPhoneCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// addVerifiedPhone registers number by text with sessionID (as AddPhone
// takes it: "" while the account holds no OTP credential) and enters the
// code it was sent, as the guide's registration does.
func addVerifiedPhone(w *harness.World, user, number, sessionID string) server.PhoneView {
	GinkgoHelper()
	_, err := w.T.AddPhone(w.Ctx, user, number, server.PhoneText, sessionID)
	Expect(err).NotTo(HaveOccurred())
	v, err := w.T.VerifyPhone(w.Ctx, user, number, phoneCodeTo(w, user, number))
	Expect(err).NotTo(HaveOccurred())
	Expect(v.Verified).To(BeTrue())
	return v
}

// phoneLogin is the guide's phone OTP login: the password, "Send" a code
// to the phone, enter it.
func phoneLogin(w *harness.World, user, password, number string) server.Session {
	GinkgoHelper()
	sent, err := w.T.SendPhoneCode(w.Ctx, user, number)
	Expect(err).NotTo(HaveOccurred())
	Expect(sent.Purpose).To(Equal("login"))
	ss, err := w.T.LoginWithPhone(w.Ctx, user, password, number, phoneCodeTo(w, user, number))
	Expect(err).NotTo(HaveOccurred())
	Expect(ss.Strength.Credential).To(Equal(server.CredentialPhoneOTP))
	return ss
}

// expectBadRequestSaying asserts a bad_request refusal worded as the
// catalogue's variant for when (server.MessageVariants' When), or as the
// catalogue's own message when when is "": what a user types wrong is said
// plainly, what the portal sends wrong is not. ExpectRefusal accepts any
// of a code's messages; this tells them apart. A target without the
// Reasons role says no more than that it refused.
func expectBadRequestSaying(w *harness.World, err error, when string) {
	GinkgoHelper()
	w.ExpectRefusal(err, server.CodeBadRequest)
	if !w.Caps.Roles.Has(harness.Reasons) {
		return
	}
	p, perr := w.T.Policy(w.Ctx)
	Expect(perr).NotTo(HaveOccurred())
	want := harness.Message(server.CodeBadRequest, p)
	if when != "" {
		i := slices.IndexFunc(server.MessageVariants, func(e server.Entry) bool {
			return e.Code == server.CodeBadRequest && e.When == when
		})
		Expect(i).NotTo(Equal(-1), "the catalogue has no bad_request variant for %q", when)
		want = p.Fill(server.MessageVariants[i].Message)
	}
	var e *server.Error
	Expect(errors.As(err, &e)).To(BeTrue())
	Expect(e.Message).To(Equal(want))
}

// moveClockTo moves the server's clock on to t (and sweeps).
func moveClockTo(w *harness.World, t time.Time) {
	GinkgoHelper()
	now := w.Now()
	Expect(t).To(BeTemporally(">=", now), "the clock does not go back")
	w.Advance(t.Sub(now))
}

// countOf is how many of the user's notifications are of the kind.
func countOf(w *harness.World, user string, kind server.NotificationKind) int {
	GinkgoHelper()
	n := 0
	for _, k := range w.Outbox(user) {
		if k == string(kind) {
			n++
		}
	}
	return n
}
