package window

import (
	"context"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/inboxsync/inboxsync/sync/api"
)

// fakeControl is a hand-written api.Control: each method calls its
// function field when set and otherwise answers with nothing. Events sent
// on events reach every subscriber.
type fakeControl struct {
	events chan api.Event

	StatusFn         func() (api.Status, error)
	AccountsFn       func() ([]api.Account, error)
	SessionsFn       func(api.SessionQuery) ([]api.Session, error)
	ActivityFn       func(api.ActivityQuery) (api.ActivityPage, error)
	ExportFn         func(api.ExportRequest, func(api.ExportProgress)) (int, error)
	ItemsFn          func(api.ItemsQuery) (api.ItemsPage, error)
	IssuesFn         func(account string, limit int) ([]api.Issue, error)
	SettingsFn       func() (api.Settings, error)
	UpdateSettingsFn func(api.Settings) (api.Settings, error)
	ActivateFn       func(context.Context, api.ActivationRequest, func(api.ActivationProgress)) (api.Account, error)
	SyncNowFn        func(account string) error
	PauseFn          func(api.PauseRequest) error
	ResumeFn         func(account string) error
	RemoveAccountFn  func(account string, purge bool) error
	OpenWindowFn     func(api.WindowRequest) error
	PolicyFn         func() (api.Policy, error)
	CRMConnectFn     func(context.Context, api.CRMConnectRequest, func(api.ActivationProgress)) (api.CRMStatus, error)
	CRMStatusFn      func() (api.CRMStatus, error)
	CRMSyncFn        func(wait bool) (api.CRMStatus, error)
	CRMDisconnectFn  func() error
	CRMSettingsFn    func() (api.CRMSettings, error)
}

var _ api.Control = (*fakeControl)(nil)

func newFake() *fakeControl { return &fakeControl{events: make(chan api.Event, 16)} }

func (f *fakeControl) Status(context.Context) (api.Status, error) {
	if f.StatusFn == nil {
		return api.Status{Source: "agent", Interval: api.Duration(30 * time.Minute)}, nil
	}
	return f.StatusFn()
}

func (f *fakeControl) Subscribe(ctx context.Context) (<-chan api.Event, error) {
	out := make(chan api.Event)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-f.events:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

func (f *fakeControl) Pause(_ context.Context, req api.PauseRequest) error {
	if f.PauseFn == nil {
		return nil
	}
	return f.PauseFn(req)
}

func (f *fakeControl) Resume(_ context.Context, account string) error {
	if f.ResumeFn == nil {
		return nil
	}
	return f.ResumeFn(account)
}

func (f *fakeControl) SyncNow(_ context.Context, account string) error {
	if f.SyncNowFn == nil {
		return nil
	}
	return f.SyncNowFn(account)
}

func (f *fakeControl) Accounts(context.Context) ([]api.Account, error) {
	if f.AccountsFn == nil {
		return nil, nil
	}
	return f.AccountsFn()
}

func (f *fakeControl) RemoveAccount(_ context.Context, account string, purge bool) error {
	if f.RemoveAccountFn == nil {
		return nil
	}
	return f.RemoveAccountFn(account, purge)
}

func (f *fakeControl) Sessions(_ context.Context, q api.SessionQuery) ([]api.Session, error) {
	if f.SessionsFn == nil {
		return nil, nil
	}
	return f.SessionsFn(q)
}

func (f *fakeControl) Activity(_ context.Context, q api.ActivityQuery) (api.ActivityPage, error) {
	if f.ActivityFn == nil {
		return api.ActivityPage{}, nil
	}
	return f.ActivityFn(q)
}

func (f *fakeControl) Items(_ context.Context, q api.ItemsQuery) (api.ItemsPage, error) {
	if f.ItemsFn == nil {
		return api.ItemsPage{}, nil
	}
	return f.ItemsFn(q)
}

func (f *fakeControl) Export(_ context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
	if f.ExportFn == nil {
		return 0, api.ErrUnsupported
	}
	return f.ExportFn(req, progress)
}

func (f *fakeControl) Issues(_ context.Context, account string, limit int) ([]api.Issue, error) {
	if f.IssuesFn == nil {
		return nil, nil
	}
	return f.IssuesFn(account, limit)
}

func (f *fakeControl) Settings(context.Context) (api.Settings, error) {
	if f.SettingsFn == nil {
		return api.DefaultSettings(), nil
	}
	return f.SettingsFn()
}

func (f *fakeControl) UpdateSettings(_ context.Context, s api.Settings) (api.Settings, error) {
	if f.UpdateSettingsFn == nil {
		return s, nil
	}
	return f.UpdateSettingsFn(s)
}

func (f *fakeControl) Activate(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error) {
	if f.ActivateFn == nil {
		return api.Account{}, api.ErrUnsupported
	}
	return f.ActivateFn(ctx, req, progress)
}

func (f *fakeControl) OpenWindow(_ context.Context, req api.WindowRequest) error {
	if f.OpenWindowFn == nil {
		return nil
	}
	return f.OpenWindowFn(req)
}

func (f *fakeControl) Policy(context.Context) (api.Policy, error) {
	if f.PolicyFn == nil {
		return api.Policy{}, nil
	}
	return f.PolicyFn()
}

func (f *fakeControl) TestNotice(context.Context) ([]api.NoticeDelivery, error) {
	return nil, api.ErrUnsupported
}

func (f *fakeControl) CRMConnect(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error) {
	if f.CRMConnectFn == nil {
		return api.CRMStatus{}, api.ErrUnsupported
	}
	return f.CRMConnectFn(ctx, req, progress)
}

func (f *fakeControl) CRMStatus(context.Context) (api.CRMStatus, error) {
	if f.CRMStatusFn == nil {
		return api.CRMStatus{}, nil
	}
	return f.CRMStatusFn()
}

func (f *fakeControl) CRMSync(_ context.Context, wait bool) (api.CRMStatus, error) {
	if f.CRMSyncFn == nil {
		return api.CRMStatus{}, api.ErrInvalid
	}
	return f.CRMSyncFn(wait)
}

func (f *fakeControl) CRMDisconnect(context.Context) error {
	if f.CRMDisconnectFn == nil {
		return nil
	}
	return f.CRMDisconnectFn()
}

func (f *fakeControl) CRMSettings(context.Context) (api.CRMSettings, error) {
	if f.CRMSettingsFn != nil {
		return f.CRMSettingsFn()
	}
	return api.CRMSettings{LogEmailAs: api.AsEmailMessage, KeepOut: api.DefaultKeepOut, LogByHand: api.DefaultLogByHand,
		Auto: true, Threads: true, Opportunity: api.OppSingleOpen}, nil
}

func (f *fakeControl) UpdateCRMSettings(_ context.Context, s api.CRMSettings) (api.CRMSettings, error) {
	return s, nil
}

// ui stands in for Fyne's main goroutine: windows hand it work through
// do, and the test goroutine runs that work while it waits, so widgets are
// only ever touched by the test goroutine (as in the real app, where only
// the main goroutine touches them).
type ui struct {
	t     *testing.T
	app   fyne.App
	queue chan func()
}

func newUI(t *testing.T) *ui {
	t.Helper()
	return &ui{t: t, app: test.NewTempApp(t), queue: make(chan func(), 256)}
}

func (u *ui) do(f func()) { u.queue <- f }

// attach makes w hand its UI work to u and closes it when the test ends.
func (u *ui) attach(b *base) {
	b.do = u.do
	u.t.Cleanup(b.close)
}

// waitFor runs the windows' UI work until cond holds; it fails the test
// after a few seconds.
func (u *ui) waitFor(what string, cond func() bool) {
	u.t.Helper()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case f := <-u.queue:
			f()
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			u.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// settle runs the UI work queued so far and whatever arrives in the next
// moment.
func (u *ui) settle() {
	for {
		select {
		case f := <-u.queue:
			f()
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}

// recorder keeps the calls a test wants to look at, safe for the windows'
// goroutines.
type recorder[T any] struct {
	mu    sync.Mutex
	calls []T
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	r.calls = append(r.calls, v)
	r.mu.Unlock()
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.calls...)
}
