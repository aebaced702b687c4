package crmlog

import (
	"net/mail"
	"slices"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
)

// DefaultBlocklist holds the common free-mail domains, left out before
// matching. "yahoo.*" matches yahoo.com, yahoo.co.uk …
var DefaultBlocklist = []string{
	"gmail.com", "googlemail.com", "yahoo.*", "outlook.com", "hotmail.*", "live.com", "msn.com",
	"icloud.com", "me.com", "aol.com", "gmx.*", "mail.ru", "yandex.*", "proton.me", "protonmail.com",
}

// Role is where an address appears on an item.
type Role string

// Roles of participants; for emails they are the EmailMessageRelation
// types.
const (
	RoleFrom     Role = "FromAddress"
	RoleTo       Role = "ToAddress"
	RoleCc       Role = "CcAddress"
	RoleAttendee Role = "Attendee"
)

// Participant is one address on an item.
type Participant struct {
	// Address is lower-case, without the display name.
	Address string
	// Name is the display name, when the item had one.
	Name string
	Role Role
}

// ParseAddress splits "Name <a@b>" or "a@b" into a lower-case address and
// a name; ok is false when s holds no address.
func ParseAddress(s string) (addr, name string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", false
	}
	if a, err := mail.ParseAddress(s); err == nil {
		return strings.ToLower(a.Address), a.Name, true
	}
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		name, s = strings.Trim(strings.TrimSpace(s[:i]), `"`), s[i+1:len(s)-1]
	}
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " ,;") {
		return "", "", false
	}
	return strings.ToLower(s), name, true
}

// Participants returns an item's participants, each address once (its
// first role wins): From, To, Cc for an email; organizer and attendees
// for a meeting.
func Participants(it api.Item) []Participant {
	var out []Participant
	add := func(role Role, list ...string) {
		for _, s := range list {
			a, n, ok := ParseAddress(s)
			if !ok || slices.ContainsFunc(out, func(p Participant) bool { return p.Address == a }) {
				continue
			}
			out = append(out, Participant{Address: a, Name: n, Role: role})
		}
	}
	if it.Kind == api.KindEvent {
		add(RoleAttendee, it.Organizer)
		add(RoleAttendee, it.Attendees...)
		return out
	}
	add(RoleFrom, it.From)
	add(RoleTo, it.To...)
	add(RoleCc, it.Cc...)
	return out
}

// Filter tells external addresses from internal and blocklisted ones.
type Filter struct {
	internal []string
	blocked  []string
}

// NewFilter returns a filter for a mailbox: its own domain and the
// internal domains are internal (with their subdomains), and the
// blocklist's domains (nil: DefaultBlocklist) are left out too.
func NewFilter(mailbox string, internalDomains, blocklist []string) *Filter {
	f := &Filter{}
	if a, _, ok := ParseAddress(mailbox); ok {
		f.internal = append(f.internal, a[strings.LastIndexByte(a, '@')+1:])
	}
	for _, d := range internalDomains {
		if d = normDomain(d); d != "" {
			f.internal = append(f.internal, d)
		}
	}
	if blocklist == nil {
		blocklist = DefaultBlocklist
	}
	for _, d := range blocklist {
		if d = normDomain(d); d != "" {
			f.blocked = append(f.blocked, d)
		}
	}
	return f
}

func normDomain(d string) string {
	return strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
}

// Why returns "" for an external address, or why it is left out:
// "internal" or "free-mail".
func (f *Filter) Why(addr string) string {
	addr = strings.ToLower(addr)
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	for _, d := range f.internal {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return "internal"
		}
	}
	for _, d := range f.blocked {
		if base, ok := strings.CutSuffix(d, ".*"); ok {
			if strings.HasPrefix(domain, base+".") {
				return "free-mail"
			}
		} else if domain == d {
			return "free-mail"
		}
	}
	return ""
}

// External returns the participants whose address is neither internal nor
// blocklisted.
func (f *Filter) External(ps []Participant) []Participant {
	var out []Participant
	for _, p := range ps {
		if f.Why(p.Address) == "" {
			out = append(out, p)
		}
	}
	return out
}

// NotInternal returns the participants whose address is not internal
// (blocklisted ones included): the candidates of an item marked by hand.
func (f *Filter) NotInternal(ps []Participant) []Participant {
	var out []Participant
	for _, p := range ps {
		if f.Why(p.Address) != "internal" {
			out = append(out, p)
		}
	}
	return out
}
