//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockWait is how long a task waits for the lock of a task before it
// reports the task busy.
const lockWait = 10 * time.Second

// lockTask takes the lock of task i of the sweep in dir, so that no two
// processes (a local pool and a cluster job, say) run one task at once. The
// lock is an flock on locks/<i>.lock and dies with its process.
func lockTask(dir string, i int) (unlock func(), err error) {
	path := filepath.Join(dir, "locks", fmt.Sprintf("%04d.lock", i))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	// A holder that is dying (a sweep killed with its tasks) lets go within
	// moments: wait a little before calling the task busy.
	deadline := time.Now().Add(lockWait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("task %d: locking %s: %w", i, path, err)
		}
		if time.Now().After(deadline) {
			holder, _ := os.ReadFile(path)
			f.Close()
			return nil, fmt.Errorf("task %d: %w (%s is held by %s)", i, errTaskBusy, path, string(holder))
		}
		time.Sleep(100 * time.Millisecond)
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d on %s", os.Getpid(), host)
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
