//go:build !unix

package procstat

import "time"

// CPU is not measured here: it returns 0.
func CPU() time.Duration { return 0 }

// PeakRSSMB is not measured here: it returns 0.
func PeakRSSMB() float64 { return 0 }
