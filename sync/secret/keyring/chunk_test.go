package keyring

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		name string
		s    string
		size int
	}{
		{"empty", "", 8},
		{"short", "abc", 8},
		{"exact", "abcdefgh", 8},
		{"ascii", strings.Repeat("abcdefghij", 10), 8},
		{"two-byte", strings.Repeat("é", 50), 8},
		{"four-byte", strings.Repeat("🔑", 50), 8},
		{"mixed", strings.Repeat("a€🔑é", 40), 7},
		{"not utf-8", strings.Repeat("\xff\x80\x80\x80\x80", 20), 8},
		{"min size", strings.Repeat("🔑a", 20), 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			parts := split(c.s, c.size)
			if strings.Join(parts, "") != c.s {
				t.Fatal("parts do not add up")
			}
			for i, p := range parts {
				if len(p) > c.size {
					t.Errorf("part %d is %d bytes > %d", i, len(p), c.size)
				}
				if p == "" && len(parts) > 1 {
					t.Errorf("part %d is empty", i)
				}
				if utf8.ValidString(c.s) && !utf8.ValidString(p) {
					t.Errorf("part %d splits a character", i)
				}
				if i < len(parts)-1 && len(p) < c.size-(utf8.UTFMax-1) {
					t.Errorf("part %d is only %d bytes", i, len(p))
				}
			}
			if n := len(parts); len(c.s) > 0 && n > (len(c.s)+c.size-4)/(c.size-3) {
				t.Errorf("%d parts, more than the bound maxChunks relies on", n)
			}
		})
	}
}

func TestManifest(t *testing.T) {
	v := strings.Repeat("x", 5000)
	m, err := parseManifest(makeManifest(v, 3))
	if err != nil || m.chunks != 3 || len(m.sum) != 64 {
		t.Fatalf("parseManifest(makeManifest) = %+v, %v", m, err)
	}
	sum := strings.Repeat("ab", 32)
	for _, bad := range []string{
		"",
		"inboxsync-chunked:",
		"inboxsync-chunked:v1",
		"inboxsync-chunked:v2:3:" + sum,
		"inboxsync-chunked:v1:0:" + sum,
		"inboxsync-chunked:v1:-1:" + sum,
		"inboxsync-chunked:v1:03:" + sum,
		"inboxsync-chunked:v1:+3:" + sum,
		"inboxsync-chunked:v1:999999:" + sum,
		"inboxsync-chunked:v1:3:" + sum[:62],
		"inboxsync-chunked:v1:3:" + strings.ToUpper(sum),
		"inboxsync-chunked:v1:3:" + strings.Repeat("zz", 32),
		"inboxsync-chunked:v1:3:" + sum + ":",
	} {
		if _, err := parseManifest(bad); err == nil {
			t.Errorf("parseManifest(%q) accepted", bad)
		}
	}
	if maxChunks*(chunkSize-3) < maxValueSize {
		t.Errorf("maxChunks %d too small for %d bytes", maxChunks, maxValueSize)
	}
}
