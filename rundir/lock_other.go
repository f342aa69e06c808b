//go:build !unix

package rundir

import "time"

// Lock does nothing where flock is missing: run one process per directory.
func Lock(path string, wait time.Duration) (unlock func(), err error) { return func() {}, nil }
