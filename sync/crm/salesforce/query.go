package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/provider"
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
	var a queryAnswer
	if err := c.call(ctx, "GET", "query?q="+url.QueryEscape(soql), nil, &a); err != nil {
		return err
	}
	return c.queryFrom(ctx, a, fn)
}

// queryFrom calls fn with each record of a query's first batch a and of
// the batches after it (nextRecordsUrl, until done).
func (c *Client) queryFrom(ctx context.Context, a queryAnswer, fn func(json.RawMessage) error) error {
	for {
		for _, r := range a.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if a.Done || a.NextRecordsURL == "" {
			return nil
		}
		path := a.NextRecordsURL
		if !strings.HasPrefix(path, "/services/") {
			return errBadNext
		}
		a = queryAnswer{}
		if err := c.call(ctx, "GET", path, nil, &a); err != nil {
			return err
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
// maxAddresses addresses (docs/architecture.md §5) or maxInValues other values.
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

// FindPeople implements crm.Recorder: the Contacts and the unconverted
// Leads with Email IN (…) of at most 50 addresses, both queries in one
// composite request (one round trip and one API call per 50 addresses;
// docs/architecture.md §5).
func (c *Client) FindPeople(ctx context.Context, addrs []string) ([]crm.Person, error) {
	type row struct{ Id, Email, AccountId string }
	var out []crm.Person
	for _, in := range inLists(addrs, maxAddresses) {
		queries := []struct{ soql, object string }{
			{"SELECT Id, Email, AccountId FROM Contact WHERE Email IN " + in, api.ObjContact},
			{"SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email IN " + in, api.ObjLead},
		}
		subs := make([]compositeSub, len(queries))
		for k, q := range queries {
			subs[k] = compositeSub{Method: "GET", URL: "/services/data/" + c.cfg.APIVersion + "/query?q=" + url.QueryEscape(q.soql), ReferenceID: "q" + fmt.Sprint(k)}
		}
		answers, err := c.composite(ctx, subs)
		if err != nil {
			return nil, err
		}
		for k, a := range answers {
			object := queries[k].object
			err := c.queryFrom(ctx, a, func(raw json.RawMessage) error {
				var r row
				if err := json.Unmarshal(raw, &r); err != nil {
					return err
				}
				out = append(out, crm.Person{ID: r.Id, Object: object, Email: r.Email, AccountID: r.AccountId})
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// compositeSub is one subrequest of a composite request.
type compositeSub struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	ReferenceID string `json:"referenceId"`
}

// composite sends GET query subrequests in one POST …/composite (at most
// 25; the whole request is one API call) and returns each one's first
// batch of results, in order. A subrequest Salesforce refused fails the
// call like the same request sent alone.
func (c *Client) composite(ctx context.Context, subs []compositeSub) ([]queryAnswer, error) {
	var answer struct {
		CompositeResponse []struct {
			Body           json.RawMessage `json:"body"`
			HTTPStatusCode int             `json:"httpStatusCode"`
			ReferenceID    string          `json:"referenceId"`
		} `json:"compositeResponse"`
	}
	body := map[string]any{"allOrNone": false, "compositeRequest": subs}
	if err := c.call(ctx, "POST", "composite", body, &answer); err != nil {
		return nil, err
	}
	if len(answer.CompositeResponse) != len(subs) {
		return nil, provider.Failed("Salesforce's answer could not be read.", fmt.Errorf("composite: %d answers for %d subrequests", len(answer.CompositeResponse), len(subs)))
	}
	out := make([]queryAnswer, len(subs))
	for k, r := range answer.CompositeResponse {
		if r.ReferenceID != subs[k].ReferenceID {
			return nil, provider.Failed("Salesforce's answer could not be read.", fmt.Errorf("composite: answer %d is %q, want %q", k, r.ReferenceID, subs[k].ReferenceID))
		}
		if r.HTTPStatusCode < 200 || r.HTTPStatusCode >= 300 {
			e := parseErrors(r.Body)
			return nil, provider.Failed("Salesforce refused a request: "+plainMessage(e.ErrorCode, e.Message), fmt.Errorf("composite %s: %d %s", subs[k].ReferenceID, r.HTTPStatusCode, e.ErrorCode))
		}
		if err := json.Unmarshal(r.Body, &out[k]); err != nil {
			return nil, provider.Failed("Salesforce's answer could not be read.", fmt.Errorf("composite %s: %w", subs[k].ReferenceID, err))
		}
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
	id, err := c.tokens.identity(ctx, c)
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

// FindOpportunities implements crm.Recorder: the open Opportunities
// (IsClosed = false) with AccountId IN (…), at most 100 Accounts a query.
func (c *Client) FindOpportunities(ctx context.Context, accountIDs []string) ([]crm.Opportunity, error) {
	return findIn(ctx, c, "SELECT Id, AccountId, Name, LastModifiedDate, CloseDate FROM Opportunity", "IsClosed = false", "AccountId", accountIDs, maxInValues,
		func(r struct{ Id, AccountId, Name, LastModifiedDate, CloseDate string }) crm.Opportunity {
			return crm.Opportunity{ID: r.Id, AccountID: r.AccountId, Name: r.Name, LastModified: sfTime(r.LastModifiedDate), CloseDate: r.CloseDate}
		})
}
