package peers

import "syscall"

// sysProcAttr ends FreeRADIUS with the program that started it, so that a
// test binary killed by its timeout leaves no server holding a port.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
