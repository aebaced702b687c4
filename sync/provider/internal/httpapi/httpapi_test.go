package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// tokens hands out "t1", "t2", … and counts invalidations.
type tokens struct {
	mu          sync.Mutex
	n           int
	invalidated []string
}

func (t *tokens) Token(context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return "t" + string(rune('1'+t.n)), nil
}

func (t *tokens) Invalidate(access string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.invalidated = append(t.invalidated, access)
	t.n++
}

func TestDoRenewsOnce(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Header.Get("Authorization")+" "+r.Header.Get("Accept"))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	ts := &tokens{}
	c := NewClient(srv.Client(), ts, 4)
	a, err := c.Do(context.Background(), Request{Service: "Test", URL: srv.URL, Header: http.Header{"Accept": {"application/json"}}})
	if err != nil || a.Status != http.StatusUnauthorized {
		t.Fatalf("Do = %v, %v; want the second 401", a.Status, err)
	}
	if len(seen) != 2 || seen[0] != "Bearer t1 application/json" || seen[1] != "Bearer t2 application/json" {
		t.Errorf("requests %q", seen)
	}
	if len(ts.invalidated) != 1 || c.Requests() != 2 {
		t.Errorf("invalidated %q, %d requests", ts.invalidated, c.Requests())
	}
}

func TestDoRefusedAnswer(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Write([]byte("refused"))
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ts := &tokens{}
	var asked []string
	a, err := NewClient(srv.Client(), ts, 4).Do(context.Background(), Request{Service: "Test", Method: http.MethodPost, URL: srv.URL, Body: []byte("x"),
		Refused: func(a Answer) bool { asked = append(asked, string(a.Body)); return string(a.Body) == "refused" }})
	if err != nil || string(a.Body) != "ok" || len(ts.invalidated) != 1 || len(asked) != 2 {
		t.Fatalf("Do = %q, %v; invalidated %q, asked %q", a.Body, err, ts.invalidated, asked)
	}
}

func TestDoOfflineAndInFlight(t *testing.T) {
	release := make(chan struct{})
	var in, most atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := in.Add(1)
		for {
			m := most.Load()
			if v <= m || most.CompareAndSwap(m, v) {
				break
			}
		}
		<-release
		in.Add(-1)
	}))
	c := NewClient(srv.Client(), &tokens{}, 2)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { c.Do(context.Background(), Request{Service: "Test", URL: srv.URL}) })
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if most.Load() != 2 {
		t.Errorf("%d requests in flight at most, want 2", most.Load())
	}
	srv.Close()
	_, err := c.Do(context.Background(), Request{Service: "Test", URL: srv.URL})
	if provider.Classify(err) != provider.ClassOffline {
		t.Errorf("a closed server: %v, want offline", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Do(ctx, Request{Service: "Test", URL: srv.URL}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	for s, ok := range map[string]bool{
		"https://example.com/v1/": true, "http://127.0.0.1:8080": true, "http://[::1]/x": true,
		"http://example.com": false, "https://u@example.com": false, "https://example.com/?q=1": false, "ftp://127.0.0.1": false, "example.com": false,
	} {
		got, err := CheckURL("endpoint", s)
		if (err == nil) != ok || err != nil && !errors.Is(err, api.ErrInvalid) {
			t.Errorf("CheckURL(%q) = %q, %v", s, got, err)
		}
	}
	if got, _ := CheckURL("endpoint", "https://example.com/v1//"); got != "https://example.com/v1" {
		t.Errorf("trailing slashes kept: %q", got)
	}
}

func TestSetting(t *testing.T) {
	ex, def := map[string]string{"a": " x ", "b": " "}, map[string]string{"b": "y", "c": ""}
	if a, b, c := Setting(ex, def, "a", "z"), Setting(ex, def, "b", "z"), Setting(ex, def, "c", "z"); a != "x" || b != "y" || c != "z" {
		t.Errorf("Setting: %q %q %q", a, b, c)
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("x", 250)
	if got := Excerpt(long); got != long[:200]+"…" {
		t.Errorf("Excerpt of 250 bytes: %q", got)
	}
	if got := Excerpt("short"); got != "short" {
		t.Errorf("Excerpt(short) = %q", got)
	}
}
