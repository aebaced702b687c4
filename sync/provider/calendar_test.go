package provider

import (
	"testing"
	"time"
)

// TestCalendarWindow pins the window every provider lists to the one
// docs/architecture.md §1 names, and checks that the day-aligned form
// (Graph, Google Calendar) covers the exact one, so that reconciliation
// inside the exact window never marks deleted an event a day-aligned
// listing returned.
func TestCalendarWindow(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	for _, c := range []struct {
		name string
		now  time.Time
		days [2]string // CalendarDays, as dates
	}{
		{"noon UTC", time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), [2]string{"2026-11-06", "2027-01-20"}},
		{"just before midnight UTC", time.Date(2026, 11, 20, 23, 59, 0, 0, time.UTC), [2]string{"2026-11-06", "2027-01-20"}},
		{"local date ahead of UTC", time.Date(2026, 11, 21, 0, 30, 0, 0, berlin), [2]string{"2026-11-06", "2027-01-20"}},
		{"across a DST change", time.Date(2026, 3, 20, 12, 0, 0, 0, berlin), [2]string{"2026-03-06", "2026-05-20"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			from, to := CalendarWindow(c.now)
			if got := c.now.Sub(from); got != 14*24*time.Hour {
				t.Errorf("window starts %s before now, want 336h", got)
			}
			if got := to.Sub(c.now); got != 60*24*time.Hour {
				t.Errorf("window ends %s after now, want 1440h", got)
			}
			dfrom, dto := CalendarDays(c.now)
			if got := [2]string{dfrom.Format(time.DateOnly), dto.Format(time.DateOnly)}; got != c.days {
				t.Errorf("CalendarDays = %v, want %v", got, c.days)
			}
			if dfrom.After(from) || dto.Before(to) {
				t.Errorf("CalendarDays %s–%s does not contain CalendarWindow %s–%s", dfrom, dto, from, to)
			}
		})
	}
}
