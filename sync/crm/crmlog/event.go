package crmlog

import (
	"context"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm"

	"github.com/inboxsync/inboxsync/sync/api"
)

// allDay reports whether an event spans whole days (midnight to midnight,
// in UTC or in the configured zone) and returns its first day.
func (b *batch) allDay(it api.Item) (string, int, bool) {
	for _, loc := range []*time.Location{time.UTC, b.cfg.Location} {
		s, e := it.Start.In(loc), it.End.In(loc)
		d := e.Sub(s)
		if !it.End.IsZero() && d > 0 && d%(24*time.Hour) == 0 && s.Hour() == 0 && s.Minute() == 0 && s.Second() == 0 {
			return s.Format(time.DateOnly), int(d / time.Minute), true
		}
	}
	return "", 0, false
}

// eventFields builds an Event (without WhoId for updates).
func (b *batch) eventFields(it api.Item) map[string]any {
	start := it.Start
	if start.IsZero() {
		start = it.Time
	}
	f := map[string]any{"Subject": subject(it, 255), "Location": truncate(it.Location, 255), "Description": truncate(describe(it), 32000)}
	if date, minutes, ok := b.allDay(it); ok {
		f["IsAllDayEvent"], f["ActivityDate"], f["DurationInMinutes"] = true, date, minutes
		return f
	}
	end := it.End
	if end.Before(start) {
		end = start
	}
	f["IsAllDayEvent"], f["StartDateTime"], f["EndDateTime"] = false, start, end
	return f
}

// eventKey is how an Event is found again: subject and start (or day).
func eventKey(subj string, start time.Time, day string, allDay bool) string {
	if allDay {
		return strings.ToLower(subj) + "|day " + day
	}
	return strings.ToLower(subj) + "|" + start.UTC().Format(time.RFC3339)
}

// logEvents logs meetings as Events owned by the connected user.
func (b *batch) logEvents(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	gs := newGroups()
	var subjects []string
	for _, i := range idxs {
		it := b.entries[i].Item
		f := b.eventFields(it)
		day, _, all := b.allDay(it)
		start, _ := f["StartDateTime"].(time.Time)
		if !gs.add(eventKey(f["Subject"].(string), start, day, all), i) {
			continue
		}
		f["WhoId"] = who(b.matches[i]).ID
		if what := b.relatedTo(i, account(b.matches[i])); what != "" {
			f["WhatId"] = what
		}
		gs.last().rec = crm.Record{Object: api.ObjEvent, Fields: f}
		subjects = append(subjects, f["Subject"].(string))
	}
	found, err := b.rec.FindEvents(ctx, subjects)
	if err != nil {
		return err
	}
	for _, f := range found {
		gs.found(eventKey(f.Subject, f.Start, f.Date, f.AllDay), f.ID)
	}
	return b.createOrLink(ctx, api.ObjEvent, gs)
}

// updateEvents brings logged Events in line with their meetings.
func (b *batch) updateEvents(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	recs := make([]crm.Record, len(idxs))
	for j, i := range idxs {
		recs[j] = crm.Record{Object: api.ObjEvent, ID: b.entries[i].RecordID, Fields: b.eventFields(b.entries[i].Item)}
	}
	res, err := b.rec.Update(ctx, recs)
	if err != nil {
		return err
	}
	for j, i := range idxs {
		id := b.entries[i].RecordID
		switch r := res[j]; {
		case r.Err != nil && r.Err.Gone:
			b.set(i, crm.Outcome{State: api.CRMSkipped, Reason: crm.ReasonEventGone})
		case r.Err != nil:
			b.fail(i, id, api.ObjEvent, r.Err)
		default:
			b.set(i, crm.Outcome{State: api.CRMLogged, RecordID: id, Object: api.ObjEvent})
		}
	}
	return nil
}

// deleteEvents deletes the Events of cancelled or deleted meetings.
func (b *batch) deleteEvents(ctx context.Context, idxs []int) error {
	if len(idxs) == 0 {
		return nil
	}
	ids := make([]string, len(idxs))
	for j, i := range idxs {
		ids[j] = b.entries[i].RecordID
	}
	res, err := b.rec.Delete(ctx, ids)
	if err != nil {
		return err
	}
	for j, i := range idxs {
		if r := res[j]; r.Err != nil && !r.Err.Gone {
			b.fail(i, ids[j], api.ObjEvent, r.Err)
		} else {
			b.set(i, crm.Outcome{State: api.CRMSkipped, Reason: crm.ReasonRemoved})
		}
	}
	return nil
}
