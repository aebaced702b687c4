package crmlog_test

import (
	"testing"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/sync/api"
)

func TestFilter(t *testing.T) {
	f := crmlog.NewFilter("Rep <rep@MyCorp.example>", []string{"@subsidiary.example", " Partner.example "}, nil)
	for _, c := range []struct {
		addr, want string
	}{
		{"ann@acme.example", ""},
		{"colleague@mycorp.example", "internal"},
		{"someone@eu.mycorp.example", "internal"},
		{"x@notmycorp.example", ""},
		{"y@subsidiary.example", "internal"},
		{"z@partner.example", "internal"},
		{"joe@gmail.com", "free-mail"},
		{"joe@googlemail.com", "free-mail"},
		{"jo@yahoo.com", "free-mail"},
		{"jo@yahoo.co.uk", "free-mail"},
		{"jo@yahooligans.example", ""},
		{"a@hotmail.fr", "free-mail"},
		{"a@gmx.de", "free-mail"},
		{"a@gmx.net", "free-mail"},
		{"a@yandex.ru", "free-mail"},
		{"a@mail.ru", "free-mail"},
		{"a@proton.me", "free-mail"},
		{"a@protonmail.com", "free-mail"},
		{"a@icloud.com", "free-mail"},
		{"a@me.com", "free-mail"},
		{"a@some.me.com.example", ""},
		{"A@OUTLOOK.COM", "free-mail"},
	} {
		if got := f.Why(c.addr); got != c.want {
			t.Errorf("Why(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
	// An edited blocklist replaces the default; an empty one blocks nothing.
	if got := crmlog.NewFilter("rep@mycorp.example", nil, []string{"acme.*"}).Why("ann@acme.example"); got != "free-mail" {
		t.Errorf("custom blocklist: %q", got)
	}
	if got := crmlog.NewFilter("rep@mycorp.example", nil, []string{}).Why("joe@gmail.com"); got != "" {
		t.Errorf("empty blocklist: %q", got)
	}
}

func TestParticipants(t *testing.T) {
	mail := api.Item{Kind: api.KindMail, From: `"Ann A." <Ann@Acme.example>`, To: []string{"rep@mycorp.example", "ann@acme.example", "not an address"}, Cc: []string{"Bob <bob@beta.example>"}}
	got := crmlog.Participants(mail)
	want := []crmlog.Participant{
		{Address: "ann@acme.example", Name: "Ann A.", Role: crmlog.RoleFrom},
		{Address: "rep@mycorp.example", Role: crmlog.RoleTo},
		{Address: "bob@beta.example", Name: "Bob", Role: crmlog.RoleCc},
	}
	if len(got) != len(want) {
		t.Fatalf("Participants = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("participant %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	meeting := api.Item{Kind: api.KindEvent, Organizer: "rep@mycorp.example", Attendees: []string{"ann@acme.example", "Rep@mycorp.example"}}
	if got := crmlog.Participants(meeting); len(got) != 2 || got[1].Address != "ann@acme.example" || got[1].Role != crmlog.RoleAttendee {
		t.Fatalf("meeting participants = %+v", got)
	}
}
