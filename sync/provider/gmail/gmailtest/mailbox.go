package gmailtest

// The mailboxes: the main one (the delegated sign-in's, Server.Address)
// and the other users of the emulated Workspace domain, which a service
// account with domain-wide delegation reads.

import (
	"strings"
	"time"
)

// Main returns the main mailbox, Address's: the one a delegated sign-in
// reads. The Server's scripting methods (Add, Trash, AddEvent, …) act on
// it.
func (s *Server) Main() *Mailbox { return s.main }

// AddUser adds a user of the emulated domain with an empty mailbox and
// returns it; a user already there is returned as it is. Address (the
// main mailbox) is a user of the domain without being added.
func (s *Server) AddUser(address string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.userLocked(address); b != nil {
		return b
	}
	b := newMailbox(s, address)
	s.users[strings.ToLower(address)] = b
	return b
}

// User returns the domain's user with address, or nil.
func (s *Server) User(address string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.userLocked(address)
}

// userLocked is User with s.mu held.
func (s *Server) userLocked(address string) *Mailbox {
	if strings.EqualFold(address, s.Address) {
		return s.main
	}
	return s.users[strings.ToLower(address)]
}

// RemoveUser deletes a user from the domain (as an admin deleting or
// suspending the account): service accounts get no more tokens for it
// (invalid_grant "Invalid email or User ID"), and the tokens it had are
// refused (401).
func (s *Server) RemoveUser(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.users[strings.ToLower(address)]
	if b == nil {
		return
	}
	delete(s.users, strings.ToLower(address))
	for _, g := range s.access {
		if g.box == b {
			g.revoked = true
		}
	}
}

// Add adds n messages to the main mailbox (see Mailbox.Add).
func (s *Server) Add(labels []string, n int, at time.Time) []string { return s.main.Add(labels, n, at) }

// SendToSelf adds a message sent to oneself to the main mailbox.
func (s *Server) SendToSelf(at time.Time) string { return s.main.SendToSelf(at) }

// AddLabel adds a label to a message of the main mailbox.
func (s *Server) AddLabel(id, l string) { s.main.AddLabel(id, l) }

// RemoveLabel removes a label from a message of the main mailbox.
func (s *Server) RemoveLabel(id, l string) { s.main.RemoveLabel(id, l) }

// Trash moves a message of the main mailbox to the trash.
func (s *Server) Trash(id string) { s.main.Trash(id) }

// Untrash takes a message of the main mailbox out of the trash.
func (s *Server) Untrash(id string) { s.main.Untrash(id) }

// Delete deletes a message of the main mailbox for good.
func (s *Server) Delete(id string) { s.main.Delete(id) }

// ExpireHistory expires the main mailbox's history (see
// Mailbox.ExpireHistory).
func (s *Server) ExpireHistory() { s.main.ExpireHistory() }

// HistoryID returns the main mailbox's current history id.
func (s *Server) HistoryID() uint64 { return s.main.HistoryID() }

// AddEvent adds n events to the main mailbox's calendar (see
// Mailbox.AddEvent).
func (s *Server) AddEvent(n int, start time.Time) []string { return s.main.AddEvent(n, start) }

// AddAllDayEvent adds an all-day event to the main mailbox's calendar.
func (s *Server) AddAllDayEvent(day time.Time, days int) string {
	return s.main.AddAllDayEvent(day, days)
}

// ChangeEvent changes an event of the main mailbox's calendar.
func (s *Server) ChangeEvent(id string) { s.main.ChangeEvent(id) }

// MoveEvent moves an event of the main mailbox's calendar.
func (s *Server) MoveEvent(id string, start time.Time) { s.main.MoveEvent(id, start) }

// CancelEvent cancels an event of the main mailbox's calendar.
func (s *Server) CancelEvent(id string) { s.main.CancelEvent(id) }

// InvalidateSyncTokens makes the main mailbox's calendar sync tokens
// answer 410.
func (s *Server) InvalidateSyncTokens() { s.main.InvalidateSyncTokens() }
