package graph

import (
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// The fuzz targets run their seeds in every `go test`; fuzz locally with
// go test -fuzz=FuzzParseMail -fuzztime=30s ./sync/provider/graph/

func checkParsed(t *testing.T, p parsed) {
	for _, c := range p.changes {
		if c.Item.ProviderID == "" {
			t.Fatal("a change without a provider id")
		}
		if !c.Deleted && c.Item.Time.IsZero() {
			t.Fatal("an item without a time")
		}
		if len([]rune(c.Item.Preview)) > previewLen {
			t.Fatal("preview too long")
		}
	}
}

func FuzzParseMail(f *testing.F) {
	f.Add([]byte(`{"@odata.nextLink":"https://graph.microsoft.com/v1.0/me/mailFolders/inbox/messages/delta?$skiptoken=x","value":[{"id":"AAMk1","receivedDateTime":"2026-11-20T11:00:00Z","subject":"Hi","from":{"emailAddress":{"name":"M","address":"m@x.test"}},"toRecipients":[{"emailAddress":{"address":"a@x.test"}}],"bodyPreview":"text"},{"id":"AAMk2","@removed":{"reason":"deleted"}}]}`))
	f.Add([]byte(`{"@odata.deltaLink":"https://graph.microsoft.com/v1.0/x?$deltatoken=y","value":[]}`))
	f.Add([]byte(`{"value":[{"id":"x","receivedDateTime":"nope"},{"subject":"no id"}]}`))
	f.Add([]byte(`{"value":[{"id":"x","from":null,"toRecipients":null,"sentDateTime":"2026-01-01T00:00:00.123+02:00"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, folder := range []api.Folder{api.Inbox, api.Sent} {
			if p, err := parseMail(folder, body); err == nil {
				checkParsed(t, p)
			}
		}
	})
}

func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"@odata.deltaLink":"https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=z","value":[{"id":"AAMkE","subject":"Review","start":{"dateTime":"2026-11-23T12:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-11-23T13:00:00.0000000","timeZone":"UTC"},"location":{"displayName":"Room"},"organizer":{"emailAddress":{"address":"o@x.test"}},"attendees":[{"type":"required","emailAddress":{"address":"a@x.test"}}]},{"id":"AAMkF","@removed":{"reason":"deleted"}}]}`))
	f.Add([]byte(`{"value":[{"id":"e","start":{"dateTime":"2026-11-23T12:00:00","timeZone":"Europe/Paris"}},{"id":"f","start":{"dateTime":"x","timeZone":"Pacific Standard Time"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if p, err := parseEvents(body); err == nil {
			checkParsed(t, p)
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(`{"v":1,"link":"https://graph.microsoft.com/v1.0/me/calendarView/delta?$deltatoken=z","done":true,"win":"2026-11-06"}`)
	f.Add(`{"v":2}`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err == nil {
			if c.Link == "" {
				t.Fatal("cursor without a link")
			}
			if d, err := decodeCursor(c.encode()); err != nil || d != c {
				t.Fatal("cursor does not round-trip")
			}
		}
	})
}
