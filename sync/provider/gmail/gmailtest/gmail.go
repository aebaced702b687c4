package gmailtest

// The Gmail API: profile, messages.list/get, history.list, and the
// mailbox changes tests script.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// --- Gmail ---

// record appends a history record; b.s.mu is held.
func (b *Mailbox) record(kind string, m *message, changed []string) {
	b.historyID++
	b.history = append(b.history, record{id: b.historyID, kind: kind, msg: m.id, thread: m.thread, labels: slices.Clone(m.labels), changed: changed})
}

// Add adds n messages with labels, received at `at` (internalDate), and
// returns their ids. Every third message continues the thread of the one
// before.
func (b *Mailbox) Add(labels []string, n int, at time.Time) []string {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		b.seq++
		m := &message{id: fmt.Sprintf("18c%013x", b.seq), labels: slices.Clone(labels), at: at.UTC().Truncate(time.Millisecond), n: b.seq}
		m.thread = m.id
		if b.seq%3 == 0 {
			m.thread = fmt.Sprintf("18c%013x", b.seq-1)
		}
		b.msgs[m.id] = m
		b.order = append(b.order, m)
		b.sorted = false
		b.record("messagesAdded", m, nil)
		ids = append(ids, m.id)
	}
	return ids
}

// SendToSelf adds a message sent to oneself: it carries INBOX and SENT.
func (b *Mailbox) SendToSelf(at time.Time) string {
	return b.Add([]string{Inbox, Sent, "UNREAD"}, 1, at)[0]
}

// AddLabel adds a label to a message (STARRED, INBOX, …).
func (b *Mailbox) AddLabel(id, l string) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if m := b.msgs[id]; m != nil && !m.deleted && !m.has(l) {
		m.labels = append(m.labels, l)
		b.record("labelsAdded", m, []string{l})
	}
}

// RemoveLabel removes a label from a message; RemoveLabel(id, INBOX) is
// archiving it (moving it out of the Inbox).
func (b *Mailbox) RemoveLabel(id, l string) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if m := b.msgs[id]; m != nil && !m.deleted && m.has(l) {
		m.labels = slices.DeleteFunc(m.labels, func(x string) bool { return x == l })
		b.record("labelsRemoved", m, []string{l})
	}
}

// Trash moves a message to the trash: it gains TRASH and keeps its other
// labels, so a client must treat TRASH as out of every folder.
func (b *Mailbox) Trash(id string) { b.AddLabel(id, "TRASH") }

// Untrash takes a message out of the trash.
func (b *Mailbox) Untrash(id string) { b.RemoveLabel(id, "TRASH") }

// Delete deletes a message for good (messagesDeleted).
func (b *Mailbox) Delete(id string) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if m := b.msgs[id]; m != nil && !m.deleted {
		m.deleted = true
		b.record("messagesDeleted", m, nil)
	}
}

// ExpireHistory forgets every history record so far: history.list from
// any history id given before answers 404, as Google does for ids about a
// week old.
func (b *Mailbox) ExpireHistory() {
	b.s.mu.Lock()
	// Unrelated changes move the mailbox's history id on meanwhile.
	b.historyID += 100
	b.floor = b.historyID
	b.history = nil
	b.s.mu.Unlock()
}

// HistoryID returns the mailbox's current history id.
func (b *Mailbox) HistoryID() uint64 {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.historyID
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request, c call) {
	b := c.box
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	live := 0
	for _, m := range b.msgs {
		if !m.deleted {
			live++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"emailAddress": b.address, "messagesTotal": live, "threadsTotal": live, "historyId": strconv.FormatUint(b.historyID, 10)})
}

// sortOrder sorts b.order newest first (internalDate, then id); the server's mu is held.
func (b *Mailbox) sortOrder() {
	if b.sorted {
		return
	}
	sort.Slice(b.order, func(i, j int) bool { return after(b.order[i], b.order[j]) })
	b.sorted = true
}

// after reports whether a sorts before b in a listing (newer first).
func after(a, b *message) bool {
	if !a.at.Equal(b.at) {
		return a.at.After(b.at)
	}
	return a.n > b.n
}

// listToken is messages.list's page token: the last message of the page.
type listToken struct {
	At int64 `json:"t"`
	N  int   `json:"n"`
}

func maxResults(q url.Values, def, most int) int {
	n, err := strconv.Atoi(q.Get("maxResults"))
	if err != nil || n <= 0 {
		return def
	}
	return min(n, most)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, c call) {
	b := c.box
	q := r.URL.Query()
	if q.Has("q") && c.metadata {
		apiError(w, http.StatusForbidden, "forbidden", "Metadata scope does not support 'q' parameter")
		return
	}
	size := maxResults(q, 100, 500)
	labels := q["labelIds"]
	spamTrash := q.Get("includeSpamTrash") == "true"
	var from *listToken
	if pt := q.Get("pageToken"); pt != "" {
		b, err := base64.RawURLEncoding.DecodeString(pt)
		var t listToken
		if err != nil || json.Unmarshal(b, &t) != nil {
			apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid pageToken")
			return
		}
		from = &t
	}
	s.mu.Lock()
	b.sortOrder()
	i := 0
	if from != nil {
		pivot := &message{at: time.UnixMilli(from.At).UTC(), n: from.N}
		i = sort.Search(len(b.order), func(k int) bool { return after(pivot, b.order[k]) })
	}
	var page []map[string]string
	var last *message
	for ; i < len(b.order) && len(page) < size; i++ {
		m := b.order[i]
		if m.deleted || !hasAll(m, labels) || (!spamTrash && (m.has("TRASH") || m.has("SPAM"))) {
			continue
		}
		page = append(page, map[string]string{"id": m.id, "threadId": m.thread})
		last = m
	}
	more := false
	for ; i < len(b.order); i++ {
		if m := b.order[i]; !m.deleted && hasAll(m, labels) && (spamTrash || !(m.has("TRASH") || m.has("SPAM"))) {
			more = true
			break
		}
	}
	s.mu.Unlock()
	out := map[string]any{"resultSizeEstimate": len(page)}
	if len(page) > 0 {
		out["messages"] = page
	}
	if more {
		b, _ := json.Marshal(listToken{At: last.at.UnixMilli(), N: last.n})
		out["nextPageToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, out)
}

func hasAll(m *message, labels []string) bool {
	for _, l := range labels {
		if !m.has(l) {
			return false
		}
	}
	return true
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, c call) {
	b := c.box
	q := r.URL.Query()
	format := strings.ToLower(q.Get("format"))
	if format == "" {
		format = "full"
	}
	if c.metadata && format != "metadata" && format != "minimal" {
		apiError(w, http.StatusForbidden, "forbidden", "Metadata scope doesn't allow format "+strings.ToUpper(format))
		return
	}
	s.mu.Lock()
	m := b.msgs[r.PathValue("id")]
	if m == nil || m.deleted {
		s.mu.Unlock()
		apiError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	out := map[string]any{
		"id": m.id, "threadId": m.thread, "labelIds": slices.Clone(m.labels), "historyId": strconv.FormatUint(b.historyID, 10),
		"internalDate": strconv.FormatInt(m.at.UnixMilli(), 10), "sizeEstimate": 5120 + m.n%1000,
	}
	if !s.NoSnippet {
		out["snippet"] = fmt.Sprintf("Hi Ann, here are the figures for week %d &amp; the plan we discussed. Kind regards, Megan", m.n%52)
	}
	if format == "metadata" || format == "full" {
		all := []map[string]string{
			{"name": "Delivered-To", "value": b.address},
			{"name": "Date", "value": m.at.Format(time.RFC1123Z)},
			{"name": "From", "value": fmt.Sprintf("Megan Bowen <megan%d@example.test>", m.n%50)},
			{"name": "To", "value": "Ann Example <" + b.address + ">"},
			{"name": "Cc", "value": `"Wilber, Alex" <alex@fabrikam.test>, lee@fabrikam.test`},
			{"name": "Subject", "value": fmt.Sprintf("Quarterly review %d", m.n)},
			{"name": "Message-ID", "value": fmt.Sprintf("<CAF%d.%s@mail.example.test>", m.n, m.id)},
		}
		if m.has(Sent) {
			all[2]["value"] = "Ann Example <" + b.address + ">"
			all[3]["value"] = fmt.Sprintf("megan%d@example.test", m.n%50)
		}
		want := q["metadataHeaders"]
		var hs []map[string]string
		for _, h := range all {
			if len(want) == 0 || slices.ContainsFunc(want, func(x string) bool { return strings.EqualFold(x, h["name"]) }) {
				hs = append(hs, h)
			}
		}
		payload := map[string]any{"partId": "", "mimeType": "multipart/alternative", "filename": "", "headers": hs, "body": map[string]int{"size": 0}}
		if format == "full" {
			text := "Hi Ann,\r\nhere are the figures.\r\n"
			payload["mimeType"] = "text/plain"
			payload["body"] = map[string]any{"size": len(text), "data": base64.URLEncoding.EncodeToString([]byte(text))}
		}
		out["payload"] = payload
	}
	if format == "raw" {
		raw := fmt.Sprintf("From: megan%d@example.test\r\nTo: %s\r\nSubject: Quarterly review %d\r\n\r\nHi Ann,\r\n", m.n%50, b.address, m.n)
		out["raw"] = base64.URLEncoding.EncodeToString([]byte(raw))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// historyToken is history.list's page token: the index of the next record
// and the start it belongs to.
type historyToken struct {
	Start uint64 `json:"s"`
	Next  uint64 `json:"n"`
}

func (s *Server) historyList(w http.ResponseWriter, r *http.Request, c call) {
	b := c.box
	q := r.URL.Query()
	start, err := strconv.ParseUint(q.Get("startHistoryId"), 10, 64)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid startHistoryId")
		return
	}
	size := maxResults(q, 100, 500)
	types := map[string]bool{}
	for _, t := range q["historyTypes"] {
		switch t {
		case "messageAdded", "messageDeleted", "labelAdded", "labelRemoved":
			types[strings.Replace(strings.Replace(t, "message", "messages", 1), "label", "labels", 1)] = true
		default:
			apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid value for historyTypes: "+t)
			return
		}
	}
	label := q.Get("labelId")
	from := start
	if pt := q.Get("pageToken"); pt != "" {
		b, err := base64.RawURLEncoding.DecodeString(pt)
		var t historyToken
		if err != nil || json.Unmarshal(b, &t) != nil || t.Start != start {
			apiError(w, http.StatusBadRequest, "invalidArgument", "Invalid pageToken")
			return
		}
		from = t.Next
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if start < b.floor || start > b.historyID {
		apiError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	var out []map[string]any
	i := sort.Search(len(b.history), func(k int) bool { return b.history[k].id > from })
	for ; i < len(b.history) && len(out) < size; i++ {
		rec := b.history[i]
		if len(types) > 0 && !types[rec.kind] {
			continue
		}
		if label != "" && !slices.Contains(rec.labels, label) && !slices.Contains(rec.changed, label) {
			continue
		}
		ref := map[string]any{"id": rec.msg, "threadId": rec.thread, "labelIds": rec.labels}
		entry := map[string]any{"message": ref}
		if rec.changed != nil {
			entry["labelIds"] = rec.changed
		}
		out = append(out, map[string]any{
			"id":       strconv.FormatUint(rec.id, 10),
			"messages": []map[string]string{{"id": rec.msg, "threadId": rec.thread}},
			rec.kind:   []map[string]any{entry},
		})
	}
	resp := map[string]any{"historyId": strconv.FormatUint(b.historyID, 10)}
	if len(out) > 0 {
		resp["history"] = out
	}
	if i < len(b.history) {
		b, _ := json.Marshal(historyToken{Start: start, Next: b.history[i-1].id})
		resp["nextPageToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, resp)
}
