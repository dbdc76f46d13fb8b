//go:build !unix

package emulator

// lockFile is a no-op where flock is missing: concurrent CLI runs on such a
// system may race on an HOTP counter.
func lockFile(string, bool) (func(), error) { return func() {}, nil }
