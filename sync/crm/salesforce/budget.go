package salesforce

import (
	"context"
	"sync"
	"time"
)

// BudgetState is the org's API budget as the connector knows it: the
// usage from the last Sforce-Limit-Info and the back-off that runs. Its
// methods are the budget's rules, in one place: whoever keeps the state
// (this process, or PostgreSQL for an organisation) applies them through
// a Budget.
type BudgetState struct {
	// Used and Limit are the org's API requests of the last 24 hours and
	// its daily allocation (Sforce-Limit-Info: api-usage=Used/Limit).
	Used  int `json:"used"`
	Limit int `json:"limit"`
	// Until is when requests may be sent again (zero or past: now).
	Until time.Time `json:"until,omitzero"`
	// Throttles counts the back-offs in a row; it picks the next wait
	// from Backoffs.
	Throttles int `json:"throttles,omitempty"`
}

// Waiting reports whether a back-off runs at now.
func (s BudgetState) Waiting(now time.Time) bool { return now.Before(s.Until) }

// Note records an answer's usage figures. Past share of the allocation
// (the 90 % stop) it starts the next back-off unless one runs; below it,
// the run of back-offs ends.
func (s *BudgetState) Note(now time.Time, used, limit int, share float64) {
	s.Used, s.Limit = used, limit
	if limit > 0 && float64(used) >= share*float64(limit) {
		if !s.Waiting(now) {
			s.BackOff(now)
		}
		return
	}
	s.Throttles = 0
}

// Exceeded records a 403 REQUEST_LIMIT_EXCEEDED answer: the next back-off
// starts unless one runs. It returns when requests may be sent again.
func (s *BudgetState) Exceeded(now time.Time) time.Time {
	if !s.Waiting(now) {
		s.BackOff(now)
	}
	return s.Until
}

// BackOff starts the next back-off: 30 minutes, then 2.5, 4.5 and 6.5
// hours (Backoffs), the last repeating while the budget stays used up.
func (s *BudgetState) BackOff(now time.Time) time.Time {
	d := Backoffs[min(s.Throttles, len(Backoffs)-1)]
	s.Throttles++
	s.Until = now.Add(d)
	return s.Until
}

// Budget keeps the BudgetState that every client of one Salesforce org
// shares. The default is in this process (NewMemoryBudget); organisation
// mode keeps it in PostgreSQL so that all workers stop together.
type Budget interface {
	// Load returns the state.
	Load(ctx context.Context) (BudgetState, error)
	// Update runs f on the state and keeps what f left, atomically with
	// respect to every other Update of the same budget (f may run again
	// if the store retries).
	Update(ctx context.Context, f func(*BudgetState)) error
}

// MemoryBudget is a Budget in this process. Its zero value is ready.
type MemoryBudget struct {
	mu sync.Mutex
	s  BudgetState
}

// NewMemoryBudget returns an empty in-process budget.
func NewMemoryBudget() *MemoryBudget { return &MemoryBudget{} }

// Load implements Budget.
func (b *MemoryBudget) Load(context.Context) (BudgetState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s, nil
}

// Update implements Budget.
func (b *MemoryBudget) Update(_ context.Context, f func(*BudgetState)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(&b.s)
	return nil
}
