package console

// How the pages word states, times, durations and numbers.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

// stateWords are the reference's admin statuses.
func stateWords(state string) string {
	switch state {
	case pgstore.StateEnabled:
		return "Enabled"
	case pgstore.StateDisabled:
		return "Disabled"
	case pgstore.StateError:
		return "Disabled due to an error"
	}
	return state
}

// when shows a time as the admin reads it: "today 14:05", "3 Dec 14:05",
// with how long ago or ahead; "never" for zero.
func (s *Server) when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	now := s.cfg.Now()
	lt, ln := t.In(s.cfg.Location), now.In(s.cfg.Location)
	var day string
	switch {
	case lt.YearDay() == ln.YearDay() && lt.Year() == ln.Year():
		day = "today "
	case lt.Year() == ln.Year():
		day = lt.Format("2 Jan ")
	default:
		day = lt.Format("2 Jan 2006 ")
	}
	d := now.Sub(t)
	rel := ""
	switch {
	case d >= time.Minute:
		rel = " (" + duration(d.Truncate(time.Minute)) + " ago)"
	case d <= -time.Minute:
		rel = " (in " + duration((-d).Truncate(time.Minute)) + ")"
	case d >= 0:
		rel = " (just now)"
	default:
		rel = " (in a moment)"
	}
	return day + lt.Format("15:04") + rel
}

// next shows when a mailbox's next sync is due: "due now" once it is past.
func (s *Server) next(t time.Time) string {
	if !t.IsZero() && !t.After(s.cfg.Now()) {
		return "due now"
	}
	return s.when(t)
}

// duration shows d briefly: "850 ms", "12 s", "5 min", "3 h 10 min", "2 days".
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// number writes n with thousands separators: 12,345.
func number(n any) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	}
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
