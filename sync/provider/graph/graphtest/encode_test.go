package graphtest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestRenderJSON checks that the answers' items written directly are the
// bytes encoding/json writes of render and selected, the emulator's
// reference.
func TestRenderJSON(t *testing.T) {
	s := NewUnstarted()
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	s.add(s.me, Inbox, 60, at)
	s.add(s.me, Sent, 2, at)
	s.add(s.me, Calendar, 3, at)
	for _, f := range []string{Inbox, Sent, Calendar} {
		for _, it := range s.me.folders[f].items {
			for _, rev := range []int{0, 3} {
				it.rev = rev
				for _, sel := range []string{"", "-basic", "id,subject,from", "ID, Subject ,toRecipients", "bodyPreview", "nothing"} {
					var want bytes.Buffer
					json.NewEncoder(&want).Encode(selected(render(it), sel))
					got := append(renderJSON(nil, it, sel), '\n')
					if !bytes.Equal(got, want.Bytes()) {
						t.Fatalf("%s rev %d $select %q:\n got %s\nwant %s", it.id, rev, sel, got, want.Bytes())
					}
				}
			}
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\r\t\x01\x1f<>&x", "héllo <é>", "\u2028\u2029", "\xff"} {
		want, _ := json.Marshal(s)
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: %s, want %s", s, got, want)
		}
	}
}
