package control

import (
	"context"
	"errors"
	"sync"

	"github.com/inboxsync/inboxsync/sync/api"
)

// fake is a hand-written Control: each method calls its function field,
// or fails when the field is nil.
type fake struct {
	status         func(ctx context.Context) (api.Status, error)
	subscribe      func(ctx context.Context) (<-chan api.Event, error)
	pause          func(ctx context.Context, req api.PauseRequest) error
	resume         func(ctx context.Context, account string) error
	syncNow        func(ctx context.Context, account string) error
	accounts       func(ctx context.Context) ([]api.Account, error)
	removeAccount  func(ctx context.Context, account string, purge bool) error
	sessions       func(ctx context.Context, q api.SessionQuery) ([]api.Session, error)
	activity       func(ctx context.Context, q api.ActivityQuery) (api.ActivityPage, error)
	items          func(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error)
	issues         func(ctx context.Context, account string, limit int) ([]api.Issue, error)
	settings       func(ctx context.Context) (api.Settings, error)
	updateSettings func(ctx context.Context, s api.Settings) (api.Settings, error)
	export         func(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error)
	activate       func(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error)
	openWindow     func(ctx context.Context, req api.WindowRequest) error
	policy         func(ctx context.Context) (api.Policy, error)
	testNotice     func(ctx context.Context) ([]api.NoticeDelivery, error)
	crmConnect     func(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error)
	crmStatus      func(ctx context.Context) (api.CRMStatus, error)
	crmSync        func(ctx context.Context, wait bool) (api.CRMStatus, error)
	crmDisconnect  func(ctx context.Context) error
	crmSettings    func(ctx context.Context) (api.CRMSettings, error)
	updateCRM      func(ctx context.Context, s api.CRMSettings) (api.CRMSettings, error)
}

var _ api.Control = (*fake)(nil)

var errNotFaked = errors.New("fake: method not set")

func (f *fake) Status(ctx context.Context) (api.Status, error) {
	if f.status == nil {
		return api.Status{}, errNotFaked
	}
	return f.status(ctx)
}

func (f *fake) Subscribe(ctx context.Context) (<-chan api.Event, error) {
	if f.subscribe == nil {
		return nil, errNotFaked
	}
	return f.subscribe(ctx)
}

func (f *fake) Pause(ctx context.Context, req api.PauseRequest) error {
	if f.pause == nil {
		return errNotFaked
	}
	return f.pause(ctx, req)
}

func (f *fake) Resume(ctx context.Context, account string) error {
	if f.resume == nil {
		return errNotFaked
	}
	return f.resume(ctx, account)
}

func (f *fake) SyncNow(ctx context.Context, account string) error {
	if f.syncNow == nil {
		return errNotFaked
	}
	return f.syncNow(ctx, account)
}

func (f *fake) Accounts(ctx context.Context) ([]api.Account, error) {
	if f.accounts == nil {
		return nil, errNotFaked
	}
	return f.accounts(ctx)
}

func (f *fake) RemoveAccount(ctx context.Context, account string, purge bool) error {
	if f.removeAccount == nil {
		return errNotFaked
	}
	return f.removeAccount(ctx, account, purge)
}

func (f *fake) Sessions(ctx context.Context, q api.SessionQuery) ([]api.Session, error) {
	if f.sessions == nil {
		return nil, errNotFaked
	}
	return f.sessions(ctx, q)
}

func (f *fake) Activity(ctx context.Context, q api.ActivityQuery) (api.ActivityPage, error) {
	if f.activity == nil {
		return api.ActivityPage{}, errNotFaked
	}
	return f.activity(ctx, q)
}

func (f *fake) Items(ctx context.Context, q api.ItemsQuery) (api.ItemsPage, error) {
	if f.items == nil {
		return api.ItemsPage{}, errNotFaked
	}
	return f.items(ctx, q)
}

func (f *fake) Issues(ctx context.Context, account string, limit int) ([]api.Issue, error) {
	if f.issues == nil {
		return nil, errNotFaked
	}
	return f.issues(ctx, account, limit)
}

func (f *fake) Settings(ctx context.Context) (api.Settings, error) {
	if f.settings == nil {
		return api.Settings{}, errNotFaked
	}
	return f.settings(ctx)
}

func (f *fake) UpdateSettings(ctx context.Context, s api.Settings) (api.Settings, error) {
	if f.updateSettings == nil {
		return api.Settings{}, errNotFaked
	}
	return f.updateSettings(ctx, s)
}

func (f *fake) Export(ctx context.Context, req api.ExportRequest, progress func(api.ExportProgress)) (int, error) {
	if f.export == nil {
		return 0, errNotFaked
	}
	return f.export(ctx, req, progress)
}

func (f *fake) Activate(ctx context.Context, req api.ActivationRequest, progress func(api.ActivationProgress)) (api.Account, error) {
	if f.activate == nil {
		return api.Account{}, errNotFaked
	}
	return f.activate(ctx, req, progress)
}

func (f *fake) OpenWindow(ctx context.Context, req api.WindowRequest) error {
	if f.openWindow == nil {
		return errNotFaked
	}
	return f.openWindow(ctx, req)
}

func (f *fake) Policy(ctx context.Context) (api.Policy, error) {
	if f.policy == nil {
		return api.Policy{}, errNotFaked
	}
	return f.policy(ctx)
}

func (f *fake) TestNotice(ctx context.Context) ([]api.NoticeDelivery, error) {
	if f.testNotice == nil {
		return nil, errNotFaked
	}
	return f.testNotice(ctx)
}

func (f *fake) CRMConnect(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error) {
	if f.crmConnect == nil {
		return api.CRMStatus{}, errNotFaked
	}
	return f.crmConnect(ctx, req, progress)
}

func (f *fake) CRMStatus(ctx context.Context) (api.CRMStatus, error) {
	if f.crmStatus == nil {
		return api.CRMStatus{}, errNotFaked
	}
	return f.crmStatus(ctx)
}

func (f *fake) CRMSync(ctx context.Context, wait bool) (api.CRMStatus, error) {
	if f.crmSync == nil {
		return api.CRMStatus{}, errNotFaked
	}
	return f.crmSync(ctx, wait)
}

func (f *fake) CRMDisconnect(ctx context.Context) error {
	if f.crmDisconnect == nil {
		return errNotFaked
	}
	return f.crmDisconnect(ctx)
}

func (f *fake) CRMSettings(ctx context.Context) (api.CRMSettings, error) {
	if f.crmSettings == nil {
		return api.CRMSettings{}, errNotFaked
	}
	return f.crmSettings(ctx)
}

func (f *fake) UpdateCRMSettings(ctx context.Context, s api.CRMSettings) (api.CRMSettings, error) {
	if f.updateCRM == nil {
		return api.CRMSettings{}, errNotFaked
	}
	return f.updateCRM(ctx, s)
}

// bus is the fake's event producer, built like the engine's: publishing
// never blocks; a subscriber whose buffer is full loses the event.
type bus struct {
	buffer int

	mu     sync.Mutex
	seq    uint64
	subs   map[int]chan api.Event
	nextID int
	// ended receives a subscription's id when its ctx is done.
	ended chan int
	// started receives a subscription's id when it is registered.
	started chan int
}

func newBus(buffer int) *bus {
	return &bus{buffer: buffer, subs: map[int]chan api.Event{}, ended: make(chan int, 100), started: make(chan int, 100)}
}

func (b *bus) subscribe(ctx context.Context) (<-chan api.Event, error) {
	ch := make(chan api.Event, b.buffer)
	b.mu.Lock()
	id := b.nextID
	b.nextID++
	b.subs[id] = ch
	b.mu.Unlock()
	b.started <- id
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, id)
		close(ch)
		b.mu.Unlock()
		b.ended <- id
	})
	return ch, nil
}

// publish sets ev.Seq and offers ev to every subscriber without waiting.
func (b *bus) publish(ev api.Event) api.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev.Seq = b.seq
	for _, ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
	return ev
}

func (b *bus) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
