package crmlog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/crm"
)

// peopleOnly is a Recorder that knows people only; its other methods fail
// the test.
type peopleOnly struct {
	crm.Recorder // nil: any other method panics
	t            *testing.T
	people       []crm.Person
	calls        [][]string
}

func (p *peopleOnly) FindPeople(_ context.Context, addrs []string) ([]crm.Person, error) {
	if len(addrs) > crmlog.MaxAddressesPerLookup {
		p.t.Errorf("FindPeople got %d addresses", len(addrs))
	}
	p.calls = append(p.calls, addrs)
	var out []crm.Person
	for _, pe := range p.people {
		for _, a := range addrs {
			if strings.EqualFold(a, pe.Email) {
				out = append(out, pe)
			}
		}
	}
	return out, nil
}

func TestMatcher(t *testing.T) {
	rec := &peopleOnly{t: t, people: []crm.Person{
		{ID: "00Q1", Object: api.ObjLead, Email: "both@acme.example"},
		{ID: "0031", Object: api.ObjContact, Email: "Both@Acme.example", AccountID: "001A"},
		{ID: "00Q2", Object: api.ObjLead, Email: "lead@beta.example"},
		{ID: "0032", Object: api.ObjContact, Email: "CONTACT@gamma.example"},
	}}
	m := crmlog.NewMatcher(rec)
	if err := m.Resolve(context.Background(), []string{"both@acme.example", "Lead@Beta.example", "contact@gamma.example", "nobody@delta.example"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ addr, id string }{
		{"both@acme.example", "0031"}, // a Contact wins over a Lead
		{"LEAD@beta.example", "00Q2"},
		{"contact@gamma.example", "0032"},
		{"nobody@delta.example", ""},
	} {
		got := ""
		if p := m.Person(c.addr); p != nil {
			got = p.ID
		}
		if got != c.id {
			t.Errorf("Person(%q) = %q, want %q", c.addr, got, c.id)
		}
	}
	// Answers, misses included, are cached.
	if err := m.Resolve(context.Background(), []string{"nobody@delta.example", "both@acme.example"}); err != nil || len(rec.calls) != 1 {
		t.Fatalf("cached addresses were looked up again: %d calls, %v", len(rec.calls), err)
	}
	// More than 50 new addresses go in lookups of at most 50.
	var many []string
	for i := range 120 {
		many = append(many, fmt.Sprintf("p%d@acme.example", i))
	}
	many = append(many, many[:10]...) // repeats are asked once
	if err := m.Resolve(context.Background(), many); err != nil {
		t.Fatal(err)
	}
	if len(rec.calls) != 4 || len(rec.calls[1]) != 50 || len(rec.calls[3]) != 20 || m.Lookups != 4 {
		t.Fatalf("lookups: %d, sizes %d/%d", len(rec.calls), len(rec.calls[1]), len(rec.calls[3]))
	}
}
