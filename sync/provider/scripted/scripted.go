// Package scripted is an in-memory mailbox and provider for tests. Its
// behaviour is scripted by the test: items added, changed and deleted, the
// password the "server" expects, failures of every class, a delay per page.
//
// It is never shipped: the binary links it only when built with the
// "testprovider" build tag, for end-to-end tests of the real binary.
package scripted

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// DefaultPageSize is the page size when none is set.
const DefaultPageSize = 500

type op uint8

const (
	opAdd op = iota
	opUpdate
	opDelete
)

type entry struct {
	op  op
	idx int32
}

// marks are an item's sensitivity and categories (SetMarks).
type marks struct {
	sensitivity string
	categories  []string
}

type folderData struct {
	times    []int64 // item index → unix seconds
	revision map[int32]int
	deleted  map[int32]bool
	marks    map[int32]marks
	log      []entry // every mutation, in order; a cursor is a position in it
}

// Mailbox is a scripted mailbox. All methods are safe for concurrent use.
type Mailbox struct {
	mu        sync.Mutex
	folders   map[api.Folder]*folderData
	epoch     int
	password  string
	pageSize  int
	pageDelay time.Duration
	fail      []error
	failAll   error
	calls     int
	hook      func(folder api.Folder, cursor string) error
}

// New returns an empty mailbox with Inbox, Sent and Calendar.
func New() *Mailbox {
	m := &Mailbox{folders: map[api.Folder]*folderData{}, epoch: 1, pageSize: DefaultPageSize}
	for _, f := range api.AllFolders {
		m.folders[f] = &folderData{revision: map[int32]int{}, deleted: map[int32]bool{}, marks: map[int32]marks{}}
	}
	return m
}

// Add adds n items to folder, timed at `at`, and returns the new items'
// provider ids.
func (m *Mailbox) Add(folder api.Folder, n int, at time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	fd := m.folders[folder]
	ids := make([]string, 0, n)
	for range n {
		idx := int32(len(fd.times))
		fd.times = append(fd.times, at.Unix())
		fd.log = append(fd.log, entry{opAdd, idx})
		ids = append(ids, itemID(folder, idx))
	}
	return ids
}

// Count returns how many live items folder holds.
func (m *Mailbox) Count(folder api.Folder) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	fd := m.folders[folder]
	return len(fd.times) - len(fd.deleted)
}

// Update changes the subject of an item.
func (m *Mailbox) Update(id string) error {
	return m.mutate(id, func(fd *folderData, idx int32) {
		fd.revision[idx]++
		fd.log = append(fd.log, entry{opUpdate, idx})
	})
}

// SetMarks sets an item's sensitivity (api.SensitivityPrivate, …, or ""
// for normal) and categories, as a user marking it in the mailbox: the
// next incremental sync reports the item changed, its subject unchanged.
func (m *Mailbox) SetMarks(id, sensitivity string, categories ...string) error {
	return m.mutate(id, func(fd *folderData, idx int32) {
		fd.marks[idx] = marks{sensitivity: sensitivity, categories: append([]string(nil), categories...)}
		fd.log = append(fd.log, entry{opUpdate, idx})
	})
}

// Delete removes an item.
func (m *Mailbox) Delete(id string) error {
	return m.mutate(id, func(fd *folderData, idx int32) {
		fd.deleted[idx] = true
		fd.log = append(fd.log, entry{opDelete, idx})
	})
}

func (m *Mailbox) mutate(id string, f func(*folderData, int32)) error {
	folder, idx, err := parseID(id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fd := m.folders[folder]
	if fd == nil || int(idx) >= len(fd.times) || fd.deleted[idx] {
		return fmt.Errorf("scripted: no item %q", id)
	}
	f(fd, idx)
	return nil
}

// Remove removes an item without a trace in the history: no incremental
// sync reports it, and only a full sync, which no longer lists it, shows
// that it is gone. It is mail deleted or moved out of the folder while a
// laptop was closed longer than the server keeps history (Gmail's week),
// together with InvalidateCursors.
func (m *Mailbox) Remove(id string) error {
	return m.mutate(id, func(fd *folderData, idx int32) {
		fd.deleted[idx] = true
	})
}

// InvalidateCursors makes the mailbox forget every cursor it handed out,
// like an expired EWS SyncState or a Graph 410 Gone.
func (m *Mailbox) InvalidateCursors() {
	m.mu.Lock()
	m.epoch++
	m.mu.Unlock()
}

// SetPassword sets the password the mailbox accepts; "" accepts any.
func (m *Mailbox) SetPassword(p string) {
	m.mu.Lock()
	m.password = p
	m.mu.Unlock()
}

// SetPageSize sets the number of changes per page.
func (m *Mailbox) SetPageSize(n int) {
	m.mu.Lock()
	if n <= 0 {
		n = DefaultPageSize
	}
	m.pageSize = n
	m.mu.Unlock()
}

// SetPageDelay makes every call wait d (honouring its context) first.
func (m *Mailbox) SetPageDelay(d time.Duration) {
	m.mu.Lock()
	m.pageDelay = d
	m.mu.Unlock()
}

// FailNext makes the next calls return errs, one each, in order.
func (m *Mailbox) FailNext(errs ...error) {
	m.mu.Lock()
	m.fail = append(m.fail, errs...)
	m.mu.Unlock()
}

func (m *Mailbox) clearFailNext() {
	m.mu.Lock()
	m.fail = nil
	m.mu.Unlock()
}

// FailAll makes every call return err until FailAll(nil).
func (m *Mailbox) FailAll(err error) {
	m.mu.Lock()
	m.failAll = err
	m.mu.Unlock()
}

// SetHook installs a function called at the start of every Changes call;
// an error it returns is returned by the call.
func (m *Mailbox) SetHook(h func(folder api.Folder, cursor string) error) {
	m.mu.Lock()
	m.hook = h
	m.mu.Unlock()
}

// Calls returns how many Changes calls reached the mailbox (each is a
// login attempt as far as the credentials are concerned).
func (m *Mailbox) Calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}

// Provider returns a provider that reads the mailbox with password.
func (m *Mailbox) Provider(password string) *Provider {
	return &Provider{m: m, password: password}
}

// Provider reads a Mailbox. It implements provider.Provider.
type Provider struct {
	m        *Mailbox
	password string
	closed   bool
}

var _ provider.Provider = (*Provider)(nil)

// Folders returns Inbox, Sent and Calendar.
func (p *Provider) Folders() []api.Folder {
	return append([]api.Folder(nil), api.AllFolders...)
}

// Close marks the provider closed; later calls fail.
func (p *Provider) Close() error {
	p.closed = true
	return nil
}

// ErrBadPassword is the underlying error of a rejected call.
var ErrBadPassword = errors.New("401 Unauthorized")

// Changes implements provider.Provider.
func (p *Provider) Changes(ctx context.Context, folder api.Folder, cursor string, opts provider.Options) (provider.Page, error) {
	if p.closed {
		return provider.Page{}, errors.New("scripted: provider closed")
	}
	m := p.m
	m.mu.Lock()
	delay, hook := m.pageDelay, m.hook
	m.mu.Unlock()
	if hook != nil {
		if err := hook(folder, cursor); err != nil {
			return provider.Page{}, err
		}
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return provider.Page{}, ctx.Err()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return provider.Page{}, err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.password != "" && p.password != m.password {
		return provider.Page{}, provider.Rejected("The mailbox refused the password.", ErrBadPassword)
	}
	if m.failAll != nil {
		return provider.Page{}, m.failAll
	}
	if len(m.fail) > 0 {
		err := m.fail[0]
		m.fail = m.fail[1:]
		if err != nil {
			return provider.Page{}, err
		}
	}
	fd := m.folders[folder]
	if fd == nil {
		return provider.Page{}, fmt.Errorf("scripted: unknown folder %q", folder)
	}
	c, err := parseCursor(cursor)
	if err != nil {
		return provider.Page{}, provider.CursorInvalid(err)
	}
	if cursor != "" && c.epoch != m.epoch {
		return provider.Page{}, provider.CursorInvalid(errors.New("scripted: sync state expired"))
	}
	if cursor == "" {
		c = scriptCursor{epoch: m.epoch, full: true, next: 0, seq: len(fd.log)}
		c.lo, c.hi = listWindow(folder, opts)
	}
	var page provider.Page
	if c.full {
		// A full pass lists the live items as they are now, within the
		// window of the call that began it (kept in the cursor); changes
		// made during the pass come afterwards from the log, from c.seq
		// on.
		for int(c.next) < len(fd.times) && len(page.Changes) < m.pageSize {
			idx := c.next
			c.next++
			if t := fd.times[idx]; fd.deleted[idx] || (c.lo != 0 && t < c.lo) || (c.hi != 0 && t > c.hi) {
				continue
			}
			page.Changes = append(page.Changes, provider.Change{Item: fd.item(folder, idx)})
		}
		if int(c.next) >= len(fd.times) {
			c.full = false
		}
	} else {
		for c.seq < len(fd.log) && len(page.Changes) < m.pageSize {
			e := fd.log[c.seq]
			c.seq++
			if e.op == opDelete {
				page.Changes = append(page.Changes, provider.Change{Deleted: true, Item: api.Item{ProviderID: itemID(folder, e.idx), Folder: folder}})
				continue
			}
			if fd.deleted[e.idx] {
				continue
			}
			page.Changes = append(page.Changes, provider.Change{Item: fd.item(folder, e.idx)})
		}
	}
	page.More = c.full || c.seq < len(fd.log)
	page.Cursor = c.String()
	return page, nil
}

// listWindow returns the span of item times, in Unix seconds (0: open),
// a full pass of folder lists: opts.Since on for mail, the calendar window
// around opts.Now (provider.CalendarWindow) for the calendar (or
// opts.Since on without a Now), like the real providers.
func listWindow(folder api.Folder, opts provider.Options) (lo, hi int64) {
	if folder == api.Calendar && !opts.Now.IsZero() {
		from, to := provider.CalendarWindow(opts.Now)
		return from.Unix(), to.Unix()
	}
	if !opts.Since.IsZero() {
		lo = opts.Since.Unix()
	}
	return lo, 0
}

func (fd *folderData) item(folder api.Folder, idx int32) api.Item {
	t := time.Unix(fd.times[idx], 0).UTC()
	it := api.Item{
		ProviderID:     itemID(folder, idx),
		Folder:         folder,
		Kind:           api.KindMail,
		MessageID:      fmt.Sprintf("<%s-%d@scripted.test>", folder, idx),
		ConversationID: fmt.Sprintf("conv-%d", idx/4),
		Subject:        fmt.Sprintf("Scripted %s item %d", folder, idx),
		From:           "alice@scripted.test",
		To:             []string{"bob@scripted.test"},
		Time:           t,
		Preview:        "Hello from the scripted mailbox.",
	}
	if r := fd.revision[idx]; r > 0 {
		it.Subject += fmt.Sprintf(" (rev %d)", r)
	}
	if mk, ok := fd.marks[idx]; ok {
		it.Sensitivity, it.Categories = mk.sensitivity, provider.Categories(mk.categories)
	}
	if folder == api.Calendar {
		// Like Graph's and Google's events, a meeting has no sender: who
		// it is from is its organizer.
		it.Kind = api.KindEvent
		it.From = ""
		it.Start, it.End = t, t.Add(time.Hour)
		it.Location = "Room 1"
		it.Organizer = "alice@scripted.test"
		it.Attendees = []string{"bob@scripted.test"}
	}
	return it
}

func itemID(folder api.Folder, idx int32) string {
	return string(folder) + "-" + strconv.Itoa(int(idx))
}

func parseID(id string) (api.Folder, int32, error) {
	f, n, ok := strings.Cut(id, "-")
	i, err := strconv.Atoi(n)
	if !ok || err != nil {
		return "", 0, fmt.Errorf("scripted: bad item id %q", id)
	}
	return api.Folder(f), int32(i), nil
}

// scriptCursor is "epoch:F:next:seq:lo:hi" during a full pass (lo and hi
// bound the times it lists, 0 for open; cursors without them are read as
// open), "epoch:S:seq" after.
type scriptCursor struct {
	epoch  int
	full   bool
	next   int32
	seq    int
	lo, hi int64
}

func (c scriptCursor) String() string {
	if c.full {
		return fmt.Sprintf("%d:F:%d:%d:%d:%d", c.epoch, c.next, c.seq, c.lo, c.hi)
	}
	return fmt.Sprintf("%d:S:%d", c.epoch, c.seq)
}

func parseCursor(s string) (scriptCursor, error) {
	if s == "" {
		return scriptCursor{}, nil
	}
	parts := strings.Split(s, ":")
	nums := make([]int64, 0, 5)
	for i, p := range parts {
		if i == 1 {
			continue
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return scriptCursor{}, fmt.Errorf("scripted: bad cursor %q", s)
		}
		nums = append(nums, n)
	}
	switch {
	case len(parts) == 4 && parts[1] == "F":
		return scriptCursor{epoch: int(nums[0]), full: true, next: int32(nums[1]), seq: int(nums[2])}, nil
	case len(parts) == 6 && parts[1] == "F":
		return scriptCursor{epoch: int(nums[0]), full: true, next: int32(nums[1]), seq: int(nums[2]), lo: nums[3], hi: nums[4]}, nil
	case len(parts) == 3 && parts[1] == "S":
		return scriptCursor{epoch: int(nums[0]), seq: int(nums[1])}, nil
	}
	return scriptCursor{}, fmt.Errorf("scripted: bad cursor %q", s)
}
