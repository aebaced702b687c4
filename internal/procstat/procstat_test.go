//go:build unix

package procstat

import "testing"

func TestUsageGrows(t *testing.T) {
	c0, rss0 := CPU(), PeakRSSMB()
	if rss0 <= 0 {
		t.Fatalf("peak RSS %v MB", rss0)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	if c1 := CPU(); c1 <= c0 {
		t.Errorf("CPU time did not grow with work: %v → %v", c0, c1)
	}
	if rss1 := PeakRSSMB(); rss1 < rss0+32 {
		t.Errorf("peak RSS %v → %v MB after touching 64 MB", rss0, rss1)
	}
	_ = buf[len(buf)-1]
}
