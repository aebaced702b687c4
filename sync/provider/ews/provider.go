// Package ews is the Microsoft Exchange (on-premises) provider: it reads
// Inbox, Sent Items and Calendar over Exchange Web Services with a login and
// a password (NTLM or Basic), finds the EWS endpoint through Autodiscover,
// and supplies the engine's Connector for "exchange" accounts.
//
// Sync follows docs/architecture.md §4: SyncFolderItems per folder with the stored
// SyncState as the cursor, at most 512 changes a page, then GetItem in
// batches for the fields the store keeps. Errors are classified as the
// engine expects (docs/architecture.md §3): a 401 is a rejection, ErrorServerBusy and
// HTTP 503 are throttling, ErrorInvalidSyncStateData invalidates the
// cursor, network failures are offline, and an untrusted certificate is a
// plain failure that says so.
//
// Nothing here imports the UI or the app; the emulator used by the tests
// lives in ewstest.
package ews

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Defaults of Config.
const (
	// DefaultPageSize is SyncFolderItems' MaxChangesReturned (docs/architecture.md §4
	// caps it at 512).
	DefaultPageSize = 512
	// DefaultBatchSize is how many items one GetItem asks for.
	DefaultBatchSize = 128
	// previewLength is the length of Item.Preview in characters.
	previewLength = 200
)

// folderIDs maps folders to EWS distinguished folder ids.
var folderIDs = map[api.Folder]string{
	api.Inbox:    "inbox",
	api.Sent:     "sentitems",
	api.Calendar: "calendar",
}

// Config is what a Provider needs to read a mailbox.
type Config struct {
	// URL is the EWS endpoint, https://host/EWS/Exchange.asmx.
	URL string
	// Login is user@domain or DOMAIN\user.
	Login    string
	Password string
	// Auth is AuthNTLM or AuthBasic; empty lets the server's challenge
	// choose.
	Auth string
	// PageSize is MaxChangesReturned (default and maximum 512).
	PageSize int
	// BatchSize is the number of items per GetItem (default 128).
	BatchSize int
	// Transport carries the requests; nil means NewTransport(nil, nil).
	// It must not use HTTP/2 (NTLM authenticates connections).
	Transport http.RoundTripper
}

// Provider reads one Exchange mailbox. It implements provider.Provider and
// is safe for concurrent use.
type Provider struct {
	c         *client
	pageSize  int
	batchSize int
}

var _ provider.Provider = (*Provider)(nil)

// New returns a provider for cfg. The URL must be https.
func New(cfg Config) (*Provider, error) {
	if err := checkURL(cfg.URL); err != nil {
		return nil, provider.Failed("The EWS URL must be an https:// address.", err)
	}
	if cfg.PageSize <= 0 || cfg.PageSize > DefaultPageSize {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.Transport == nil {
		cfg.Transport = NewTransport(nil, nil)
	}
	return &Provider{
		c:         newClient(cfg.URL, cfg.Login, cfg.Password, cfg.Auth, cfg.Transport),
		pageSize:  cfg.PageSize,
		batchSize: cfg.BatchSize,
	}, nil
}

// Folders returns Inbox, Sent and Calendar.
func (p *Provider) Folders() []api.Folder {
	return append([]api.Folder(nil), api.AllFolders...)
}

// Close drops the provider's idle connections.
func (p *Provider) Close() error {
	p.c.close()
	return nil
}

// Requests returns how many EWS calls the provider made (NTLM handshake legs
// not counted).
func (p *Provider) Requests() int64 { return p.c.requests.Load() }

// cursorState is the cursor's content: the folder's SyncState and the
// history window of the first sync, which stays with the folder so that an
// old item that changes later is not pulled in either.
type cursorState struct {
	V         int       `json:"v"`
	SyncState string    `json:"sync_state,omitempty"`
	Since     time.Time `json:"since,omitzero"`
}

func decodeCursor(s string) (cursorState, error) {
	var cs cursorState
	if err := json.Unmarshal([]byte(s), &cs); err != nil || cs.V != 1 {
		return cs, provider.CursorInvalid(errors.New("the stored EWS cursor is unreadable"))
	}
	return cs, nil
}

func (cs cursorState) encode() string {
	b, _ := json.Marshal(cs)
	return string(b)
}

// Changes returns the next page of changes of folder (see provider.Provider).
func (p *Provider) Changes(ctx context.Context, folder api.Folder, cursor string, opts provider.Options) (provider.Page, error) {
	fid, ok := folderIDs[folder]
	if !ok {
		return provider.Page{}, provider.Failed("Exchange accounts cannot sync this folder.", fmt.Errorf("unknown folder %q", folder))
	}
	cs := cursorState{V: 1, Since: opts.Since.UTC()}
	if cursor != "" {
		var err error
		if cs, err = decodeCursor(cursor); err != nil {
			return provider.Page{}, err
		}
	}
	calendar := folder == api.Calendar
	env, err := p.c.call(ctx, syncFolderItemsRequest(fid, cs.SyncState, p.pageSize, calendar))
	if err != nil {
		return provider.Page{}, err
	}
	if env.Body.Sync == nil || len(env.Body.Sync.Messages) != 1 {
		return provider.Page{}, provider.Failed("The Exchange server's answer could not be read.", errors.New("SyncFolderItems: no response message"))
	}
	m := &env.Body.Sync.Messages[0]
	if m.Code != codeNoError {
		return provider.Page{}, p.c.classify(codeError(m.Code, m.Text, m.MessageXML, http.StatusOK))
	}
	if m.SyncState == "" {
		return provider.Page{}, provider.Failed("The Exchange server's answer could not be read.", errors.New("SyncFolderItems: empty SyncState"))
	}

	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	keep := func(it *ewsItem) bool {
		if calendar {
			start, end := parseTime(it.Start), parseTime(it.End)
			if start.IsZero() {
				return true // not known yet: decided after GetItem
			}
			if end.Before(start) {
				end = start
			}
			from, to := provider.CalendarWindow(now)
			return !end.Before(from) && !start.After(to)
		}
		t := parseTime(it.DateTimeReceived)
		return cs.Since.IsZero() || t.IsZero() || !t.Before(cs.Since)
	}

	// The last change of an item in the page wins.
	type op struct {
		deleted bool
		keep    bool
	}
	var order []string
	ops := map[string]op{}
	note := func(id string, o op) {
		if _, seen := ops[id]; !seen {
			order = append(order, id)
		}
		ops[id] = o
	}
	for i := range m.Changes.List {
		ch := &m.Changes.List[i]
		switch ch.XMLName.Local {
		case "Create", "Update":
			for j := range ch.Items {
				it := &ch.Items[j]
				if it.ItemID.ID != "" {
					note(it.ItemID.ID, op{keep: keep(it)})
				}
			}
		case "Delete":
			if ch.ItemID != nil && ch.ItemID.ID != "" {
				note(ch.ItemID.ID, op{deleted: true})
			}
		}
	}
	var fetch []string
	for _, id := range order {
		if o := ops[id]; !o.deleted && o.keep {
			fetch = append(fetch, id)
		}
	}
	items, issues, err := p.getItems(ctx, folder, fetch)
	if err != nil {
		return provider.Page{}, err
	}
	page := provider.Page{Issues: issues, More: !m.IncludesLastItemInRange}
	for _, id := range order {
		o := ops[id]
		if o.deleted {
			page.Changes = append(page.Changes, provider.Change{Deleted: true, Item: api.Item{ProviderID: id, Folder: folder}})
			continue
		}
		it, ok := items[id]
		if !ok {
			continue
		}
		if calendar && !inWindow(it, now) {
			continue
		}
		page.Changes = append(page.Changes, provider.Change{Item: it})
	}
	cs.SyncState = m.SyncState
	page.Cursor = cs.encode()
	return page, nil
}

func inWindow(it api.Item, now time.Time) bool {
	if it.Start.IsZero() {
		return true
	}
	end := it.End
	if end.Before(it.Start) {
		end = it.Start
	}
	from, to := provider.CalendarWindow(now)
	return !end.Before(from) && !it.Start.After(to)
}

// getItems reads ids in batches. An item gone since SyncFolderItems listed
// it is left out (its Delete follows in a later page); an item that cannot
// be read becomes an issue.
func (p *Provider) getItems(ctx context.Context, folder api.Folder, ids []string) (map[string]api.Item, []api.ItemIssue, error) {
	out := make(map[string]api.Item, len(ids))
	var issues []api.ItemIssue
	for start := 0; start < len(ids); start += p.batchSize {
		batch := ids[start:min(start+p.batchSize, len(ids))]
		env, err := p.c.call(ctx, getItemRequest(batch, folder == api.Calendar))
		if err != nil {
			return nil, nil, err
		}
		if env.Body.GetItem == nil {
			return nil, nil, provider.Failed("The Exchange server's answer could not be read.", errors.New("GetItem: no response"))
		}
		msgs := env.Body.GetItem.Messages
		for i := range msgs {
			m := &msgs[i]
			var id string
			if i < len(batch) {
				id = batch[i]
			}
			switch m.Code {
			case codeNoError:
			case codeItemNotFound:
				continue
			case codeServerBusy:
				return nil, nil, p.c.classify(codeError(m.Code, m.Text, m.MessageXML, http.StatusOK))
			default:
				issues = append(issues, api.ItemIssue{ProviderID: id, Folder: folder,
					Message: fmt.Sprintf("Exchange could not read this item (%s).", m.Code)})
				continue
			}
			for j := range m.Items.List {
				it := toItem(folder, &m.Items.List[j])
				if it.ProviderID == "" {
					it.ProviderID = id
				}
				if it.ProviderID != "" {
					out[it.ProviderID] = it
				}
			}
		}
	}
	return out, issues, nil
}

// toItem converts an EWS item to the store's shape.
func toItem(folder api.Folder, e *ewsItem) api.Item {
	it := api.Item{
		ProviderID:     e.ItemID.ID,
		Folder:         folder,
		Kind:           api.KindMail,
		MessageID:      e.InternetMessageID,
		ConversationID: e.ConversationID.ID,
		Subject:        e.Subject,
		From:           e.From.String(),
		To:             addresses(e.To),
		Cc:             addresses(e.Cc),
		Preview:        preview(e.Body, previewLength),
		Sensitivity:    provider.Sensitivity(e.Sensitivity),
		Categories:     provider.Categories(e.Categories),
	}
	received, sent := parseTime(e.DateTimeReceived), parseTime(e.DateTimeSent)
	it.Time = received
	if (folder == api.Sent && !sent.IsZero()) || it.Time.IsZero() {
		it.Time = sent
	}
	if folder == api.Calendar {
		it.Kind = api.KindEvent
		it.Start, it.End = parseTime(e.Start), parseTime(e.End)
		it.Location = e.Location
		it.Organizer = e.Organizer.String()
		it.From = it.Organizer
		it.Attendees = append(addresses(e.Required), addresses(e.Optional)...)
		if !it.Start.IsZero() {
			it.Time = it.Start
		}
	}
	return it
}

func addresses(ms []mailbox) []string {
	if len(ms) == 0 {
		return nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if s := m.String(); s != "" {
			out = append(out, s)
		}
	}
	return out
}
