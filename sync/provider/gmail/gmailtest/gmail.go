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

// record appends a history record; s.mu is held.
func (s *Server) record(kind string, m *message, changed []string) {
	s.historyID++
	s.history = append(s.history, record{id: s.historyID, kind: kind, msg: m.id, thread: m.thread, labels: slices.Clone(m.labels), changed: changed})
}

// Add adds n messages with labels, received at `at` (internalDate), and
// returns their ids. Every third message continues the thread of the one
// before.
func (s *Server) Add(labels []string, n int, at time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, n)
	for range n {
		s.seq++
		m := &message{id: fmt.Sprintf("18c%013x", s.seq), labels: slices.Clone(labels), at: at.UTC().Truncate(time.Millisecond), n: s.seq}
		m.thread = m.id
		if s.seq%3 == 0 {
			m.thread = fmt.Sprintf("18c%013x", s.seq-1)
		}
		s.msgs[m.id] = m
		s.order = append(s.order, m)
		s.sorted = false
		s.record("messagesAdded", m, nil)
		ids = append(ids, m.id)
	}
	return ids
}

// SendToSelf adds a message sent to oneself: it carries INBOX and SENT.
func (s *Server) SendToSelf(at time.Time) string {
	return s.Add([]string{Inbox, Sent, "UNREAD"}, 1, at)[0]
}

// AddLabel adds a label to a message (STARRED, INBOX, …).
func (s *Server) AddLabel(id, l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.msgs[id]; m != nil && !m.deleted && !m.has(l) {
		m.labels = append(m.labels, l)
		s.record("labelsAdded", m, []string{l})
	}
}

// RemoveLabel removes a label from a message; RemoveLabel(id, INBOX) is
// archiving it (moving it out of the Inbox).
func (s *Server) RemoveLabel(id, l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.msgs[id]; m != nil && !m.deleted && m.has(l) {
		m.labels = slices.DeleteFunc(m.labels, func(x string) bool { return x == l })
		s.record("labelsRemoved", m, []string{l})
	}
}

// Trash moves a message to the trash: it gains TRASH and keeps its other
// labels, so a client must treat TRASH as out of every folder.
func (s *Server) Trash(id string) { s.AddLabel(id, "TRASH") }

// Untrash takes a message out of the trash.
func (s *Server) Untrash(id string) { s.RemoveLabel(id, "TRASH") }

// Delete deletes a message for good (messagesDeleted).
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.msgs[id]; m != nil && !m.deleted {
		m.deleted = true
		s.record("messagesDeleted", m, nil)
	}
}

// ExpireHistory forgets every history record so far: history.list from
// any history id given before answers 404, as Google does for ids about a
// week old.
func (s *Server) ExpireHistory() {
	s.mu.Lock()
	// Unrelated changes move the mailbox's history id on meanwhile.
	s.historyID += 100
	s.floor = s.historyID
	s.history = nil
	s.mu.Unlock()
}

// HistoryID returns the mailbox's current history id.
func (s *Server) HistoryID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.historyID
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := 0
	for _, m := range s.msgs {
		if !m.deleted {
			live++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"emailAddress": s.Address, "messagesTotal": live, "threadsTotal": live, "historyId": strconv.FormatUint(s.historyID, 10)})
}

// sortOrder sorts s.order newest first (internalDate, then id); s.mu is held.
func (s *Server) sortOrder() {
	if s.sorted {
		return
	}
	sort.Slice(s.order, func(i, j int) bool { return after(s.order[i], s.order[j]) })
	s.sorted = true
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

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("q") {
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
	s.sortOrder()
	i := 0
	if from != nil {
		pivot := &message{at: time.UnixMilli(from.At).UTC(), n: from.N}
		i = sort.Search(len(s.order), func(k int) bool { return after(pivot, s.order[k]) })
	}
	var page []map[string]string
	var last *message
	for ; i < len(s.order) && len(page) < size; i++ {
		m := s.order[i]
		if m.deleted || !hasAll(m, labels) || (!spamTrash && (m.has("TRASH") || m.has("SPAM"))) {
			continue
		}
		page = append(page, map[string]string{"id": m.id, "threadId": m.thread})
		last = m
	}
	more := false
	for ; i < len(s.order); i++ {
		if m := s.order[i]; !m.deleted && hasAll(m, labels) && (spamTrash || !(m.has("TRASH") || m.has("SPAM"))) {
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

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := strings.ToLower(q.Get("format"))
	if format == "" {
		format = "full"
	}
	if format != "metadata" && format != "minimal" {
		apiError(w, http.StatusForbidden, "forbidden", "Metadata scope doesn't allow format "+strings.ToUpper(format))
		return
	}
	s.mu.Lock()
	m := s.msgs[r.PathValue("id")]
	if m == nil || m.deleted {
		s.mu.Unlock()
		apiError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	out := map[string]any{
		"id": m.id, "threadId": m.thread, "labelIds": slices.Clone(m.labels), "historyId": strconv.FormatUint(s.historyID, 10),
		"internalDate": strconv.FormatInt(m.at.UnixMilli(), 10), "sizeEstimate": 5120 + m.n%1000,
	}
	if !s.NoSnippet {
		out["snippet"] = fmt.Sprintf("Hi Ann, here are the figures for week %d &amp; the plan we discussed. Kind regards, Megan", m.n%52)
	}
	if format == "metadata" {
		all := []map[string]string{
			{"name": "Delivered-To", "value": s.Address},
			{"name": "Date", "value": m.at.Format(time.RFC1123Z)},
			{"name": "From", "value": fmt.Sprintf("Megan Bowen <megan%d@example.test>", m.n%50)},
			{"name": "To", "value": "Ann Example <" + s.Address + ">"},
			{"name": "Cc", "value": `"Wilber, Alex" <alex@fabrikam.test>, lee@fabrikam.test`},
			{"name": "Subject", "value": fmt.Sprintf("Quarterly review %d", m.n)},
			{"name": "Message-ID", "value": fmt.Sprintf("<CAF%d.%s@mail.example.test>", m.n, m.id)},
		}
		if m.has(Sent) {
			all[2]["value"] = "Ann Example <" + s.Address + ">"
			all[3]["value"] = fmt.Sprintf("megan%d@example.test", m.n%50)
		}
		want := q["metadataHeaders"]
		var hs []map[string]string
		for _, h := range all {
			if len(want) == 0 || slices.ContainsFunc(want, func(x string) bool { return strings.EqualFold(x, h["name"]) }) {
				hs = append(hs, h)
			}
		}
		out["payload"] = map[string]any{"partId": "", "mimeType": "multipart/alternative", "filename": "", "headers": hs, "body": map[string]int{"size": 0}}
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

func (s *Server) historyList(w http.ResponseWriter, r *http.Request) {
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
	if start < s.floor || start > s.historyID {
		apiError(w, http.StatusNotFound, "notFound", "Requested entity was not found.")
		return
	}
	var out []map[string]any
	i := sort.Search(len(s.history), func(k int) bool { return s.history[k].id > from })
	for ; i < len(s.history) && len(out) < size; i++ {
		rec := s.history[i]
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
	resp := map[string]any{"historyId": strconv.FormatUint(s.historyID, 10)}
	if len(out) > 0 {
		resp["history"] = out
	}
	if i < len(s.history) {
		b, _ := json.Marshal(historyToken{Start: start, Next: s.history[i-1].id})
		resp["nextPageToken"] = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, resp)
}
