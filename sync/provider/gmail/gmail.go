// Package gmail syncs Gmail and Google Workspace mailboxes through the
// Gmail API and the primary calendar through the Google Calendar API: mail
// in Inbox and Sent (the INBOX and SENT labels) and events over the −14/+60
// day window. Sign-in is OAuth 2.0 for installed apps with Google
// (sync/auth: loopback on 127.0.0.1, PKCE, offline access); Connector wires
// both into the engine.
//
// Organisation mode reads the mailboxes of a Google Workspace domain with a
// service account's domain-wide delegation instead (Delegation, in
// delegation.go, which documents the token endpoint's answers): the same
// Provider, with a token source per user.
//
// Inbox Sync asks only for gmail.metadata and calendar.events.readonly: it
// never reads a body. The metadata scope refuses messages.list's q
// parameter and every format but metadata and minimal, so the history
// window of a first sync is applied on Gmail's internalDate while walking
// messages.list newest first.
//
// # Cursor
//
// A folder's cursor is JSON. For Inbox and Sent:
//
//	{"v":1,"h":HISTORYID,"l":true,"p":PAGETOKEN,"s":SINCEMS}   first sync, listing
//	{"v":1,"h":HISTORYID,"p":PAGETOKEN}                        incremental (p inside a walk)
//
// h is the mailbox's history id when the listing began (Gmail's profile),
// then the history id history.list answered at the end of the last walk;
// the next walk starts there. A history id Gmail no longer knows (404,
// about a week old) is provider.ClassCursorInvalid, and the engine starts
// a full listing again.
//
// For the calendar: {"v":1,"win":DATE,"sync":SYNCTOKEN,"p":PAGETOKEN,"fill":DATE}.
// win is the first day (UTC) of the window the listings so far covered.
// The sync token (never combined with timeMin/timeMax, which Google
// refuses) gives every change since the last round, and today's window is
// applied here: an event changed or moved outside it is reported deleted.
// On a later day the window has moved: after the round of changes, the
// days that entered the window (from fill to its new end) are listed
// once, and the sync token of the round is kept.
//
// # Items
//
// A message's ProviderID is its Gmail message id, the same in every label:
// a message sent to oneself is in INBOX and SENT and is reported in each
// folder, with Change.Item.Folder saying which. Its thread id is the
// conversation id, the snippet the preview, internalDate the time, and
// the names of its user labels its categories (labels.go).
//
// # Requests
//
// All requests of one Provider go through one HTTP layer that allows at
// most 4 in flight, paces them under Gmail's per-user quota (Options.Quota),
// adds the bearer token, renews it once when Google answers 401, and
// classifies failures (see classify).
package gmail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
)

// Google's endpoints.
const (
	DefaultAuthURL          = "https://accounts.google.com/o/oauth2/v2/auth"
	DefaultTokenURL         = "https://oauth2.googleapis.com/token"
	DefaultGmailEndpoint    = "https://gmail.googleapis.com/gmail/v1"
	DefaultCalendarEndpoint = "https://www.googleapis.com/calendar/v3"
)

// The permissions asked for: message headers and labels, and events.
const (
	ScopeGmailMetadata  = "https://www.googleapis.com/auth/gmail.metadata"
	ScopeCalendarEvents = "https://www.googleapis.com/auth/calendar.events.readonly"
)

// Scopes are the scopes of the authorization request.
var Scopes = []string{ScopeGmailMetadata, ScopeCalendarEvents}

// DefaultPageSize is how many messages one page of a first sync lists and
// reads (messages.list allows 500), and the history and events page size.
const DefaultPageSize = 100

// MaxInFlight is the most requests one mailbox has in flight.
const MaxInFlight = 4

// DefaultQuota is the pace Connector.Open sets, in Gmail quota units per
// second: Gmail allows 250 per user (messages.get and messages.list cost 5,
// history.list 2, getProfile 1), so a first sync of a large mailbox stays
// below it rather than being throttled in the middle of a page.
const DefaultQuota = 200

// The headers read of each message.
var metadataHeaders = []string{"Subject", "From", "To", "Cc", "Date", "Message-ID"}

// Tokens hands out access tokens; *auth.TokenSource implements it.
type Tokens = httpapi.Tokens

// Options configure a Provider.
type Options struct {
	// GmailEndpoint is the Gmail API base URL including the version
	// (DefaultGmailEndpoint when empty).
	GmailEndpoint string
	// CalendarEndpoint is the Calendar API base URL including the version
	// (DefaultCalendarEndpoint when empty).
	CalendarEndpoint string
	// HTTPClient makes the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Tokens hands out the access tokens (required).
	Tokens Tokens
	// PageSize is the page size (DefaultPageSize when 0, at most 500).
	PageSize int
	// Batch reads messages through Gmail's batch endpoint, this many in
	// one request (at most MaxBatch); 0 or 1 reads each with its own
	// request. Either way at most MaxInFlight requests are in flight.
	Batch int
	// Quota paces requests to this many Gmail quota units a second (with
	// a burst of one second's worth); 0 does not pace.
	Quota float64
	// Now is the clock for Retry-After dates and for the calendar window
	// when provider.Options.Now is zero; nil means time.Now. Pacing always
	// uses real time.
	Now func() time.Time
}

// Provider reads one Gmail mailbox and its primary calendar. It
// implements provider.Provider.
type Provider struct {
	gmail    string
	calendar string
	http     *httpapi.Client
	pageSize int
	batch    int

	batchURL, batchPrefix string
	pace                  *pacer
	now                   func() time.Time

	// delegated is the service account whose token for the user the
	// provider uses (domain-wide delegation); nil for a user's own
	// sign-in. Its errors speak to an administrator.
	delegated *ServiceAccount

	mu        sync.Mutex
	throttles int // consecutive throttled answers without Retry-After

	// labels names the mailbox's labels by id for this session (nil
	// until read; labels.go); relisted is set once the list was read again
	// for an id it did not know.
	labelsMu sync.Mutex
	labels   map[string]string
	relisted bool
}

var _ provider.Provider = (*Provider)(nil)

// New returns a Provider.
func New(o Options) (*Provider, error) {
	if o.GmailEndpoint == "" {
		o.GmailEndpoint = DefaultGmailEndpoint
	}
	if o.CalendarEndpoint == "" {
		o.CalendarEndpoint = DefaultCalendarEndpoint
	}
	g, _, err := httpapi.Base("Gmail endpoint", o.GmailEndpoint)
	if err != nil {
		return nil, err
	}
	c, _, err := httpapi.Base("Calendar endpoint", o.CalendarEndpoint)
	if err != nil {
		return nil, err
	}
	if o.Tokens == nil {
		return nil, errors.New("gmail: no token source")
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	o.PageSize = min(o.PageSize, 500)
	now := o.Now
	if now == nil {
		now = time.Now
	}
	p := &Provider{gmail: g, calendar: c, http: httpapi.NewClient(o.HTTPClient, o.Tokens, MaxInFlight), pageSize: o.PageSize, now: now,
		batch: min(max(o.Batch, 1), MaxBatch)}
	p.batchURL, p.batchPrefix = batchURL(g)
	if o.Quota > 0 {
		p.pace = &pacer{rate: o.Quota, burst: o.Quota, now: time.Now}
	}
	return p, nil
}

// Folders implements provider.Provider.
func (p *Provider) Folders() []api.Folder {
	return []api.Folder{api.Inbox, api.Sent, api.Calendar}
}

// Close implements provider.Provider. It also forgets the label names
// read during the session, so that the next one names them afresh.
func (p *Provider) Close() error {
	p.http.CloseIdle()
	p.forgetLabels()
	return nil
}

// Requests returns how many HTTP requests the provider sent.
func (p *Provider) Requests() int64 { return p.http.Requests() }

// cursor is the decoded form of a folder's cursor (see the package
// comment).
type cursor struct {
	V int `json:"v"`
	// Mail.
	History string `json:"h,omitempty"`
	Listing bool   `json:"l,omitempty"`
	Since   int64  `json:"s,omitempty"`
	// Both: the page token inside a listing or walk.
	Page string `json:"p,omitempty"`
	// Calendar.
	Win  string `json:"win,omitempty"`
	Sync string `json:"sync,omitempty"`
	Fill string `json:"fill,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

var errBadCursor = errors.New("unreadable Gmail cursor")

func decodeCursor(s string, calendar bool) (cursor, error) {
	var c cursor
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.V != 1 {
		return cursor{}, errBadCursor
	}
	if calendar {
		if _, err := time.Parse(time.DateOnly, c.Win); err != nil || (c.Sync == "" && c.Page == "") || c.History != "" || c.Listing || c.Since != 0 {
			return cursor{}, errBadCursor
		}
		if _, err := time.Parse(time.DateOnly, c.Fill); c.Fill != "" && (err != nil || c.Sync == "") {
			return cursor{}, errBadCursor
		}
		return c, nil
	}
	if !validHistoryID(c.History) || c.Win != "" || c.Sync != "" || c.Fill != "" || (!c.Listing && c.Since != 0) {
		return cursor{}, errBadCursor
	}
	return c, nil
}

// label maps a mail folder to its Gmail label.
func label(f api.Folder) (string, bool) {
	switch f {
	case api.Inbox:
		return "INBOX", true
	case api.Sent:
		return "SENT", true
	}
	return "", false
}

// Changes implements provider.Provider.
func (p *Provider) Changes(ctx context.Context, folder api.Folder, cur string, opts provider.Options) (provider.Page, error) {
	if err := ctx.Err(); err != nil {
		return provider.Page{}, err
	}
	var c cursor
	if cur != "" {
		var err error
		if c, err = decodeCursor(cur, folder == api.Calendar); err != nil {
			return provider.Page{}, provider.CursorInvalid(err)
		}
	}
	if folder == api.Calendar {
		return p.calendarChanges(ctx, c, cur == "", opts)
	}
	lbl, ok := label(folder)
	if !ok {
		return provider.Page{}, provider.Failed("Gmail accounts sync Inbox, Sent and the calendar only.", fmt.Errorf("unknown folder %q", folder))
	}
	if cur == "" {
		pr, err := p.Profile(ctx)
		if err != nil {
			return provider.Page{}, err
		}
		c = cursor{V: 1, History: pr.HistoryID, Listing: true}
		if !opts.Since.IsZero() {
			c.Since = opts.Since.UnixMilli()
		}
	}
	if c.Listing {
		return p.listPage(ctx, folder, lbl, c)
	}
	return p.historyPage(ctx, folder, lbl, c)
}

// listPage reads one page of a first sync: messages.list of the label,
// newest first, then each message's metadata. The listing ends at the last
// page or at the first page whose messages are all older than the window.
func (p *Provider) listPage(ctx context.Context, folder api.Folder, lbl string, c cursor) (provider.Page, error) {
	q := url.Values{"labelIds": {lbl}, "maxResults": {strconv.Itoa(p.pageSize)}}
	if c.Page != "" {
		q.Set("pageToken", c.Page)
	}
	body, err := p.get(ctx, p.gmail+"/users/me/messages?"+q.Encode(), 5, callList)
	if err != nil {
		return provider.Page{}, err
	}
	l, err := parseMessageList(body)
	if err != nil {
		return provider.Page{}, provider.Failed("Gmail sent an answer Inbox Sync cannot read.", err)
	}
	ids := make([]string, 0, len(l.Messages))
	for _, m := range l.Messages {
		ids = append(ids, m.ID)
	}
	msgs, issues, err := p.fetch(ctx, folder, ids)
	if err != nil {
		return provider.Page{}, err
	}
	names, err := p.labelNames(ctx, msgs)
	if err != nil {
		return provider.Page{}, err
	}
	page := provider.Page{Issues: issues}
	old, newer := 0, 0
	for i := range msgs {
		m := msgs[i]
		if m == nil || !m.in(lbl) {
			continue // deleted or moved since the listing: history will say
		}
		it, err := toItem(folder, m, names)
		if err != nil {
			page.Issues = append(page.Issues, api.ItemIssue{ProviderID: m.ID, Folder: folder, Message: "The message has no readable date; it was skipped."})
			continue
		}
		if c.Since != 0 && it.Time.UnixMilli() < c.Since {
			old++
			continue
		}
		newer++
		page.Changes = append(page.Changes, provider.Change{Item: it})
	}
	next := cursor{V: 1, History: c.History}
	// Newest first: a page with old messages and none in the window is
	// past the window's start.
	if l.NextPageToken != "" && (old == 0 || newer > 0) {
		next.Listing, next.Page, next.Since = true, l.NextPageToken, c.Since
		page.More = true
	}
	page.Cursor = next.encode()
	return page, nil
}

// historyPage reads one page of history.list and the messages it names.
func (p *Provider) historyPage(ctx context.Context, folder api.Folder, lbl string, c cursor) (provider.Page, error) {
	q := url.Values{
		"startHistoryId": {c.History},
		"historyTypes":   {"messageAdded", "messageDeleted", "labelAdded", "labelRemoved"},
		"maxResults":     {strconv.Itoa(p.pageSize)},
	}
	if c.Page != "" {
		q.Set("pageToken", c.Page)
	}
	body, err := p.get(ctx, p.gmail+"/users/me/history?"+q.Encode(), 2, callHistory)
	if err != nil {
		return provider.Page{}, err
	}
	h, err := parseHistory(body)
	if err != nil {
		return provider.Page{}, provider.Failed("Gmail sent an answer Inbox Sync cannot read.", err)
	}
	ids, present := historyChanges(h.History, lbl)
	var want []string
	for _, id := range ids {
		if present[id] {
			want = append(want, id)
		}
	}
	msgs, issues, err := p.fetch(ctx, folder, want)
	if err != nil {
		return provider.Page{}, err
	}
	names, err := p.labelNames(ctx, msgs)
	if err != nil {
		return provider.Page{}, err
	}
	got := make(map[string]*message, len(want))
	for i, id := range want {
		got[id] = msgs[i]
	}
	unreadable := make(map[string]bool, len(issues))
	for _, is := range issues {
		unreadable[is.ProviderID] = true
	}
	page := provider.Page{Issues: issues, Changes: make([]provider.Change, 0, len(ids))}
	for _, id := range ids {
		m := got[id]
		if unreadable[id] {
			continue
		}
		if !present[id] || m == nil || !m.in(lbl) {
			page.Changes = append(page.Changes, provider.Change{Deleted: true, Item: api.Item{ProviderID: id, Folder: folder, Kind: api.KindMail}})
			continue
		}
		it, err := toItem(folder, m, names)
		if err != nil {
			page.Issues = append(page.Issues, api.ItemIssue{ProviderID: id, Folder: folder, Message: "The message has no readable date; it was skipped."})
			continue
		}
		page.Changes = append(page.Changes, provider.Change{Item: it})
	}
	next := cursor{V: 1, History: c.History}
	switch {
	case h.NextPageToken != "":
		next.Page = h.NextPageToken
		page.More = true
	case h.HistoryID != "":
		next.History = h.HistoryID
	}
	page.Cursor = next.encode()
	return page, nil
}

// fetch reads the metadata of ids, at most MaxInFlight requests at once
// (each of one message, or of Batch messages through the batch endpoint).
// A message that is gone (404) is nil; one that cannot be read is an issue
// and nil. Any other failure fails the whole page.
func (p *Provider) fetch(ctx context.Context, folder api.Folder, ids []string) ([]*message, []api.ItemIssue, error) {
	out := make([]*message, len(ids))
	issues := make([]string, len(ids))
	var valid []int // indexes of the ids that can go into a URL
	for i, id := range ids {
		if validID(id) {
			valid = append(valid, i)
		} else {
			issues[i] = "Gmail named a message with an id Inbox Sync cannot use; it was skipped."
		}
	}
	q := url.Values{"format": {"metadata"}, "metadataHeaders": metadataHeaders}
	suffix := "?" + q.Encode()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err; cancel() }) }
	// read stores one message's answer (nil: gone).
	read := func(i int, body []byte) {
		if body == nil {
			return
		}
		m, err := parseMessage(body)
		if err != nil || m.ID != ids[i] {
			issues[i] = "Gmail sent a message Inbox Sync cannot read; it was skipped."
			return
		}
		out[i] = &m
	}
	work := make(chan []int)
	for range min(MaxInFlight, (len(valid)+p.batch-1)/p.batch) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range work {
				if p.batch == 1 {
					i := chunk[0]
					body, err := p.get(ctx, p.gmail+"/users/me/messages/"+ids[i]+suffix, 5, callMessage)
					switch {
					case errors.Is(err, errNotFound):
					case err != nil:
						fail(err)
					default:
						read(i, body)
					}
					continue
				}
				some := make([]string, len(chunk))
				for k, i := range chunk {
					some[k] = ids[i]
				}
				bodies, err := p.getBatch(ctx, some, suffix)
				if err != nil {
					fail(err)
					continue
				}
				for k, i := range chunk {
					read(i, bodies[k])
				}
			}
		}()
	}
feed:
	for lo := 0; lo < len(valid); lo += p.batch {
		select {
		case work <- valid[lo:min(lo+p.batch, len(valid))]:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var iss []api.ItemIssue
	for i, s := range issues {
		if s != "" {
			iss = append(iss, api.ItemIssue{ProviderID: ids[i], Folder: folder, Message: s})
		}
	}
	return out, iss, nil
}

// windowStart returns the first day of the calendar window around now.
func windowStart(now time.Time) time.Time {
	from, _ := provider.CalendarDays(now)
	return from
}

// windowEnd returns the end of the calendar window whose first day is
// start (a window stored in a cursor on an earlier day).
func windowEnd(start time.Time) time.Time {
	_, to := provider.CalendarDays(start.AddDate(0, 0, provider.CalendarDaysBack))
	return to
}

// calendarChanges reads one page of events of the primary calendar: a
// listing over the window (first sync), a round of changes since the sync
// token, or, after the window moved (a new day), the listing of the days
// that entered it (Fill).
func (p *Provider) calendarChanges(ctx context.Context, c cursor, fresh bool, opts provider.Options) (provider.Page, error) {
	now := opts.Now
	if now.IsZero() {
		now = p.now()
	}
	today := windowStart(now)
	if fresh {
		c = cursor{V: 1, Win: today.Format(time.DateOnly)}
	}
	win, _ := time.Parse(time.DateOnly, c.Win)
	q := url.Values{"singleEvents": {"true"}, "showDeleted": {"true"}, "maxResults": {strconv.Itoa(max(p.pageSize, 250))}}
	// from and to are the range this request covers, applied to what it
	// returns: the listing's range, or today's window for changes (which
	// Google does not limit to any window).
	var from, to time.Time
	switch {
	case c.Fill != "":
		from, _ = time.Parse(time.DateOnly, c.Fill)
		to = windowEnd(win)
	case c.Sync != "":
		from, to = today, windowEnd(today)
		q.Set("syncToken", c.Sync)
	default:
		from, to = win, windowEnd(win)
	}
	if c.Sync == "" || c.Fill != "" {
		q.Set("timeMin", from.Format(time.RFC3339))
		q.Set("timeMax", to.Format(time.RFC3339))
	}
	if c.Page != "" {
		q.Set("pageToken", c.Page)
	}
	body, err := p.get(ctx, p.calendar+"/calendars/primary/events?"+q.Encode(), 0, callEvents)
	if err != nil {
		return provider.Page{}, err
	}
	pg, l, err := parseEvents(body, from, to)
	if err != nil {
		return provider.Page{}, provider.Failed("Google Calendar sent an answer Inbox Sync cannot read.", err)
	}
	page := provider.Page{Changes: pg.changes, Issues: pg.issues}
	next := cursor{V: 1, Win: c.Win, Sync: c.Sync, Fill: c.Fill}
	switch {
	case l.NextPageToken != "":
		next.Page = l.NextPageToken
		page.More = true
	case l.NextSyncToken == "":
		return provider.Page{}, provider.Failed("Google Calendar sent a page without a next page or sync token.", errors.New("no nextPageToken or nextSyncToken"))
	case c.Fill != "":
		// The new days are listed; the sync token of the changes round
		// before stays (the listing's own covers only those days).
		next.Fill = ""
	case c.Sync != "" && win.Before(today):
		// The changes up to now are in; the window moved since the last
		// listing: list the days that entered it next.
		next.Sync, next.Win = l.NextSyncToken, today.Format(time.DateOnly)
		fill := windowEnd(win)
		if fill.Before(today) { // away for longer than the window
			fill = today
		}
		next.Fill = fill.Format(time.DateOnly)
		page.More = true
	default:
		next.Sync = l.NextSyncToken
	}
	page.Cursor = next.encode()
	return page, nil
}

// Profile is the mailbox as users.getProfile describes it.
type Profile struct {
	EmailAddress string
	HistoryID    string
}

// Profile fetches users/me/profile: the mailbox address and its current
// history id.
func (p *Provider) Profile(ctx context.Context) (Profile, error) {
	body, err := p.get(ctx, p.gmail+"/users/me/profile", 1, callProfile)
	if err != nil {
		return Profile{}, err
	}
	pr, err := parseProfile(body)
	if err != nil {
		return Profile{}, provider.Failed("Gmail sent an answer Inbox Sync cannot read.", err)
	}
	return Profile(pr), nil
}

// checkCalendar lists at most one event of the primary calendar.
func (p *Provider) checkCalendar(ctx context.Context) error {
	q := url.Values{"maxResults": {"1"}, "singleEvents": {"true"}, "timeMin": {p.now().UTC().Format(time.RFC3339)}}
	_, err := p.get(ctx, p.calendar+"/calendars/primary/events?"+q.Encode(), 0, callEvents)
	return err
}

// errNotFound is a 404 of messages.get: the message is gone.
var errNotFound = errors.New("gmail: not found")

// get fetches u with the bearer token, at most MaxInFlight at once, paced
// by cost quota units.
func (p *Provider) get(ctx context.Context, u string, cost float64, call callKind) ([]byte, error) {
	r := httpapi.Request{Service: call.service(), URL: u, Header: http.Header{"Accept": {"application/json"}}}
	if p.pace != nil && call != callEvents {
		r.Wait = func(ctx context.Context) error { return p.pace.wait(ctx, cost) }
	}
	a, err := p.http.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	if a.Status == http.StatusOK {
		p.answered()
		return a.Body, nil
	}
	if call == callMessage && a.Status == http.StatusNotFound {
		return nil, errNotFound
	}
	return nil, p.classify(parseAPIError(a.Status, a.Body), call, a.Header.Get("Retry-After"))
}

// answered notes a successful answer: the next throttling answer without
// Retry-After starts the backoff afresh.
func (p *Provider) answered() {
	p.mu.Lock()
	p.throttles = 0
	p.mu.Unlock()
}

// pacer is a token bucket of quota units.
type pacer struct {
	mu     sync.Mutex
	rate   float64 // units a second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// wait takes cost units, waiting until they are there or ctx is done.
func (b *pacer) wait(ctx context.Context, cost float64) error {
	b.mu.Lock()
	now := b.now()
	if b.last.IsZero() {
		b.tokens, b.last = b.burst, now
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= cost
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
