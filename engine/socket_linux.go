package engine

import "golang.org/x/sys/unix"

// shutdownWrite sends FIN on a connection whose reads go on (lingering
// close). gnet has no half-close; the fd is the connection's own.
func shutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }
