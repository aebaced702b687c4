//go:build unix

// Package procstat reads what this process has used so far: CPU time and
// peak resident memory. The benchmarks print them next to their
// throughput.
package procstat

import (
	"syscall"
	"time"
)

// CPU returns the CPU time (user and system) the process has used.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSSMB returns the process's peak resident memory in MB (on Linux the
// same figure as VmHWM in /proc/self/status).
func PeakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // kB on Linux
}
