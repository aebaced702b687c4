package fynelocale

import (
	"os"
	"testing"
)

func TestHoldAndRestore(t *testing.T) {
	for _, tc := range []struct {
		name               string
		lcAll, lcMsg, lang string
		heldVar            string // "" when nothing is held
	}{
		{"C.UTF-8 in LANG", "", "", "C.UTF-8", "LANG"},
		{"POSIX.utf8 in LC_MESSAGES", "", "POSIX.utf8", "en_US.UTF-8", "LC_MESSAGES"},
		{"C.UTF-8 in LC_ALL wins", "C.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8", "LC_ALL"},
		{"a real language", "", "", "de_DE.UTF-8", ""},
		{"LC_ALL language hides a C LANG", "en_GB.UTF-8", "", "C.UTF-8", ""},
		{"plain C is fine already", "", "", "C", ""},
		{"nothing set", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LC_ALL", tc.lcAll)
			t.Setenv("LC_MESSAGES", tc.lcMsg)
			t.Setenv("LANG", tc.lang)
			want := map[string]string{"LC_ALL": tc.lcAll, "LC_MESSAGES": tc.lcMsg, "LANG": tc.lang}
			hold()
			for name, v := range want {
				got := os.Getenv(name)
				if name == tc.heldVar {
					if got != "C" {
						t.Errorf("during init %s=%q, want \"C\"", name, got)
					}
				} else if got != v {
					t.Errorf("during init %s=%q, want it untouched (%q)", name, got, v)
				}
			}
			Restore()
			for name, v := range want {
				if got := os.Getenv(name); got != v {
					t.Errorf("after Restore %s=%q, want %q", name, got, v)
				}
			}
		})
	}
}
