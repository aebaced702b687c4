package crmlog

import (
	"context"
	"slices"
	"strings"

	"github.com/inboxsync/inboxsync/sync/crm"

	"github.com/inboxsync/inboxsync/sync/api"
)

// MaxAddressesPerLookup is the most addresses one FindPeople call gets:
// it keeps query URIs short (docs/architecture.md §5).
const MaxAddressesPerLookup = 50

// Matcher finds the CRM person of each address, asking the Recorder only
// about addresses it has not asked about before (answers, misses included,
// are cached for the matcher's life: one run).
type Matcher struct {
	rec   crm.Recorder
	cache map[string]*crm.Person // address → person, nil for no match
	// Lookups counts the FindPeople calls made.
	Lookups int
}

// NewMatcher returns a matcher with an empty cache.
func NewMatcher(rec crm.Recorder) *Matcher {
	return &Matcher{rec: rec, cache: map[string]*crm.Person{}}
}

// Resolve looks up the addresses not yet cached, MaxAddressesPerLookup at a
// time. A Contact wins over a Lead with the same address; among several
// of a kind the first the CRM returns wins.
func (m *Matcher) Resolve(ctx context.Context, addrs []string) error {
	var todo []string
	for _, a := range addrs {
		a = strings.ToLower(a)
		if _, ok := m.cache[a]; ok || slices.Contains(todo, a) {
			continue
		}
		todo = append(todo, a)
	}
	for start := 0; start < len(todo); start += MaxAddressesPerLookup {
		part := todo[start:min(start+MaxAddressesPerLookup, len(todo))]
		m.Lookups++
		people, err := m.rec.FindPeople(ctx, part)
		if err != nil {
			return err
		}
		found := map[string]*crm.Person{}
		for i := range people {
			p := &people[i]
			a := strings.ToLower(p.Email)
			if cur := found[a]; cur == nil || (cur.Object == api.ObjLead && p.Object == api.ObjContact) {
				found[a] = p
			}
		}
		for _, a := range part {
			m.cache[a] = found[a]
		}
	}
	return nil
}

// Person returns the cached match of addr, or nil.
func (m *Matcher) Person(addr string) *crm.Person { return m.cache[strings.ToLower(addr)] }

// add caches a person the Logger created.
func (m *Matcher) add(p crm.Person) { m.cache[strings.ToLower(p.Email)] = &p }

// forget drops addr from the cache, so that it is looked up again.
func (m *Matcher) forget(addr string) { delete(m.cache, strings.ToLower(addr)) }
