package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestCRMMapConcurrentAndClear: overrides set at once by several admins
// all stay (each changes its own entry in SQL), addresses are lowercased,
// --clear removes one, and a bad address is refused.
func TestCRMMapConcurrentAndClear(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if m, err := s.CRMMap(ctx); err != nil || len(m) != 0 {
		t.Fatalf("empty map: %v, %v", m, err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.SetCRMMapping(ctx, fmt.Sprintf("User%02d@Contoso.test", i), fmt.Sprintf("u%02d@contoso.test.sf", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	m, err := s.CRMMap(ctx)
	if err != nil || len(m) != 20 || m["user07@contoso.test"] != "u07@contoso.test.sf" {
		t.Fatalf("after 20 concurrent maps: %d entries %v, %v", len(m), m, err)
	}
	if err := s.SetCRMMapping(ctx, "user07@contoso.test", "other@contoso.test.sf"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCRMMapping(ctx, "USER08@contoso.test", ""); err != nil {
		t.Fatal(err)
	}
	m, _ = s.CRMMap(ctx)
	if len(m) != 19 || m["user07@contoso.test"] != "other@contoso.test.sf" || m["user08@contoso.test"] != "" {
		t.Fatalf("after a change and a clear: %v", m)
	}
	if err := s.SetCRMMapping(ctx, "not an address", "x@y.sf"); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("a bad address: %v", err)
	}
}
