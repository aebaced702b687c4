// Package provbench is the harness the provider benchmarks share
// (sync/provider/graph/internal/benchgraph, …/gmail/internal/benchgmail):
// each runs an emulator in one process (Serve) and a bare client or the
// provider in another (Client, Sync), and prints one Result a run as JSON
// for its script (scripts/bench-office365.sh, scripts/bench-gmail.sh),
// whose table and summary are scripts/lib/bench-provider.sh's.
package provbench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Result is the figures of one run.
type Result struct {
	Mode    string  `json:"mode"`
	Items   int     `json:"items"`
	Pages   int     `json:"pages"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"items_per_sec"`
	CPU     float64 `json:"cpu_seconds"`
	PeakRSS float64 `json:"peak_rss_mb"`
	// Requests is what the provider's initial sync sent (0 for a bare
	// client).
	Requests        int64   `json:"requests"`
	NoChangeReqs    int64   `json:"nochange_requests,omitempty"`
	NoChangeCPU     float64 `json:"nochange_cpu_seconds,omitempty"`
	NoChangeSeconds float64 `json:"nochange_seconds,omitempty"`
}

// Print completes r (items a second, peak RSS) and writes it to stdout as
// one JSON line.
func Print(r Result) {
	r.PerSec = float64(r.Items) / r.Seconds
	r.PeakRSS = procstat.PeakRSSMB()
	json.NewEncoder(os.Stdout).Encode(r)
}

// Check ends the program with err, named after the command, when err is
// not nil.
func Check(err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
}

// Serve writes the emulator's certificate to caFile as PEM, prints lines
// (the endpoint, a token: what the clients are started with) and returns
// when stdin closes: the script keeps it open while the clients run.
func Serve(cert *x509.Certificate, caFile string, lines ...string) {
	Check(os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600))
	for _, l := range lines {
		fmt.Println(l)
	}
	io.Copy(io.Discard, os.Stdin)
}

// Client returns an HTTP client that trusts the certificate in caFile and
// keeps maxIdle connections to the emulator.
func Client(caFile string, maxIdle int) *http.Client {
	b, err := os.ReadFile(caFile)
	Check(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: maxIdle}}
}

// Since is the start of the history window of the initial syncs: 30 days
// ago.
func Since() time.Time { return time.Now().AddDate(0, 0, -30) }

// Measure runs f and returns its wall and CPU seconds.
func Measure(f func()) (seconds, cpu float64) {
	c0, t0 := procstat.CPU(), time.Now()
	f()
	return time.Since(t0).Seconds(), (procstat.CPU() - c0).Seconds()
}

// Token is a token source of one access token.
type Token string

// Token returns t.
func (t Token) Token(context.Context) (string, error) { return string(t), nil }

// Invalidate does nothing.
func (Token) Invalidate(string) {}

// Provider is a provider that counts its requests.
type Provider interface {
	provider.Provider
	Requests() int64
}

// Sync measures p: the initial sync of the Inbox (items, pages, time,
// CPU, requests), then — after the first sync of the other folders — a
// no-change sync of all of them, which must find nothing.
func Sync(p Provider) Result {
	ctx := context.Background()
	opts := provider.Options{Now: time.Now(), Since: Since()}
	var r Result
	cursor := ""
	r.Seconds, r.CPU = Measure(func() {
		for {
			pg, err := p.Changes(ctx, api.Inbox, cursor, opts)
			Check(err)
			r.Items += len(pg.Changes)
			r.Pages++
			cursor = pg.Cursor
			if !pg.More {
				break
			}
		}
	})
	r.Requests = p.Requests()

	// The other folders' first sync (the calendar starts its window on
	// the first call), before the measurement.
	cursors := map[api.Folder]string{api.Inbox: cursor}
	for _, f := range p.Folders() {
		if f == api.Inbox {
			continue
		}
		for {
			pg, err := p.Changes(ctx, f, cursors[f], opts)
			Check(err)
			cursors[f] = pg.Cursor
			if !pg.More {
				break
			}
		}
	}
	req0 := p.Requests()
	r.NoChangeSeconds, r.NoChangeCPU = Measure(func() {
		for _, f := range p.Folders() {
			pg, err := p.Changes(ctx, f, cursors[f], opts)
			Check(err)
			if len(pg.Changes) != 0 || pg.More {
				Check(fmt.Errorf("no-change sync of %s found %d changes", f, len(pg.Changes)))
			}
		}
	})
	r.NoChangeReqs = p.Requests() - req0
	return r
}
