package engine

import (
	"context"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// bus fans events out to subscribers. Publishing never blocks: a
// subscriber whose buffer is full loses the event (it sees a gap in Seq and
// re-reads Status), so a stuck window can never stall a sync.
type bus struct {
	mu   sync.Mutex
	seq  uint64
	subs map[chan api.Event]struct{}
}

const subscriberBuffer = 256

func newBus() *bus { return &bus{subs: map[chan api.Event]struct{}{}} }

func (b *bus) publish(ev api.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev.Seq = b.seq
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	for ch := range b.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (b *bus) subscribe(ctx context.Context) <-chan api.Event {
	ch := make(chan api.Event, subscriberBuffer)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, ch)
		close(ch)
		b.mu.Unlock()
	}()
	return ch
}
