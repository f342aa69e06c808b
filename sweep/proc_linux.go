//go:build linux

package sweep

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the child get SIGKILL when the thread that started it
// exits: a sweep killed with kill -9 takes its running tasks with it, and a
// restarted sweep never meets an orphan still writing a run. The caller
// starts and waits for the child on one locked OS thread.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
