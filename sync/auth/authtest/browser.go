package authtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Browser is a test "browser": Open follows an authorization link through
// the authorization server's redirect (this package's Server, or another
// emulator such as gmailtest's) to the loopback listener of the app under
// test, as a user who signs in and accepts would.
type Browser struct {
	client *http.Client

	mu         sync.Mutex
	lastStatus int
	lastPage   string
	opened     int
}

// Browser returns a browser that trusts the server's certificate.
func (s *Server) Browser() *Browser { return NewBrowser(s.Client()) }

// NewBrowser returns a browser that sends through a copy of c without a
// cookie jar: c of an httptest server trusts that server's certificate.
func NewBrowser(c *http.Client) *Browser {
	cc := *c
	cc.Jar = nil
	return &Browser{client: &cc}
}

// Open follows u to the end and keeps the final page. It fails when the
// final answer is not 200 OK.
func (b *Browser) Open(ctx context.Context, u string) error {
	// A real browser keeps loading after the opener returned: the sign-in
	// cancels ctx (the opener's deadline) as soon as it has its answer,
	// which may be before this browser read the loopback page.
	ctx = context.WithoutCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
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
	b.lastStatus, b.lastPage = resp.StatusCode, string(body)
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
	return b.lastStatus, b.lastPage
}

// Opened returns how many links the browser opened.
func (b *Browser) Opened() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened
}
