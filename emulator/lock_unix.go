//go:build unix

package emulator

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an flock on path, shared or exclusive, and returns its release.
func lockFile(path string, exclusive bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if os.IsNotExist(err) && !exclusive {
			return func() {}, nil // nothing stored yet: nothing to lock
		}
		return nil, fmt.Errorf("cannot lock the token store: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock the token store: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
