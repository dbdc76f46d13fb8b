// Package scenarios holds tokenlab's ginkgo suites: specs that read like the
// hardware token guide ("Given … When … Then …"), labelled by flow so that QA
// can filter them (make scenarios LABELS=drift).
//
// scenarios/token describes the virtual token itself; the server's flows
// (activation, login, lockout, resync, …) join as the verification server
// lands, run against every target through one harness.
package scenarios
