package app

import (
	"os"
	"strings"
	"testing"
)

// The test binary is a large Go executable too: releasing its start-up
// pages must leave its read-only mappings marked for random reads and its
// file-backed resident memory lower than before.
func TestReleaseBinaryPages(t *testing.T) {
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

// The RELRO region of a dynamically linked binary is a read-only mapping
// of the executable whose pages the loader wrote (relocations): it must
// never be dropped, or calls through the GOT jump to address 0.
func TestParseSmapsSkipsWrittenPages(t *testing.T) {
	const exe = "/opt/inbox sync/inboxsync"
	smaps := `00400000-00404000 r--p 00000000 fe:00 42 /opt/inbox sync/inboxsync
Size:                 16 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
00404000-00edf000 r-xp 00004000 fe:00 42 /opt/inbox sync/inboxsync
Size:              11116 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me
00edf000-0199a000 r--p 00adf000 fe:00 42 /opt/inbox sync/inboxsync
Anonymous:             0 kB
VmFlags: rd mr mw me
0199a000-0199b000 r--p 01599000 fe:00 42 /opt/inbox sync/inboxsync
Anonymous:             4 kB
VmFlags: rd mr mw me ac
0199b000-0214b000 rw-p 0159a000 fe:00 42 /opt/inbox sync/inboxsync
Anonymous:           320 kB
VmFlags: rd wr mr mw me ac
02200000-02300000 r--p 00000000 fe:00 43 /usr/lib/libc.so.6
Anonymous:             0 kB
7f0000000000-7f0000001000 rw-p 00000000 00:00 0
Anonymous:             4 kB
`
	spans, err := parseSmaps(strings.NewReader(smaps), exe)
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x400000, 0x404000}, {0x404000, 0xedf000}, {0xedf000, 0x199a000}}
	if len(spans) != len(want) {
		t.Fatalf("got %x, want %x", spans, want)
	}
	for i := range want {
		if spans[i] != want[i] {
			t.Fatalf("got %x, want %x", spans, want)
		}
	}
}
