//go:build !unix

package store

import (
	"testing"
	"time"
)

func cpuNow() time.Duration { return 0 }

func reportCPU(b *testing.B, start time.Duration) {}
