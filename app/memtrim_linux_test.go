package app

import (
	"os"
	"strings"
	"testing"
)

// The test binary is a large Go executable too: releasing its start-up
// pages must leave its read-only mappings marked for random reads and its
// file-backed resident memory lower than before.
func TestReleaseStartupPages(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spans, err := readOnlyMappings(exe)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) < 2 {
		t.Fatalf("found %d read-only mappings of %s, want code and read-only data", len(spans), exe)
	}
	before, after, err := releaseBinaryPages()
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 || after >= before {
		t.Fatalf("RssFile %d bytes before, %d after: nothing was released", before, after)
	}
	t.Logf("RssFile %.1f MB → %.1f MB", float64(before)/(1<<20), float64(after)/(1<<20))

	// Every read-only mapping of the executable now reads at random
	// ("rr" in smaps' VmFlags); the writable one was left alone.
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var current string
	random := 0
	for _, line := range strings.Split(string(smaps), "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 6 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			current = ""
			if strings.Join(fields[5:], " ") == exe {
				current = fields[1]
			}
			continue
		}
		if current == "" || !strings.HasPrefix(line, "VmFlags:") {
			continue
		}
		rr := strings.Contains(line, " rr")
		switch {
		case strings.Contains(current, "w") && rr:
			t.Errorf("the writable mapping of the executable was marked random: %s", line)
		case !strings.Contains(current, "w") && !rr:
			t.Errorf("a read-only mapping (%s) of the executable is not marked random: %s", current, line)
		case rr:
			random++
		}
	}
	if random != len(spans) {
		t.Errorf("%d mappings marked random, want %d", random, len(spans))
	}
}

func TestReadOnlyMappingsOtherFile(t *testing.T) {
	spans, err := readOnlyMappings("/no/such/executable")
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 0 {
		t.Fatalf("found %d mappings of a file that is not mapped", len(spans))
	}
}
