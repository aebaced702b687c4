package main

import (
	"testing"
	"time"
)

// Durations read as people say them: one second, never "1 seconds" or
// "60 seconds".
func TestWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "1 second",
		time.Second:              "1 second",
		2 * time.Second:          "2 seconds",
		1990 * time.Millisecond:  "2 seconds",
		59 * time.Second:         "59 seconds",
		59700 * time.Millisecond: "1 minute",
		90 * time.Second:         "2 minutes",
		30 * time.Minute:         "30 minutes",
		3 * time.Hour:            "3 hours",
	} {
		if got := words(d); got != want {
			t.Errorf("words(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 120000: "120,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
