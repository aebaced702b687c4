package ewstest

// What tests put in the emulated mailboxes, change and delete: messages,
// meetings, generated items, marks.

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Message is a mail item to add.
type Message struct {
	Subject, Body string
	From          string
	To, Cc        []string
	Received      time.Time
	// Categories and Sensitivity (Normal, Personal, Private,
	// Confidential; "" is Normal) are the marks a user sets in Outlook.
	Categories  []string
	Sensitivity string
	// Conversation, when set, puts the message in that conversation (an
	// earlier message's, see ConversationOf); else it starts its own.
	Conversation string
}

// Event is a calendar item to add.
type Event struct {
	Subject, Location  string
	Start, End         time.Time
	Organizer          string
	Required, Optional []string
	// Categories and Sensitivity are the marks, as for Message.
	Categories  []string
	Sensitivity string
}

func mkAddr(s string) addr {
	name, _, _ := strings.Cut(s, "@")
	if name == "" {
		return addr{email: s}
	}
	return addr{name: strings.ToUpper(name[:1]) + name[1:], email: s}
}

func mkAddrs(ss []string) []addr {
	var out []addr
	for _, s := range ss {
		out = append(out, mkAddr(s))
	}
	return out
}

func (s *Server) newItemLocked(b *box, fid string) *item {
	s.seq++
	raw := fmt.Sprintf("AAMkAGI2TG93AAA%s%08d", fid, s.seq)
	it := &item{ID: base64.StdEncoding.EncodeToString([]byte(raw)), folder: fid, box: b}
	it.conversation = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("AAQkAGI2conv%08d", s.seq)))
	it.messageID = fmt.Sprintf("<%08d.%s@contoso.test>", s.seq, fid)
	return it
}

func (s *Server) addLocked(it *item) string {
	f := it.box.folders[it.folder]
	s.byID[it.ID] = it
	f.log = append(f.log, entry{kindCreate, it})
	return it.ID
}

// AddMessage adds a message to the Inbox or Sent Items and returns its id.
func (s *Server) AddMessage(f api.Folder, m Message) string { return s.addMessage(s.defBox, f, m) }

func (s *Server) addMessage(b *box, f api.Folder, m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.newItemLocked(b, folderIDs[f])
	it.class = "IPM.Note"
	it.subject, it.body = m.Subject, m.Body
	it.from = mkAddr(m.From)
	it.to, it.cc = mkAddrs(m.To), mkAddrs(m.Cc)
	it.received, it.sent = m.Received.UTC(), m.Received.Add(-time.Minute).UTC()
	it.categories, it.sensitivity = slices.Clone(m.Categories), m.Sensitivity
	if m.Conversation != "" {
		it.conversation = m.Conversation
	}
	return s.addLocked(it)
}

// AddEvent adds a meeting to the Calendar and returns its id.
func (s *Server) AddEvent(e Event) string { return s.addEvent(s.defBox, e) }

func (s *Server) addEvent(b *box, e Event) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.newItemLocked(b, "calendar")
	it.class = "IPM.Appointment"
	it.subject, it.location = e.Subject, e.Location
	it.start, it.end = e.Start.UTC(), e.End.UTC()
	it.received = e.Start.Add(-7 * 24 * time.Hour).UTC()
	it.organizer = mkAddr(e.Organizer)
	it.required, it.option = mkAddrs(e.Required), mkAddrs(e.Optional)
	it.categories, it.sensitivity = slices.Clone(e.Categories), e.Sensitivity
	it.body = "Agenda: " + e.Subject
	return s.addLocked(it)
}

// Add adds n generated items dated at (for the calendar: starting at) to
// folder and returns their ids.
func (s *Server) Add(f api.Folder, n int, at time.Time) []string { return s.add(s.defBox, f, n, at) }

func (s *Server) add(b *box, f api.Folder, n int, at time.Time) []string {
	ids := make([]string, 0, n)
	for i := range n {
		if f == api.Calendar {
			ids = append(ids, s.addEvent(b, Event{
				Subject: fmt.Sprintf("Meeting %d", i), Location: "Room " + strconv.Itoa(i%9+1),
				Start: at, End: at.Add(time.Hour), Organizer: "bob@contoso.test",
				Required: []string{"ann@contoso.test"}, Optional: []string{"carol@contoso.test"},
			}))
			continue
		}
		ids = append(ids, s.addMessage(b, f, Message{
			Subject:  fmt.Sprintf("%s message %d", f, i),
			Body:     fmt.Sprintf("Hello Ann,\r\n\r\nthis is message %d of the emulated %s folder. It has a body long enough to be cut for the preview: %s", i, f, strings.Repeat("lorem ipsum dolor sit amet ", 12)),
			From:     "bob@contoso.test",
			To:       []string{"ann@contoso.test"},
			Cc:       []string{"carol@contoso.test"},
			Received: at,
		}))
	}
	return ids
}

// Update changes an item's subject so that it syncs again.
func (s *Server) Update(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[id]
	if it == nil || it.deleted {
		return fmt.Errorf("ewstest: no item %q", id)
	}
	it.changeKey++
	it.subject += " (edited)"
	f := it.box.folders[it.folder]
	f.log = append(f.log, entry{kindUpdate, it})
	return nil
}

// SetCategories sets an item's categories, as a user does in Outlook: the
// item's ChangeKey moves and the next SyncFolderItems reports it in an
// Update; nothing else of it changes.
func (s *Server) SetCategories(id string, names ...string) error {
	return s.mark(id, func(it *item) { it.categories = slices.Clone(names) })
}

// SetSensitivity sets an item's Sensitivity (Normal, Personal, Private or
// Confidential); the next SyncFolderItems reports it in an Update.
func (s *Server) SetSensitivity(id, sensitivity string) error {
	return s.mark(id, func(it *item) { it.sensitivity = sensitivity })
}

func (s *Server) mark(id string, set func(*item)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[id]
	if it == nil || it.deleted {
		return fmt.Errorf("ewstest: no item %q", id)
	}
	set(it)
	it.changeKey++
	f := it.box.folders[it.folder]
	f.log = append(f.log, entry{kindUpdate, it})
	return nil
}

// ConversationOf returns the ConversationId of an item ("" when unknown).
func (s *Server) ConversationOf(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.byID[id]; it != nil {
		return it.conversation
	}
	return ""
}

// Delete removes an item.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.byID[id]
	if it == nil || it.deleted {
		return fmt.Errorf("ewstest: no item %q", id)
	}
	it.deleted = true
	f := it.box.folders[it.folder]
	f.log = append(f.log, entry{kindDelete, it})
	return nil
}
