package scripted_test

import (
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/providertest"
	"github.com/inboxsync/inboxsync/sync/provider/scripted"
)

type harness struct{}

type handle struct{ m *scripted.Mailbox }

func (harness) Open(t *testing.T, pageSize int) (provider.Provider, providertest.Mailbox) {
	m := scripted.New()
	m.SetPageSize(pageSize)
	m.SetPassword("right")
	return m.Provider("right"), handle{m}
}

func (h handle) Add(t *testing.T, f provider.Folder, n int, at time.Time) []string {
	return h.m.Add(f, n, at)
}
func (h handle) Update(t *testing.T, id string) {
	if err := h.m.Update(id); err != nil {
		t.Fatal(err)
	}
}
func (h handle) Delete(t *testing.T, id string) {
	if err := h.m.Delete(id); err != nil {
		t.Fatal(err)
	}
}
func (h handle) InvalidateCursors(t *testing.T) { h.m.InvalidateCursors() }
func (h handle) ChangePassword(t *testing.T)    { h.m.SetPassword("changed") }
func (h handle) ThrottleNext(t *testing.T, d time.Duration) {
	h.m.FailNext(provider.Throttled(d, nil))
}

func TestConformance(t *testing.T) { providertest.Run(t, harness{}) }
