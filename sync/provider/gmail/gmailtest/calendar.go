package gmailtest

// The Calendar API: events.list with sync tokens, and the event changes
// tests script.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// --- Calendar ---

// AddEvent adds n timed events starting at start, lasting an hour, and
// returns their ids.
func (b *Mailbox) AddEvent(n int, start time.Time) []string {
	return b.addEvents(n, start, start.Add(time.Hour), false)
}

// AddAllDayEvent adds an all-day event on the date of day (days long).
func (b *Mailbox) AddAllDayEvent(day time.Time, days int) string {
	y, m, d := day.Date()
	st := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return b.addEvents(1, st, st.AddDate(0, 0, days), true)[0]
}

func (b *Mailbox) addEvents(n int, start, end time.Time, allDay bool) []string {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		b.calSeq++
		e := &event{id: fmt.Sprintf("evt%06dq2fi8k", b.calSeq), start: start.UTC(), end: end.UTC(), allDay: allDay, summary: fmt.Sprintf("Pipeline review %d", b.calSeq), seq: b.calSeq}
		b.events[e.id] = e
		ids = append(ids, e.id)
	}
	return ids
}

// ChangeEvent changes an event's title.
func (b *Mailbox) ChangeEvent(id string) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if e := b.events[id]; e != nil && !e.cancelled {
		e.rev++
		b.calSeq++
		e.seq = b.calSeq
	}
}

// MoveEvent moves an event to start at start, keeping its length.
func (b *Mailbox) MoveEvent(id string, start time.Time) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if e := b.events[id]; e != nil && !e.cancelled {
		e.end = start.UTC().Add(e.end.Sub(e.start))
		e.start = start.UTC()
		b.calSeq++
		e.seq = b.calSeq
	}
}

// CancelEvent cancels (deletes) an event; it stays visible as cancelled
// with showDeleted and in incremental results.
func (b *Mailbox) CancelEvent(id string) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if e := b.events[id]; e != nil && !e.cancelled {
		e.cancelled = true
		b.calSeq++
		e.seq = b.calSeq
	}
}

// InvalidateSyncTokens makes every sync token given so far answer 410
// fullSyncRequired.
func (b *Mailbox) InvalidateSyncTokens() {
	b.s.mu.Lock()
	b.calEpoch++
	b.s.mu.Unlock()
}

// calToken is a Calendar page or sync token.
type calToken struct {
	E    int    `json:"e"`           // epoch (sync tokens)
	Seq  int    `json:"q"`           // sync: changes after this calSeq; page: the listing's calSeq bound
	From int    `json:"f,omitempty"` // sync round in pages: changes after this calSeq
	Off  int    `json:"o,omitempty"` // page: offset
	Args string `json:"a,omitempty"` // page: the query it belongs to
}

func encodeTok(t calToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeTok(s string) (calToken, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t calToken
	return t, err == nil && json.Unmarshal(b, &t) == nil
}

func (s *Server) eventsList(w http.ResponseWriter, r *http.Request, c call) {
	b := c.box
	if r.PathValue("cal") != "primary" && !strings.EqualFold(r.PathValue("cal"), b.address) {
		apiError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	q := r.URL.Query()
	size := maxResults(q, 250, 2500)
	st := q.Get("syncToken")
	if st != "" && (q.Has("timeMin") || q.Has("timeMax") || q.Has("orderBy") || q.Has("q") || q.Has("updatedMin") || q.Get("showDeleted") == "false") {
		apiError(w, http.StatusBadRequest, "syncTokenWithRequestRestrictions", "Sync token cannot be used with other request restrictions.")
		return
	}
	var tmin, tmax time.Time
	var err error
	if v := q.Get("timeMin"); v != "" {
		if tmin, err = time.Parse(time.RFC3339, v); err != nil {
			apiError(w, http.StatusBadRequest, "badRequest", "Bad Request")
			return
		}
	}
	if v := q.Get("timeMax"); v != "" {
		if tmax, err = time.Parse(time.RFC3339, v); err != nil {
			apiError(w, http.StatusBadRequest, "badRequest", "Bad Request")
			return
		}
	}
	args := q.Get("timeMin") + "|" + q.Get("timeMax") + "|" + st + "|" + q.Get("showDeleted") + "|" + q.Get("singleEvents")
	s.mu.Lock()
	defer s.mu.Unlock()
	var since int
	if st != "" {
		t, ok := decodeTok(st)
		if !ok || t.E != b.calEpoch {
			apiError(w, http.StatusGone, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
			return
		}
		since = t.Seq
	}
	bound, off := b.calSeq, 0
	if pt := q.Get("pageToken"); pt != "" {
		t, ok := decodeTok(pt)
		if !ok || t.Args != args {
			apiError(w, http.StatusBadRequest, "invalid", "Invalid page token value.")
			return
		}
		bound, off = t.Seq, t.Off
	}
	var match []*event
	for _, e := range b.events {
		switch {
		case st != "":
			if e.seq <= since || e.seq > bound {
				continue
			}
		default:
			if e.cancelled && q.Get("showDeleted") != "true" {
				continue
			}
			if (!tmin.IsZero() && !e.end.After(tmin)) || (!tmax.IsZero() && !e.start.Before(tmax)) {
				continue
			}
		}
		match = append(match, e)
	}
	sort.Slice(match, func(i, j int) bool { return match[i].id < match[j].id })
	end := min(off+size, len(match))
	items := make([]map[string]any, 0, max(end-off, 0))
	for _, e := range match[min(off, len(match)):end] {
		items = append(items, b.renderEvent(e))
	}
	out := map[string]any{
		"kind": "calendar#events", "etag": `"p33g9h1m2n3o4p"`, "summary": b.address, "description": "",
		"updated": time.Now().UTC().Format(time.RFC3339Nano), "timeZone": "Europe/Paris", "accessRole": "owner",
		"defaultReminders": []map[string]any{{"method": "popup", "minutes": 10}}, "items": items,
	}
	if end < len(match) {
		out["nextPageToken"] = encodeTok(calToken{Seq: bound, Off: end, Args: args})
	} else {
		out["nextSyncToken"] = encodeTok(calToken{E: b.calEpoch, Seq: bound})
	}
	writeJSON(w, http.StatusOK, out)
}

// renderEvent writes an event as the Calendar API does; the server's mu is held.
func (b *Mailbox) renderEvent(e *event) map[string]any {
	if e.cancelled {
		return map[string]any{"kind": "calendar#event", "etag": fmt.Sprintf(`"31%08d"`, e.seq), "id": e.id, "status": "cancelled"}
	}
	when := func(t time.Time) map[string]string {
		if e.allDay {
			return map[string]string{"date": t.Format(time.DateOnly)}
		}
		return map[string]string{"dateTime": t.In(time.FixedZone("", 3600)).Format(time.RFC3339), "timeZone": "Europe/Paris"}
	}
	summary := e.summary
	if e.rev > 0 {
		summary += fmt.Sprintf(" (rev %d)", e.rev)
	}
	return map[string]any{
		"kind": "calendar#event", "etag": fmt.Sprintf(`"31%08d"`, e.seq), "id": e.id, "status": "confirmed",
		"htmlLink": "https://www.google.com/calendar/event?eid=" + e.id, "created": "2026-10-01T09:00:00.000Z",
		"updated": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "summary": summary,
		"description": "Agenda:\n- numbers\n- plans", "location": "Room 4",
		"creator":   map[string]any{"email": "megan@example.test"},
		"organizer": map[string]any{"email": "megan@example.test", "displayName": "Megan Bowen"},
		"start":     when(e.start), "end": when(e.end), "iCalUID": e.id + "@google.com", "sequence": e.rev,
		"attendees": []map[string]any{
			{"email": b.address, "self": true, "responseStatus": "accepted"},
			{"email": "alex@fabrikam.test", "responseStatus": "needsAction"},
		},
		"reminders": map[string]bool{"useDefault": true}, "eventType": "default",
	}
}
