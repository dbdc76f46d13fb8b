package provision

import (
	"os"
	"syscall"
)

// fOFDSetLKW is F_OFD_SETLKW (asm-generic/fcntl.h), which package syscall
// does not name: a lock owned by the open file, as liboath 2.6.12 takes.
const fOFDSetLKW = 38

// posixLock takes a classic fcntl write lock on all of f and waits for it.
func posixLock(f *os.File) error {
	return flock(f, syscall.F_SETLKW)
}

// fileLock takes an open-file-description write lock on all of f.
func fileLock(f *os.File) error {
	return flock(f, fOFDSetLKW)
}

func flock(f *os.File, cmd int) error {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	for {
		err := syscall.FcntlFlock(f.Fd(), cmd, &lk)
		if err != syscall.EINTR {
			return err
		}
	}
}
