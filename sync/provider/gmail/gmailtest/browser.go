package gmailtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Browser is a test "browser": Open follows an authorization link through
// Google's consent (the emulator's redirect) to the loopback listener of
// the app under test, as a user who signs in and presses Continue would.
type Browser struct {
	client *http.Client

	mu     sync.Mutex
	status int
	page   string
	opened int
}

// Browser returns a browser that trusts the server's certificate.
func (s *Server) Browser() *Browser {
	c := *s.Client()
	c.Jar = nil
	return &Browser{client: &c}
}

// Open follows u to the end and keeps the final page. It fails when the
// final answer is not 200 OK. Like a real browser it keeps loading after
// ctx (the opener's deadline) ends.
func (b *Browser) Open(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	b.mu.Lock()
	b.status, b.page = resp.StatusCode, string(body)
	b.opened++
	b.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("browser: %s answered %s", resp.Request.URL.Host, resp.Status)
	}
	return nil
}

// Last returns the status and body of the last page the browser showed.
func (b *Browser) Last() (int, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.page
}

// Opened returns how many links the browser opened.
func (b *Browser) Opened() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened
}
