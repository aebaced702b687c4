package gmail

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// The fuzz targets run their seeds in every `go test`; fuzz locally with
// go test -fuzz=FuzzParseMessage -fuzztime=20s ./sync/provider/gmail/

func checkChanges(t *testing.T, chs []provider.Change) {
	for _, c := range chs {
		if c.Item.ProviderID == "" {
			t.Fatal("a change without a provider id")
		}
		if !c.Deleted && c.Item.Time.IsZero() {
			t.Fatal("an item without a time")
		}
		if utf8.RuneCountInString(c.Item.Preview) > previewLen {
			t.Fatal("preview too long")
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"id":"18c1","threadId":"18c0","labelIds":["INBOX","UNREAD","Label_1","Label_2","Label_9"],"snippet":"Hi &amp; welcome","internalDate":"1763636400000","payload":{"headers":[{"name":"Subject","value":"Hi"},{"name":"From","value":"Megan <m@x.test>"},{"name":"To","value":"a@x.test, \"B, C\" <b@x.test>"},{"name":"Cc","value":"broken <<"},{"name":"Message-ID","value":"<x@y>"}]}}`))
	f.Add([]byte(`{"id":"18c2","internalDate":"nope","payload":{"headers":[{"name":"date","value":"Thu, 20 Nov 2026 12:00:00 +0100"}]}}`))
	f.Add([]byte(`{"id":"","internalDate":"-5"}`))
	f.Add([]byte(`{"id":"18c3","internalDate":"99999999999999999999","payload":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseMessage(body)
		if err != nil {
			return
		}
		for _, folder := range []api.Folder{api.Inbox, api.Sent} {
			it, err := toItem(folder, &m, map[string]string{"Label_1": "Private\nmail", "Label_2": ""})
			if err != nil {
				continue
			}
			checkChanges(t, []provider.Change{{Item: it}})
			for _, c := range it.Categories {
				if c == "" || strings.ContainsAny(c, "\r\n") {
					t.Fatalf("category %q", c)
				}
			}
			if it.ProviderID != m.ID || it.Folder != folder {
				t.Fatal("item does not match the message")
			}
		}
	})
}

func FuzzParseMessageList(f *testing.F) {
	f.Add([]byte(`{"messages":[{"id":"18c1","threadId":"18c1"},{"id":"18c2","threadId":"18c1"}],"nextPageToken":"0934","resultSizeEstimate":2}`))
	f.Add([]byte(`{"resultSizeEstimate":0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if l, err := parseMessageList(body); err == nil {
			for _, m := range l.Messages {
				_ = validID(m.ID)
			}
		}
	})
}

func FuzzParseHistory(f *testing.F) {
	f.Add([]byte(`{"history":[{"id":"1001","messages":[{"id":"a","threadId":"a"}],"messagesAdded":[{"message":{"id":"a","threadId":"a","labelIds":["INBOX","SENT"]}}]},{"id":"1002","labelsRemoved":[{"message":{"id":"a","labelIds":["SENT"]},"labelIds":["INBOX"]}]},{"id":"1003","messagesDeleted":[{"message":{"id":"b"}}]},{"id":"1004","labelsAdded":[{"message":{"id":"c","labelIds":["INBOX"]},"labelIds":["INBOX"]}]}],"nextPageToken":"x","historyId":"1004"}`))
	f.Add([]byte(`{"historyId":"77"}`))
	f.Add([]byte(`{"historyId":"-1"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := parseHistory(body)
		if err != nil {
			return
		}
		if h.HistoryID != "" && !validHistoryID(h.HistoryID) {
			t.Fatal("an invalid history id accepted")
		}
		for _, l := range []string{"INBOX", "SENT"} {
			ids, present := historyChanges(h.History, l)
			if len(ids) != len(present) {
				t.Fatal("ids and their states disagree")
			}
			for _, id := range ids {
				if id == "" {
					t.Fatal("an empty id")
				}
				if _, ok := present[id]; !ok {
					t.Fatal("an id without a state")
				}
			}
		}
	})
}

func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"kind":"calendar#events","nextSyncToken":"CPD","items":[{"id":"e1","status":"confirmed","summary":"Review","description":"x","location":"Room","iCalUID":"e1@google.com","start":{"dateTime":"2026-11-23T12:00:00+01:00","timeZone":"Europe/Paris"},"end":{"dateTime":"2026-11-23T13:00:00+01:00"},"organizer":{"email":"o@x.test"},"attendees":[{"email":"a@x.test"},{"displayName":"B"}]},{"id":"e2","status":"cancelled"},{"id":"e3","start":{"date":"2026-11-25"},"end":{"date":"2026-11-27"}}]}`))
	f.Add([]byte(`{"nextPageToken":"p","items":[{"id":"e4","start":{"dateTime":"bad"}},{"summary":"no id"},{"id":"e5","start":{"date":"2026-11-25"},"end":{"date":"2026-11-20"}}]}`))
	start := time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		p, l, err := parseEvents(body, start, windowEnd(start))
		if err != nil {
			return
		}
		checkChanges(t, p.changes)
		if len(p.changes)+len(p.issues) != len(l.Items) {
			t.Fatal("an event neither changed nor reported")
		}
		for _, c := range p.changes {
			if !c.Deleted && (c.Item.End.Before(c.Item.Start) || !inWindow(c.Item.Start, c.Item.End, start, windowEnd(start))) {
				t.Fatal("an event outside the window or ending before it starts")
			}
		}
	})
}

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(`{"emailAddress":"ann@example.test","messagesTotal":5,"threadsTotal":4,"historyId":"1234"}`))
	f.Add([]byte(`{"emailAddress":"","historyId":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if p, err := parseProfile(body); err == nil && (p.EmailAddress == "" || !validHistoryID(p.HistoryID)) {
			t.Fatal("an incomplete profile accepted")
		}
	})
}

func FuzzParseAPIError(f *testing.F) {
	f.Add(403, []byte(`{"error":{"code":403,"message":"Quota exceeded","errors":[{"message":"m","domain":"usageLimits","reason":"rateLimitExceeded"}],"status":"PERMISSION_DENIED"}}`))
	f.Add(403, []byte(`{"error":{"code":403,"message":"Request had insufficient authentication scopes.","errors":[{"reason":"insufficientPermissions"}],"details":[{"reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT"}]}}`))
	f.Add(410, []byte(`{"error":{"errors":[{"domain":"global","reason":"fullSyncRequired","message":"Sync token is no longer valid, a full sync is required."}],"code":410}}`))
	f.Add(502, []byte(`<html>Bad Gateway</html>`))
	p := &Provider{now: time.Now}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		e := parseAPIError(status, body)
		if e.Status != status || len(e.Reasons) > 8 {
			t.Fatal("bad APIError")
		}
		for _, call := range []callKind{callList, callHistory, callEvents} {
			err := p.classify(e, call, "")
			if err == nil {
				t.Fatal("no error")
			}
			c := provider.Classify(err)
			if c == provider.ClassThrottled && provider.RetryAfter(err) <= 0 {
				t.Fatal("throttled without a wait")
			}
			if status == http.StatusTooManyRequests && c != provider.ClassThrottled {
				t.Fatal("429 not throttled")
			}
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(`{"v":1,"h":"1234","l":true,"p":"tok","s":1760000000000}`, false)
	f.Add(`{"v":1,"h":"1234"}`, false)
	f.Add(`{"v":1,"win":"2026-11-06","sync":"CPD"}`, true)
	f.Add(`{"v":1,"win":"2026-11-06","p":"x"}`, true)
	f.Add(`{"v":1,"win":"2026-11-16","sync":"CPE","fill":"2027-01-20","p":"y"}`, true)
	f.Fuzz(func(t *testing.T, s string, calendar bool) {
		c, err := decodeCursor(s, calendar)
		if err != nil {
			return
		}
		d, err := decodeCursor(c.encode(), calendar)
		if err != nil || d != c {
			t.Fatal("cursor does not round-trip")
		}
		if !calendar && !validHistoryID(c.History) {
			t.Fatal("mail cursor without a history id")
		}
	})
}

func FuzzParseBatch(f *testing.F) {
	ok := "--b1\r\nContent-Type: application/http\r\nContent-ID: <response-item1>\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{}\r\n" +
		"--b1\r\nContent-Type: application/http\r\nContent-ID: <response-item0>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: 11\r\n\r\n{\"id\":\"a\"}\n\r\n--b1--\r\n"
	f.Add("multipart/mixed; boundary=b1", []byte(ok), 2)
	f.Add("multipart/mixed; boundary=b1", []byte("--b1--\r\n"), 1)
	f.Add("application/json", []byte(`{"error":{}}`), 1)
	f.Fuzz(func(t *testing.T, ct string, body []byte, n int) {
		if n < 0 || n > MaxBatch {
			return
		}
		parts, err := parseBatch(ct, body, n)
		if err != nil {
			return
		}
		if len(parts) != n {
			t.Fatal("wrong number of parts")
		}
		for _, p := range parts {
			if p.status == 0 {
				t.Fatal("a call without an answer")
			}
		}
	})
}
