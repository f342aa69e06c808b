package rundir

import (
	"errors"
	"path/filepath"
	"time"
)

// ErrBusy is wrapped by the error of a lock that another process holds.
var ErrBusy = errors.New("another process is using it")

// LockFileName is the lock of a run directory.
const LockFileName = ".lock"

// LockRun takes the lock of a run directory: run, resume, report and sweep
// tasks hold it while they write there. It waits a few seconds for a holder
// that is exiting.
func LockRun(dir string) (unlock func(), err error) {
	return Lock(filepath.Join(dir, LockFileName), 3*time.Second)
}
