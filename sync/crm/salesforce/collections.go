package salesforce

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"
)

// MaxCollection is the most records one sObject Collections request takes.
const MaxCollection = 200

// lockRetries are the waits before resending records that failed with
// UNABLE_TO_LOCK_ROW.
var lockRetries = []time.Duration{time.Second, 3 * time.Second}

type saveResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func (r saveResult) result() crm.Result {
	if r.Success {
		return crm.Result{ID: r.ID}
	}
	e := &crm.RecordError{Code: "UNKNOWN_EXCEPTION", Message: "no reason given"}
	if len(r.Errors) > 0 {
		e = &crm.RecordError{Code: r.Errors[0].StatusCode, Message: excerpt(r.Errors[0].Message), Fields: r.Errors[0].Fields}
	}
	e.Reason = Explain(e.Code, e.Message, e.Fields)
	e.Gone = e.Code == "ENTITY_IS_DELETED"
	return crm.Result{ID: r.ID, Err: e}
}

// wire converts a record's fields to JSON values: times as UTC dateTimes.
func wire(r crm.Record, update bool) map[string]any {
	m := map[string]any{"attributes": map[string]string{"type": r.Object}}
	for k, v := range r.Fields {
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		m[k] = v
	}
	if update {
		m["id"] = r.ID
	}
	return m
}

// Create implements crm.Recorder: POST composite/sobjects in chunks of 200
// with allOrNone false.
func (c *Client) Create(ctx context.Context, recs []crm.Record) ([]crm.Result, error) {
	return c.save(ctx, "POST", recs, false)
}

// Update implements crm.Recorder: PATCH composite/sobjects.
func (c *Client) Update(ctx context.Context, recs []crm.Record) ([]crm.Result, error) {
	return c.save(ctx, "PATCH", recs, true)
}

func (c *Client) save(ctx context.Context, method string, recs []crm.Record, update bool) ([]crm.Result, error) {
	out := make([]crm.Result, len(recs))
	todo := make([]int, len(recs))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		var again []int
		for start := 0; start < len(todo); start += MaxCollection {
			part := todo[start:min(start+MaxCollection, len(todo))]
			body := map[string]any{"allOrNone": false}
			list := make([]map[string]any, len(part))
			for j, i := range part {
				list[j] = wire(recs[i], update)
			}
			body["records"] = list
			var ans []saveResult
			if err := c.call(ctx, method, "composite/sobjects", body, &ans); err != nil {
				return nil, err
			}
			if len(ans) != len(part) {
				return nil, fmt.Errorf("salesforce answered %d results for %d records", len(ans), len(part))
			}
			for j, i := range part {
				out[i] = ans[j].result()
				if out[i].Err != nil && out[i].Err.Code == "UNABLE_TO_LOCK_ROW" && attempt < len(lockRetries) {
					again = append(again, i)
				}
			}
		}
		if len(again) > 0 {
			if err := c.cfg.Sleep(ctx, lockRetries[attempt]); err != nil {
				return nil, err
			}
		}
		todo = again
	}
	return out, nil
}

// Delete implements crm.Recorder: DELETE composite/sobjects?ids=… in
// chunks of 200 with allOrNone false.
func (c *Client) Delete(ctx context.Context, ids []string) ([]crm.Result, error) {
	out := make([]crm.Result, 0, len(ids))
	for start := 0; start < len(ids); start += MaxCollection {
		part := ids[start:min(start+MaxCollection, len(ids))]
		var ans []saveResult
		q := url.Values{"ids": {strings.Join(part, ",")}, "allOrNone": {"false"}}
		if err := c.call(ctx, "DELETE", "composite/sobjects?"+q.Encode(), nil, &ans); err != nil {
			return nil, err
		}
		if len(ans) != len(part) {
			return nil, fmt.Errorf("salesforce answered %d results for %d deletions", len(ans), len(part))
		}
		for _, a := range ans {
			out = append(out, a.result())
		}
	}
	return out, nil
}

// Explain words a record-level error for the Issues tab.
func Explain(code, message string, fields []string) string {
	f := strings.Join(fields, ", ")
	switch code {
	case "FIELD_CUSTOM_VALIDATION_EXCEPTION":
		return "A validation rule in your Salesforce org refused it: " + message
	case "REQUIRED_FIELD_MISSING":
		return "Your Salesforce org requires a field Inbox Sync does not fill (" + f + "): ask your administrator."
	case "STRING_TOO_LONG":
		return "A value is too long for Salesforce (" + f + ")."
	case "INVALID_CROSS_REFERENCE_KEY":
		return "It refers to a Salesforce record that no longer exists or that you cannot see (" + f + ")."
	case "DUPLICATES_DETECTED", "DUPLICATE_VALUE":
		return "Salesforce's duplicate rules blocked it: " + message
	case "UNABLE_TO_LOCK_ROW":
		return "Salesforce was busy updating the same records; Inbox Sync will try again."
	case "ENTITY_IS_DELETED":
		return "The Salesforce record was deleted."
	case "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY":
		return "Your Salesforce user is not allowed to do this: " + message
	case "INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE":
		return "Your Salesforce org does not accept a field Inbox Sync sets (" + f + "): " + message
	}
	return "Salesforce refused it: " + message + " (" + code + ")"
}

// var check: the client is a crm.Recorder.
var _ crm.Recorder = (*Client)(nil)
