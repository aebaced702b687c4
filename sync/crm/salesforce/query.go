package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
)

// queryAnswer is one batch of a query's results.
type queryAnswer struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// Query runs a SOQL query and calls fn with each record, following
// nextRecordsUrl until done.
func (c *Client) Query(ctx context.Context, soql string, fn func(json.RawMessage) error) error {
	path := "query?q=" + url.QueryEscape(soql)
	for {
		var a queryAnswer
		if err := c.call(ctx, "GET", path, nil, &a); err != nil {
			return err
		}
		for _, r := range a.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if a.Done || a.NextRecordsURL == "" {
			return nil
		}
		path = a.NextRecordsURL
		if !strings.HasPrefix(path, "/services/") {
			return errBadNext
		}
	}
}

var errBadNext = errors.New("salesforce: nextRecordsUrl outside /services/")

// Quote returns s as a SOQL string literal.
func Quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`, `"`, `\"`)
	return "'" + r.Replace(s) + "'"
}

// IN lists are bounded so that query URIs stay far below Salesforce's
// 16 KB limit: at most maxInChars characters once URL-encoded, and at most
// maxAddresses addresses (DESIGN.md §5) or maxInValues other values.
const (
	maxAddresses = 50
	maxInValues  = 100
	maxInChars   = 8000
)

// inLists splits values into IN lists ("('a','b')") of at most max values
// and about maxInChars URL-encoded characters.
func inLists(values []string, max int) []string {
	var out []string
	var b strings.Builder
	n, size := 0, 0
	flush := func() {
		if n > 0 {
			out = append(out, "("+b.String()+")")
			b.Reset()
			n, size = 0, 0
		}
	}
	seen := map[string]bool{}
	for _, v := range values {
		if seen[v] {
			continue
		}
		seen[v] = true
		q := Quote(v)
		qs := len(url.QueryEscape(q)) + 3
		if n == max || (n > 0 && size+qs > maxInChars) {
			flush()
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q)
		n++
		size += qs
	}
	flush()
	return out
}

// sfTime reads a Salesforce dateTime (2026-01-02T10:00:00.000+0000).
func sfTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// FindPeople implements crm.Recorder: Contacts, then unconverted Leads,
// each by Email IN (…) of at most 50 addresses.
func (c *Client) FindPeople(ctx context.Context, addrs []string) ([]crm.Person, error) {
	type row struct{ Id, Email, AccountId string }
	var out []crm.Person
	for _, q := range []struct{ selectFrom, where, object string }{
		{"SELECT Id, Email, AccountId FROM Contact", "", crm.ObjContact},
		{"SELECT Id, Email FROM Lead", "IsConverted = false", crm.ObjLead},
	} {
		people, err := findIn(ctx, c, q.selectFrom, q.where, "Email", addrs, maxAddresses, func(r row) crm.Person {
			return crm.Person{ID: r.Id, Object: q.object, Email: r.Email, AccountID: r.AccountId}
		})
		if err != nil {
			return nil, err
		}
		out = append(out, people...)
	}
	return out, nil
}

// findIn runs "SELECT fields FROM object WHERE [where AND] field IN (…)"
// over values in bounded IN lists and decodes each record with decode.
func findIn[T, U any](ctx context.Context, c *Client, selectFrom, where, field string, values []string, max int, decode func(T) U) ([]U, error) {
	var out []U
	if where != "" {
		where += " AND "
	}
	for _, in := range inLists(values, max) {
		err := c.Query(ctx, selectFrom+" WHERE "+where+field+" IN "+in, func(raw json.RawMessage) error {
			var r T
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			out = append(out, decode(r))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindEmailMessages implements crm.Recorder.
func (c *Client) FindEmailMessages(ctx context.Context, ids []string) ([]crm.Found, error) {
	return findIn(ctx, c, "SELECT Id, MessageIdentifier FROM EmailMessage", "", "MessageIdentifier", ids, maxInValues,
		func(r struct{ Id, MessageIdentifier string }) crm.Found {
			return crm.Found{ID: r.Id, MessageIdentifier: r.MessageIdentifier}
		})
}

// FindEmailRelations implements crm.Recorder.
func (c *Client) FindEmailRelations(ctx context.Context, emailIDs []string) ([]crm.Found, error) {
	return findIn(ctx, c, "SELECT Id, EmailMessageId, RelationId, RelationType FROM EmailMessageRelation", "", "EmailMessageId", emailIDs, maxInValues,
		func(r struct{ Id, EmailMessageId, RelationId, RelationType string }) crm.Found {
			return crm.Found{ID: r.Id, EmailMessageID: r.EmailMessageId, RelationID: r.RelationId, RelationType: r.RelationType}
		})
}

type eventRow struct {
	Id, Subject, StartDateTime, ActivityDate string
	IsAllDayEvent                            bool
}

// FindEvents implements crm.Recorder: the connected user's Events.
func (c *Client) FindEvents(ctx context.Context, subjects []string) ([]crm.Found, error) {
	id, err := c.Identity()
	if err != nil {
		return nil, err
	}
	return findIn(ctx, c, "SELECT Id, Subject, StartDateTime, IsAllDayEvent, ActivityDate FROM Event", "OwnerId = "+Quote(id.UserID), "Subject", subjects, maxInValues,
		func(r eventRow) crm.Found {
			f := crm.Found{ID: r.Id, Subject: r.Subject, AllDay: r.IsAllDayEvent, Date: r.ActivityDate}
			if !r.IsAllDayEvent {
				f.Start = sfTime(r.StartDateTime)
			}
			return f
		})
}

// FindTasks implements crm.Recorder: WhoId IN (…) AND Subject IN (…)
// over groups of keys that together stay within the IN list bounds, so
// that the queries grow with the number of keys, not with its square.
func (c *Client) FindTasks(ctx context.Context, keys []crm.TaskKey) ([]crm.Found, error) {
	var out []crm.Found
	query := func(whos, subjects []string) error {
		w, s := inLists(whos, maxInValues), inLists(subjects, maxInValues)
		if len(w) != 1 || len(s) != 1 {
			return fmt.Errorf("salesforce: task lookup group too large")
		}
		return c.Query(ctx, "SELECT Id, Subject, ActivityDate, WhoId FROM Task WHERE WhoId IN "+w[0]+" AND Subject IN "+s[0], func(raw json.RawMessage) error {
			var r struct{ Id, Subject, ActivityDate, WhoId string }
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			out = append(out, crm.Found{ID: r.Id, Subject: r.Subject, Date: r.ActivityDate, WhoID: r.WhoId})
			return nil
		})
	}
	var whos, subjects []string
	seenW, seenS := map[string]bool{}, map[string]bool{}
	size := 0
	for _, k := range keys {
		grow := 0
		if !seenW[k.WhoID] {
			grow += len(url.QueryEscape(Quote(k.WhoID))) + 3
		}
		if !seenS[k.Subject] {
			grow += len(url.QueryEscape(Quote(k.Subject))) + 3
		}
		if len(whos) > 0 && (len(whos) == maxInValues || len(subjects) == maxInValues || size+grow > maxInChars) {
			if err := query(whos, subjects); err != nil {
				return nil, err
			}
			whos, subjects, size = nil, nil, 0
			clear(seenW)
			clear(seenS)
			grow = len(url.QueryEscape(Quote(k.WhoID))) + len(url.QueryEscape(Quote(k.Subject))) + 6
		}
		if !seenW[k.WhoID] {
			seenW[k.WhoID] = true
			whos = append(whos, k.WhoID)
		}
		if !seenS[k.Subject] {
			seenS[k.Subject] = true
			subjects = append(subjects, k.Subject)
		}
		size += grow
	}
	if len(whos) > 0 {
		if err := query(whos, subjects); err != nil {
			return nil, err
		}
	}
	return out, nil
}
