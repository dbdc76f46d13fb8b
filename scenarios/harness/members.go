package harness

import (
	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best unqualified
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/server"
)

// ActiveMember is an ActiveUser of the organization org (edit may change
// the rest of the account: a role, the applications it administers): the
// guide's terms are accepted, and an organization administrator acts, for
// an organization, which a provisioner's users have none of. So it is
// always enrolled the classical way through the target's API, also on a
// target with a provisioner (tokenlab's, whose service is the target's),
// and it needs the Portal role beside Provision: accounts with an
// organization are the portal's.
func (w *World) ActiveMember(org string, edit ...func(*server.NewAccount)) (string, *Device) {
	GinkgoHelper()
	w.need("ActiveMember", Provision)
	w.need("ActiveMember", Portal)
	n := newAccount(w.Unique("u"))
	n.Organization = org
	for _, e := range edit {
		e(&n)
	}
	_, err := w.raw.CreateAccount(w.Ctx, Admin, n)
	Expect(err).NotTo(HaveOccurred())
	if n.Password != Password {
		w.passwords[n.UserID] = n.Password
	}
	tok, err := newDevice(w.Ctx, w.raw)
	Expect(err).NotTo(HaveOccurred())
	Expect(enrol(w.Ctx, w.raw, w.Caps.Roles.Has(Clock), 1, n.UserID, tok)).To(Succeed())
	return n.UserID, &Device{Token: tok, w: w}
}

// Organization is an organization name no other spec uses: accepting an
// application's terms counts for a whole organization, on a shared server
// too.
func (w *World) Organization() string { return w.Unique("org") }
