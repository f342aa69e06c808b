//go:build !unix

package games

// processCPUSeconds is not measured on this system.
func processCPUSeconds() float64 { return 0 }
