package graph

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// The wire shapes of Graph's delta answers, limited to what is stored.

type emailAddress struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type recipient struct {
	EmailAddress emailAddress `json:"emailAddress"`
}

func (r *recipient) String() string {
	if r == nil {
		return ""
	}
	if r.EmailAddress.Address != "" {
		return r.EmailAddress.Address
	}
	return r.EmailAddress.Name
}

func addresses(rs []recipient) []string {
	if len(rs) == 0 {
		return nil
	}
	out := make([]string, 0, len(rs))
	for i := range rs {
		if s := rs[i].String(); s != "" {
			out = append(out, s)
		}
	}
	return out
}

type removed struct {
	Reason string `json:"reason"`
}

type message struct {
	ID                string      `json:"id"`
	Removed           *removed    `json:"@removed"`
	InternetMessageID string      `json:"internetMessageId"`
	ConversationID    string      `json:"conversationId"`
	Subject           string      `json:"subject"`
	From              *recipient  `json:"from"`
	ToRecipients      []recipient `json:"toRecipients"`
	CcRecipients      []recipient `json:"ccRecipients"`
	ReceivedDateTime  string      `json:"receivedDateTime"`
	SentDateTime      string      `json:"sentDateTime"`
	BodyPreview       string      `json:"bodyPreview"`
	Sensitivity       string      `json:"sensitivity"`
	Categories        []string    `json:"categories"`
}

type dateTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type attendee struct {
	EmailAddress emailAddress `json:"emailAddress"`
}

type event struct {
	ID          string        `json:"id"`
	Removed     *removed      `json:"@removed"`
	ICalUID     string        `json:"iCalUId"`
	Subject     string        `json:"subject"`
	BodyPreview string        `json:"bodyPreview"`
	Start       *dateTimeZone `json:"start"`
	End         *dateTimeZone `json:"end"`
	Location    *struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	Organizer   *recipient `json:"organizer"`
	Attendees   []attendee `json:"attendees"`
	Sensitivity string     `json:"sensitivity"`
	Categories  []string   `json:"categories"`
}

type mailPage struct {
	NextLink  string    `json:"@odata.nextLink"`
	DeltaLink string    `json:"@odata.deltaLink"`
	Value     []message `json:"value"`
}

type eventPage struct {
	NextLink  string  `json:"@odata.nextLink"`
	DeltaLink string  `json:"@odata.deltaLink"`
	Value     []event `json:"value"`
}

// parsed is one decoded delta page.
type parsed struct {
	changes   []provider.Change
	issues    []api.ItemIssue
	nextLink  string
	deltaLink string
}

// noItem records a delta entry that carries no item to store — one
// without an id (an issue) or one marked @removed (a deletion) — and
// reports whether the entry was one.
func (p *parsed) noItem(id string, removed bool, folder api.Folder, kind api.Kind) bool {
	switch {
	case id == "":
		what := "a message"
		if kind == api.KindEvent {
			what = "an event"
		}
		p.issues = append(p.issues, api.ItemIssue{Folder: folder, Message: "Graph returned " + what + " without an id; it was skipped."})
	case removed:
		p.changes = append(p.changes, provider.Change{Deleted: true, Item: api.Item{ProviderID: id, Folder: folder, Kind: kind}})
	default:
		return false
	}
	return true
}

// previewLen bounds the stored preview, in runes (Graph's bodyPreview is
// at most 255 characters already).
const previewLen = 255

func preview(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= previewLen {
		return s
	}
	r := []rune(s)
	return string(r[:previewLen])
}

func parseTime(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}

// graphLocal is Graph's dateTime without offset ("2026-11-20T09:00:00.0000000").
const graphLocal = "2006-01-02T15:04:05.9999999"

func parseZoned(d *dateTimeZone) (time.Time, error) {
	if d == nil || d.DateTime == "" {
		return time.Time{}, errors.New("no time")
	}
	loc := time.UTC
	if tz := d.TimeZone; tz != "" && !strings.EqualFold(tz, "UTC") {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return time.Time{}, fmt.Errorf("unknown time zone %q", tz)
		}
		loc = l
	}
	t, err := time.ParseInLocation(graphLocal, d.DateTime, loc)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// parseMail decodes a messages delta page of folder.
func parseMail(folder api.Folder, body []byte) (parsed, error) {
	var mp mailPage
	if err := decodePage(body, func(d *jsonDecoder) error { return readMailPage(d, &mp) }); err != nil {
		return parsed{}, fmt.Errorf("reading a Graph messages page: %w", err)
	}
	out := parsed{nextLink: mp.NextLink, deltaLink: mp.DeltaLink, changes: make([]provider.Change, 0, len(mp.Value))}
	for i := range mp.Value {
		m := &mp.Value[i]
		if out.noItem(m.ID, m.Removed != nil, folder, api.KindMail) {
			continue
		}
		stamp := m.ReceivedDateTime
		if folder == api.Sent && m.SentDateTime != "" {
			stamp = m.SentDateTime
		}
		if stamp == "" {
			stamp = m.SentDateTime
		}
		t, err := parseTime(stamp)
		if err != nil {
			out.issues = append(out.issues, api.ItemIssue{ProviderID: m.ID, Folder: folder, Message: "The message has no readable date; it was skipped."})
			continue
		}
		out.changes = append(out.changes, provider.Change{Item: api.Item{
			ProviderID: m.ID, Folder: folder, Kind: api.KindMail,
			MessageID: m.InternetMessageID, ConversationID: m.ConversationID,
			Subject: m.Subject, From: m.From.String(), To: addresses(m.ToRecipients), Cc: addresses(m.CcRecipients),
			Time: t, Preview: preview(m.BodyPreview),
			Sensitivity: provider.Sensitivity(m.Sensitivity), Categories: provider.Categories(m.Categories),
		}})
	}
	return out, nil
}

// parseEvents decodes a calendarView delta page.
func parseEvents(body []byte) (parsed, error) {
	var ep eventPage
	if err := decodePage(body, func(d *jsonDecoder) error { return readEventPage(d, &ep) }); err != nil {
		return parsed{}, fmt.Errorf("reading a Graph calendar page: %w", err)
	}
	folder := api.Calendar
	out := parsed{nextLink: ep.NextLink, deltaLink: ep.DeltaLink, changes: make([]provider.Change, 0, len(ep.Value))}
	for i := range ep.Value {
		e := &ep.Value[i]
		if out.noItem(e.ID, e.Removed != nil, folder, api.KindEvent) {
			continue
		}
		start, err := parseZoned(e.Start)
		if err != nil {
			out.issues = append(out.issues, api.ItemIssue{ProviderID: e.ID, Folder: folder, Message: "The event has no readable start time; it was skipped."})
			continue
		}
		end, _ := parseZoned(e.End)
		it := api.Item{
			ProviderID: e.ID, Folder: folder, Kind: api.KindEvent, ConversationID: e.ICalUID,
			Subject: e.Subject, Time: start, Start: start, End: end, Preview: preview(e.BodyPreview),
			Organizer:   e.Organizer.String(),
			Sensitivity: provider.Sensitivity(e.Sensitivity), Categories: provider.Categories(e.Categories),
		}
		if e.Location != nil {
			it.Location = e.Location.DisplayName
		}
		for j := range e.Attendees {
			a := recipient(e.Attendees[j])
			if s := a.String(); s != "" {
				it.Attendees = append(it.Attendees, s)
			}
		}
		out.changes = append(out.changes, provider.Change{Item: it})
	}
	return out, nil
}
