package gmailtest

// users.labels.list and the user labels of a mailbox.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// systemLabels are the system labels labels.list reports besides the
// user's, as Gmail names them (ids equal names).
var systemLabels = []string{"CHAT", "SENT", "INBOX", "IMPORTANT", "TRASH", "DRAFT", "SPAM",
	"CATEGORY_FORUMS", "CATEGORY_UPDATES", "CATEGORY_PERSONAL", "CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "STARRED", "UNREAD"}

// userLabel is a label the user made: its id ("Label_N") never changes,
// its name may.
type userLabel struct{ id, name string }

// CreateLabel makes a user label named name and returns its id
// ("Label_N"); a label of that name already there is returned as it is.
func (b *Mailbox) CreateLabel(name string) string {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.labelLocked(name)
}

// labelLocked returns the id of the user label named name, made when
// missing; the server's mu is held.
func (b *Mailbox) labelLocked(name string) string {
	for _, l := range b.labels {
		if strings.EqualFold(l.name, name) {
			return l.id
		}
	}
	b.labelSeq++
	l := userLabel{id: fmt.Sprintf("Label_%d", b.labelSeq), name: name}
	b.labels = append(b.labels, l)
	return l.id
}

// RenameLabel renames the user label id. As in Gmail, the messages that
// carry it are not changed and no history record is written.
func (b *Mailbox) RenameLabel(id, name string) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	for i := range b.labels {
		if b.labels[i].id == id {
			b.labels[i].name = name
		}
	}
}

// AddUserLabel puts the user label named name (made when missing) on a
// message, as the user does in Gmail: a labelsAdded history record with
// the label's id. It returns the label's id.
func (b *Mailbox) AddUserLabel(id, name string) string {
	b.s.mu.Lock()
	lid := b.labelLocked(name)
	b.s.mu.Unlock()
	b.AddLabel(id, lid)
	return lid
}

// RemoveUserLabel takes the user label named name off a message (a
// labelsRemoved history record).
func (b *Mailbox) RemoveUserLabel(id, name string) {
	b.s.mu.Lock()
	lid := ""
	for _, l := range b.labels {
		if strings.EqualFold(l.name, name) {
			lid = l.id
		}
	}
	b.s.mu.Unlock()
	if lid != "" {
		b.RemoveLabel(id, lid)
	}
}

// labelsList answers users.labels.list: every label with only id, name,
// messageListVisibility, labelListVisibility and type, as Google documents.
func (s *Server) labelsList(w http.ResponseWriter, r *http.Request, c call) {
	b := c.box
	s.mu.Lock()
	out := make([]map[string]string, 0, len(systemLabels)+len(b.labels))
	for _, id := range systemLabels {
		l := map[string]string{"id": id, "name": id, "type": "system"}
		if !strings.HasPrefix(id, "CATEGORY_") && !slices.Contains([]string{"UNREAD", "CHAT"}, id) {
			l["messageListVisibility"], l["labelListVisibility"] = "hide", "labelShow"
		}
		out = append(out, l)
	}
	for _, l := range b.labels {
		out = append(out, map[string]string{"id": l.id, "name": l.name, "type": "user", "messageListVisibility": "show", "labelListVisibility": "labelShow"})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"labels": out})
}

// CreateLabel makes a user label in the main mailbox (see
// Mailbox.CreateLabel).
func (s *Server) CreateLabel(name string) string { return s.main.CreateLabel(name) }

// RenameLabel renames a user label of the main mailbox.
func (s *Server) RenameLabel(id, name string) { s.main.RenameLabel(id, name) }

// AddUserLabel puts a user label on a message of the main mailbox (see
// Mailbox.AddUserLabel).
func (s *Server) AddUserLabel(id, name string) string { return s.main.AddUserLabel(id, name) }

// RemoveUserLabel takes a user label off a message of the main mailbox.
func (s *Server) RemoveUserLabel(id, name string) { s.main.RemoveUserLabel(id, name) }
