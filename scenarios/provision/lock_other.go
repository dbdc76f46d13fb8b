//go:build !linux

package provision

import "os"

// Elsewhere than Linux only the exclusive PATH.lock guards a users file:
// pam_oath is a Linux-PAM module, and these fcntl commands are Linux's.
func posixLock(*os.File) error { return nil }
func fileLock(*os.File) error  { return nil }
