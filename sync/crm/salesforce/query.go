package salesforce

import (
	"context"
	"encoding/json"
	"errors"
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

// maxInValues and maxInChars bound one IN list, so that query URIs stay
// far below Salesforce's 16 KB limit.
const (
	maxInValues = 50
	maxInChars  = 4000
)

// inLists splits values into IN lists ("('a','b')") of at most
// maxInValues values and about maxInChars characters.
func inLists(values []string) []string {
	var out []string
	var b strings.Builder
	n := 0
	flush := func() {
		if n > 0 {
			out = append(out, "("+b.String()+")")
			b.Reset()
			n = 0
		}
	}
	seen := map[string]bool{}
	for _, v := range values {
		if seen[v] {
			continue
		}
		seen[v] = true
		q := Quote(v)
		if n == maxInValues || (n > 0 && b.Len()+len(q) > maxInChars) {
			flush()
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q)
		n++
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

// FindPeople implements crm.Recorder: Contacts first, then unconverted
// Leads, each by Email IN (…).
func (c *Client) FindPeople(ctx context.Context, addrs []string) ([]crm.Person, error) {
	var out []crm.Person
	for _, in := range inLists(addrs) {
		err := c.Query(ctx, "SELECT Id, Email, AccountId FROM Contact WHERE Email IN "+in, func(raw json.RawMessage) error {
			var r struct{ Id, Email, AccountId string }
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			out = append(out, crm.Person{ID: r.Id, Object: crm.ObjContact, Email: r.Email, AccountID: r.AccountId})
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = c.Query(ctx, "SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email IN "+in, func(raw json.RawMessage) error {
			var r struct{ Id, Email string }
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			out = append(out, crm.Person{ID: r.Id, Object: crm.ObjLead, Email: r.Email})
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
	var out []crm.Found
	for _, in := range inLists(ids) {
		err := c.Query(ctx, "SELECT Id, MessageIdentifier FROM EmailMessage WHERE MessageIdentifier IN "+in, func(raw json.RawMessage) error {
			var r struct{ Id, MessageIdentifier string }
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			out = append(out, crm.Found{ID: r.Id, MessageIdentifier: r.MessageIdentifier})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindEmailRelations implements crm.Recorder.
func (c *Client) FindEmailRelations(ctx context.Context, emailIDs []string) ([]crm.Found, error) {
	var out []crm.Found
	for _, in := range inLists(emailIDs) {
		err := c.Query(ctx, "SELECT Id, EmailMessageId, RelationId, RelationType FROM EmailMessageRelation WHERE EmailMessageId IN "+in, func(raw json.RawMessage) error {
			var r struct{ Id, EmailMessageId, RelationId, RelationType string }
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			out = append(out, crm.Found{ID: r.Id, EmailMessageID: r.EmailMessageId, RelationID: r.RelationId, RelationType: r.RelationType})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindEvents implements crm.Recorder: the connected user's Events.
func (c *Client) FindEvents(ctx context.Context, subjects []string) ([]crm.Found, error) {
	id, err := c.Identity()
	if err != nil {
		return nil, err
	}
	var out []crm.Found
	for _, in := range inLists(subjects) {
		err := c.Query(ctx, "SELECT Id, Subject, StartDateTime, IsAllDayEvent, ActivityDate FROM Event WHERE OwnerId = "+Quote(id.UserID)+" AND Subject IN "+in, func(raw json.RawMessage) error {
			var r struct {
				Id, Subject, StartDateTime, ActivityDate string
				IsAllDayEvent                            bool
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			f := crm.Found{ID: r.Id, Subject: r.Subject, AllDay: r.IsAllDayEvent, Date: r.ActivityDate}
			if !r.IsAllDayEvent {
				f.Start = sfTime(r.StartDateTime)
			}
			out = append(out, f)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindTasks implements crm.Recorder.
func (c *Client) FindTasks(ctx context.Context, whoIDs, subjects []string) ([]crm.Found, error) {
	var out []crm.Found
	for _, who := range inLists(whoIDs) {
		for _, subj := range inLists(subjects) {
			err := c.Query(ctx, "SELECT Id, Subject, ActivityDate, WhoId FROM Task WHERE WhoId IN "+who+" AND Subject IN "+subj, func(raw json.RawMessage) error {
				var r struct{ Id, Subject, ActivityDate, WhoId string }
				if err := json.Unmarshal(raw, &r); err != nil {
					return err
				}
				out = append(out, crm.Found{ID: r.Id, Subject: r.Subject, Date: r.ActivityDate, WhoID: r.WhoId})
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
