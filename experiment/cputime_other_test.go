//go:build !unix

package experiment

// processCPUSeconds is not measured on this system.
func processCPUSeconds() float64 { return 0 }
