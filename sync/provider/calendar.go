package provider

import "time"

// The calendar window (docs/architecture.md §1): a calendar sync covers
// the events from CalendarDaysBack days before now to CalendarDaysAhead
// days after it. Every provider, the scripted one and the session's
// reconciliation read these, so that what a provider lists and what a
// full sync may mark deleted are the same span.
const (
	CalendarDaysBack  = 14
	CalendarDaysAhead = 60
)

// CalendarWindow returns the calendar window around now: from
// CalendarDaysBack × 24 hours before now to CalendarDaysAhead × 24 hours
// after it. Whole 24-hour days, not calendar days, so that the span is the
// same length on both sides of a daylight-saving change.
func CalendarWindow(now time.Time) (from, to time.Time) {
	return now.Add(-CalendarDaysBack * 24 * time.Hour), now.Add(CalendarDaysAhead * 24 * time.Hour)
}

// CalendarDays returns the calendar window around now widened to whole UTC
// days, for services whose calendar queries move by the day (Graph's
// calendarView, Google Calendar): from the start of the UTC day
// CalendarDaysBack days before now's to the end of the UTC day
// CalendarDaysAhead days after it. It contains CalendarWindow(now).
func CalendarDays(now time.Time) (from, to time.Time) {
	y, m, d := now.UTC().Date()
	from = time.Date(y, m, d-CalendarDaysBack, 0, 0, 0, 0, time.UTC)
	return from, from.AddDate(0, 0, CalendarDaysBack+CalendarDaysAhead+1)
}
