//go:build unix

package experiment

import "syscall"

// processCPUSeconds returns the user and system CPU time this process has
// used, in seconds.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
