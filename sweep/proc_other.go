//go:build !linux

package sweep

import "os/exec"

// dieWithParent does nothing where the parent-death signal is missing; the
// task locks still keep an orphan and a restarted sweep off one task.
func dieWithParent(cmd *exec.Cmd) {}
