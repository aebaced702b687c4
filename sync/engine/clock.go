package engine

import "time"

// Clock is the engine's source of time, so that tests can run weeks of
// schedule in milliseconds.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer from a Clock.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the wall-clock time, without its monotonic reading: the
// schedule compares wall time so that a sync due while the machine slept
// runs on wake (the monotonic clock stops during suspend on Linux).
func (SystemClock) Now() time.Time { return time.Now().Round(0) }

// NewTimer returns a time.Timer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time { return s.t.C }
func (s sysTimer) Stop() bool          { return s.t.Stop() }
