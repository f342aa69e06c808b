//go:build !unix

package viewgen

// processCPUSeconds is not measured on this system.
func processCPUSeconds() float64 { return 0 }
