package pgstore

import (
	"context"
	"strings"
	"testing"
)

// TestExchangeMailboxes: schema 5 lets Exchange on-premises mailboxes in,
// in the table's own check too, and nothing else.
func TestExchangeMailboxes(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	added, err := s.AddMailboxes(ctx, []NewMailbox{{"Alice@Contoso.com", "Exchange"}}, nil)
	if err != nil || len(added) != 1 {
		t.Fatalf("AddMailboxes(exchange) = %v, %v", added, err)
	}
	mb, err := s.Mailbox(ctx, "alice@contoso.com")
	if err != nil || mb.Provider != ProviderExchange || mb.State != StateEnabled {
		t.Fatalf("Mailbox = %+v, %v", mb, err)
	}
	// The database itself refuses another provider.
	_, err = s.Pool().Exec(ctx, `INSERT INTO mailboxes (address, provider, next_sync) VALUES ('x@contoso.com', 'imap', now())`)
	if err == nil || !strings.Contains(err.Error(), "mailboxes_provider_check") {
		t.Fatalf("an imap mailbox inserted directly: %v", err)
	}
}
