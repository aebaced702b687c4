package gmail

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// The wire shapes of the Gmail and Calendar answers, limited to what is
// stored.

// profile is users.getProfile's answer.
type profile struct {
	EmailAddress string `json:"emailAddress"`
	HistoryID    string `json:"historyId"`
}

// messageRef is a message as messages.list and history.list name it.
type messageRef struct {
	ID       string   `json:"id"`
	ThreadID string   `json:"threadId"`
	LabelIDs []string `json:"labelIds"`
}

func (m *messageRef) has(label string) bool {
	for _, l := range m.LabelIDs {
		if l == label {
			return true
		}
	}
	return false
}

// messageList is messages.list's answer.
type messageList struct {
	Messages      []messageRef `json:"messages"`
	NextPageToken string       `json:"nextPageToken"`
}

type header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// message is messages.get?format=metadata's answer.
type message struct {
	ID           string   `json:"id"`
	ThreadID     string   `json:"threadId"`
	LabelIDs     []string `json:"labelIds"`
	Snippet      string   `json:"snippet"`
	InternalDate string   `json:"internalDate"` // ms since the epoch, as a string
	Payload      struct {
		Headers []header `json:"headers"`
	} `json:"payload"`
}

func (m *message) header(name string) string {
	for _, h := range m.Payload.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func (m *message) has(label string) bool {
	r := messageRef{LabelIDs: m.LabelIDs}
	return r.has(label)
}

// in reports whether the message shows in the folder of label: it carries
// the label and is not in the trash or spam (which Gmail's folders, and
// messages.list, leave out).
func (m *message) in(label string) bool {
	return m.has(label) && !m.has(labelTrash) && !m.has(labelSpam)
}

// The labels that hide a message from every folder.
const (
	labelTrash = "TRASH"
	labelSpam  = "SPAM"
)

// labelChange is a labelsAdded or labelsRemoved entry of a history record.
type labelChange struct {
	Message  messageRef `json:"message"`
	LabelIDs []string   `json:"labelIds"`
}

type messageEntry struct {
	Message messageRef `json:"message"`
}

// historyRecord is one entry of history.list.
type historyRecord struct {
	ID              string         `json:"id"`
	MessagesAdded   []messageEntry `json:"messagesAdded"`
	MessagesDeleted []messageEntry `json:"messagesDeleted"`
	LabelsAdded     []labelChange  `json:"labelsAdded"`
	LabelsRemoved   []labelChange  `json:"labelsRemoved"`
}

// historyList is history.list's answer.
type historyList struct {
	History       []historyRecord `json:"history"`
	NextPageToken string          `json:"nextPageToken"`
	HistoryID     string          `json:"historyId"`
}

// apiErrorBody is Google's error answer:
// {"error":{"code","message","status","errors":[{"domain","reason","message"}],"details":[{"reason"}]}}.
type apiErrorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Errors  []struct {
			Domain  string `json:"domain"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"errors"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

// previewLen bounds the stored preview, in runes.
const previewLen = 255

// preview collapses white space and cuts s to previewLen runes.
func preview(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= previewLen {
		return s
	}
	return string([]rune(s)[:previewLen])
}

// validID reports whether id can be a Gmail or Calendar id: the provider
// puts ids in URL paths, so only these characters are accepted.
func validID(id string) bool {
	if id == "" || len(id) > 1024 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '@') {
			return false
		}
	}
	return true
}

// validHistoryID reports whether s is a history id (a decimal uint64).
func validHistoryID(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// parseProfile decodes users.getProfile.
func parseProfile(body []byte) (profile, error) {
	var p profile
	if err := json.Unmarshal(body, &p); err != nil {
		return profile{}, fmt.Errorf("reading the Gmail profile: %w", err)
	}
	if p.EmailAddress == "" || !validHistoryID(p.HistoryID) {
		return profile{}, errors.New("the Gmail profile has no address or history id")
	}
	return p, nil
}

// parseMessageList decodes messages.list.
func parseMessageList(body []byte) (messageList, error) {
	var l messageList
	if err := json.Unmarshal(body, &l); err != nil {
		return messageList{}, fmt.Errorf("reading a Gmail message list: %w", err)
	}
	return l, nil
}

// parseHistory decodes history.list.
func parseHistory(body []byte) (historyList, error) {
	var h historyList
	if err := json.Unmarshal(body, &h); err != nil {
		return historyList{}, fmt.Errorf("reading a Gmail history page: %w", err)
	}
	if h.HistoryID != "" && !validHistoryID(h.HistoryID) {
		return historyList{}, fmt.Errorf("the Gmail history page has history id %q", h.HistoryID)
	}
	return h, nil
}

// historyChanges reduces history records to what happened to each message
// in label, in the order the messages first appear: true when the message
// came into label (or out of the trash or spam) and must be read, false
// when it left label, went to the trash or spam, or was deleted. A user
// label added or removed (a category) makes a message in label read again;
// changes of other system labels (read, starred) are left out: nothing
// stored depends on them. The message read afterwards has the last word.
func historyChanges(records []historyRecord, label string) (ids []string, present map[string]bool) {
	present = map[string]bool{}
	set := func(id string, in bool) {
		if id == "" {
			return
		}
		if _, seen := present[id]; !seen {
			ids = append(ids, id)
		}
		present[id] = in
	}
	contains := func(ls []string) bool {
		r := messageRef{LabelIDs: ls}
		return r.has(label)
	}
	hidden := func(ls []string) bool {
		r := messageRef{LabelIDs: ls}
		return r.has(labelTrash) || r.has(labelSpam)
	}
	// A user label added to or removed from a message in label is a
	// change of its categories (the CRM rules read them): the message is
	// read again. Gmail names the message's labels after the change; when
	// it does not, the message is read again too (the read decides).
	userLabels := func(ls []string) bool {
		return slices.ContainsFunc(ls, func(l string) bool { return !systemLabel(l) })
	}
	markable := func(m messageRef) bool {
		return len(m.LabelIDs) == 0 || m.has(label) && !hidden(m.LabelIDs)
	}
	for i := range records {
		r := &records[i]
		for _, e := range r.MessagesAdded {
			if e.Message.has(label) && !hidden(e.Message.LabelIDs) {
				set(e.Message.ID, true)
			}
		}
		for _, e := range r.LabelsAdded {
			switch {
			case hidden(e.LabelIDs) && e.Message.has(label):
				set(e.Message.ID, false) // trashed or reported as spam
			case contains(e.LabelIDs):
				set(e.Message.ID, true)
			case userLabels(e.LabelIDs) && markable(e.Message):
				set(e.Message.ID, true) // a category: read it again
			}
		}
		for _, e := range r.LabelsRemoved {
			switch {
			case contains(e.LabelIDs):
				set(e.Message.ID, false)
			case hidden(e.LabelIDs) && e.Message.has(label):
				set(e.Message.ID, true) // back from the trash or spam
			case userLabels(e.LabelIDs) && markable(e.Message):
				set(e.Message.ID, true)
			}
		}
		for _, e := range r.MessagesDeleted {
			// The labels it had, when Gmail names them, say whether it
			// was in label; when it does not, the deletion is reported
			// (harmless for a message that was never stored).
			if len(e.Message.LabelIDs) == 0 || e.Message.has(label) {
				set(e.Message.ID, false)
			}
		}
	}
	return ids, present
}

// parseMessage decodes messages.get?format=metadata.
func parseMessage(body []byte) (message, error) {
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return message{}, fmt.Errorf("reading a Gmail message: %w", err)
	}
	return m, nil
}

// addressList returns the addresses of an address header, or the header's
// comma-separated parts when it does not parse.
func addressList(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if as, err := mail.ParseAddressList(v); err == nil {
		out := make([]string, 0, len(as))
		for _, a := range as {
			out = append(out, a.Address)
		}
		return out
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// address returns the address of a From header, or the header itself when
// it does not parse.
func address(v string) string {
	v = strings.TrimSpace(v)
	if a, err := mail.ParseAddress(v); err == nil {
		return a.Address
	}
	return v
}

// messageTime returns when the message arrived (or was sent): Gmail's
// internalDate, or the Date header when that is missing.
func messageTime(m *message) (time.Time, error) {
	if ms, err := strconv.ParseInt(m.InternalDate, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC(), nil
	}
	if d := m.header("Date"); d != "" {
		if t, err := mail.ParseDate(d); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("no readable internalDate or Date")
}

// toItem converts a message of folder. It fails when the message has no
// id or date.
func toItem(folder api.Folder, m *message, labelNames map[string]string) (api.Item, error) {
	if m.ID == "" {
		return api.Item{}, errors.New("a message without an id")
	}
	t, err := messageTime(m)
	if err != nil {
		return api.Item{}, err
	}
	subject := m.header("Subject")
	return api.Item{
		ProviderID: m.ID, Folder: folder, Kind: api.KindMail,
		MessageID: strings.TrimSpace(m.header("Message-ID")), ConversationID: m.ThreadID,
		Subject: subject, From: address(m.header("From")), To: addressList(m.header("To")), Cc: addressList(m.header("Cc")),
		Time: t, Preview: preview(html.UnescapeString(m.Snippet)),
		Categories: provider.Categories(categories(m.LabelIDs, labelNames)),
	}, nil
}

// eventTime is a Calendar start or end: dateTime for timed events, date for
// all-day ones.
type eventTime struct {
	Date     string `json:"date"`
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// parse returns the time and whether it is a date (all-day). All-day
// dates are midnight UTC of that date, so that the day never shifts.
func (e *eventTime) parse() (time.Time, bool, error) {
	if e == nil {
		return time.Time{}, false, errors.New("no time")
	}
	if e.DateTime != "" {
		t, err := time.Parse(time.RFC3339, e.DateTime)
		if err != nil {
			return time.Time{}, false, err
		}
		return t.UTC(), false, nil
	}
	if e.Date != "" {
		t, err := time.Parse(time.DateOnly, e.Date)
		return t, true, err
	}
	return time.Time{}, false, errors.New("no date or dateTime")
}

type person struct {
	Email       string `json:"email"`
	DisplayName string `json:"displayName"`
}

// String returns the address, or the display name when there is none.
func (p *person) String() string {
	if p == nil {
		return ""
	}
	if p.Email != "" {
		return p.Email
	}
	return p.DisplayName
}

// event is a Calendar event, limited to what is stored.
type event struct {
	ID          string     `json:"id"`
	Status      string     `json:"status"` // confirmed, tentative, cancelled
	Summary     string     `json:"summary"`
	Description string     `json:"description"`
	Location    string     `json:"location"`
	ICalUID     string     `json:"iCalUID"`
	Start       *eventTime `json:"start"`
	End         *eventTime `json:"end"`
	Organizer   *person    `json:"organizer"`
	Attendees   []person   `json:"attendees"`
}

// eventList is events.list's answer.
type eventList struct {
	Items         []event `json:"items"`
	NextPageToken string  `json:"nextPageToken"`
	NextSyncToken string  `json:"nextSyncToken"`
}

// parsed is one decoded page of changes.
type parsed struct {
	changes []provider.Change
	issues  []api.ItemIssue
}

// inWindow reports whether [start, end) overlaps [winStart, winEnd); an
// event without duration counts when it starts in the window.
func inWindow(start, end, winStart, winEnd time.Time) bool {
	if !start.Before(winEnd) {
		return false
	}
	return end.After(winStart) || (end.Equal(start) && !start.Before(winStart))
}

// parseEvents decodes an events.list page. Cancelled events are
// deletions; so are events outside [winStart, winEnd) (an event moved out
// of the window, reported by an incremental round, which is not limited to
// the window).
func parseEvents(body []byte, winStart, winEnd time.Time) (parsed, eventList, error) {
	var l eventList
	if err := json.Unmarshal(body, &l); err != nil {
		return parsed{}, eventList{}, fmt.Errorf("reading a Calendar events page: %w", err)
	}
	folder := api.Calendar
	out := parsed{changes: make([]provider.Change, 0, len(l.Items))}
	gone := func(id string) {
		out.changes = append(out.changes, provider.Change{Deleted: true, Item: api.Item{ProviderID: id, Folder: folder, Kind: api.KindEvent}})
	}
	for i := range l.Items {
		e := &l.Items[i]
		if e.ID == "" {
			out.issues = append(out.issues, api.ItemIssue{Folder: folder, Message: "Google Calendar returned an event without an id; it was skipped."})
			continue
		}
		if e.Status == "cancelled" {
			gone(e.ID)
			continue
		}
		start, allDay, err := e.Start.parse()
		if err != nil {
			out.issues = append(out.issues, api.ItemIssue{ProviderID: e.ID, Folder: folder, Message: "The event has no readable start time; it was skipped."})
			continue
		}
		end, _, err := e.End.parse()
		if err != nil || end.Before(start) {
			end = start
			if allDay {
				end = start.AddDate(0, 0, 1)
			}
		}
		if !inWindow(start, end, winStart, winEnd) {
			gone(e.ID)
			continue
		}
		it := api.Item{
			ProviderID: e.ID, Folder: folder, Kind: api.KindEvent, ConversationID: e.ICalUID,
			Subject: e.Summary, Time: start, Start: start, End: end, Preview: preview(e.Description),
			Location: e.Location, Organizer: e.Organizer.String(),
		}
		for j := range e.Attendees {
			if s := e.Attendees[j].String(); s != "" {
				it.Attendees = append(it.Attendees, s)
			}
		}
		out.changes = append(out.changes, provider.Change{Item: it})
	}
	return out, l, nil
}
