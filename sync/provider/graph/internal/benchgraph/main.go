// Command benchgraph measures the graph provider against the Graph
// emulator (graphtest), each in its own process so that the client's peak
// RSS is its own:
//
//	benchgraph -mode serve -n 50000 -ca FILE   prints the endpoint, serves until stdin closes
//	benchgraph -mode bare -endpoint URL -ca FILE       a bare client: GET + decode every page
//	benchgraph -mode provider -endpoint URL -ca FILE   the provider's initial sync, then a
//	                                                   no-change sync (requests, CPU time)
//
// scripts/bench-office365.sh runs them and prints a table.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

type result struct {
	Mode            string  `json:"mode"`
	Items           int     `json:"items"`
	Pages           int     `json:"pages"`
	Seconds         float64 `json:"seconds"`
	PerSec          float64 `json:"items_per_sec"`
	CPU             float64 `json:"cpu_seconds"`
	PeakRSS         float64 `json:"peak_rss_mb"`
	NoChangeReqs    int64   `json:"nochange_requests,omitempty"`
	NoChangeCPU     float64 `json:"nochange_cpu_seconds,omitempty"`
	NoChangeSeconds float64 `json:"nochange_seconds,omitempty"`
}

func main() {
	mode := flag.String("mode", "provider", "serve, bare or provider")
	n := flag.Int("n", 50000, "messages in the emulated inbox (serve)")
	endpoint := flag.String("endpoint", "", "the emulator's Graph endpoint")
	caFile := flag.String("ca", "", "PEM file of the emulator's certificate")
	page := flag.Int("page", graph.DefaultPageSize, "odata.maxpagesize")
	flag.Parse()
	switch *mode {
	case "serve":
		serve(*n, *caFile)
	case "bare", "provider":
		client := httpClient(*caFile)
		var r result
		if *mode == "bare" {
			r = bare(client, *endpoint, *page)
		} else {
			r = viaProvider(client, *endpoint, *page)
		}
		r.Mode = *mode
		r.PerSec = float64(r.Items) / r.Seconds
		r.PeakRSS = procstat.PeakRSSMB()
		json.NewEncoder(os.Stdout).Encode(r)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode")
		os.Exit(2)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchgraph:", err)
		os.Exit(1)
	}
}

func serve(n int, caFile string) {
	s := graphtest.NewUnstarted()
	s.StartTLS()
	defer s.Close()
	s.Add(graphtest.Inbox, n, time.Now().Add(-time.Hour))
	check(os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600))
	fmt.Println(s.Endpoint())
	io.Copy(io.Discard, os.Stdin) // until the script closes it
}

func httpClient(caFile string) *http.Client {
	b, err := os.ReadFile(caFile)
	check(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: graph.MaxInFlight}}
}

func since() time.Time { return time.Now().AddDate(0, 0, -30) }

// bare fetches and decodes the same pages as the provider with a plain
// client and a typed decode of the same fields.
func bare(c *http.Client, endpoint string, page int) result {
	type addr struct {
		EmailAddress struct{ Name, Address string } `json:"emailAddress"`
	}
	type msg struct {
		ID                string          `json:"id"`
		Removed           json.RawMessage `json:"@removed"`
		InternetMessageID string          `json:"internetMessageId"`
		ConversationID    string          `json:"conversationId"`
		Subject           string          `json:"subject"`
		From              *addr           `json:"from"`
		To                []addr          `json:"toRecipients"`
		Cc                []addr          `json:"ccRecipients"`
		Received          time.Time       `json:"receivedDateTime"`
		Sent              time.Time       `json:"sentDateTime"`
		BodyPreview       string          `json:"bodyPreview"`
	}
	q := url.Values{"$select": {"id,internetMessageId,conversationId,subject,from,toRecipients,ccRecipients,receivedDateTime,sentDateTime,bodyPreview"},
		"$filter": {"receivedDateTime ge " + since().UTC().Format(time.RFC3339)}}
	link := endpoint + "/me/mailFolders/inbox/messages/delta?" + q.Encode()
	var r result
	c0, t0 := procstat.CPU(), time.Now()
	for link != "" {
		req, _ := http.NewRequest(http.MethodGet, link, nil)
		req.Header.Set("Authorization", "Bearer bench")
		req.Header.Set("Prefer", fmt.Sprintf("odata.maxpagesize=%d", page))
		resp, err := c.Do(req)
		check(err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		check(err)
		var p struct {
			Next  string `json:"@odata.nextLink"`
			Value []msg  `json:"value"`
		}
		check(json.Unmarshal(body, &p))
		r.Items += len(p.Value)
		r.Pages++
		link = p.Next
	}
	r.Seconds, r.CPU = time.Since(t0).Seconds(), (procstat.CPU() - c0).Seconds()
	return r
}

type staticToken struct{}

func (staticToken) Token(context.Context) (string, error) { return "bench", nil }
func (staticToken) Invalidate(string)                     {}

func viaProvider(c *http.Client, endpoint string, page int) result {
	p, err := graph.New(graph.Options{Endpoint: endpoint, HTTPClient: c, Tokens: staticToken{}, PageSize: page})
	check(err)
	ctx := context.Background()
	opts := provider.Options{Now: time.Now(), Since: since()}
	var r result
	cursor := ""
	c0, t0 := procstat.CPU(), time.Now()
	for {
		pg, err := p.Changes(ctx, provider.Inbox, cursor, opts)
		check(err)
		r.Items += len(pg.Changes)
		r.Pages++
		cursor = pg.Cursor
		if !pg.More {
			break
		}
	}
	r.Seconds, r.CPU = time.Since(t0).Seconds(), (procstat.CPU() - c0).Seconds()

	// A no-change sync of all three folders (the calendar starts its
	// window on the first call, so it runs once before the measurement).
	cursors := map[provider.Folder]string{provider.Inbox: cursor}
	for _, f := range []provider.Folder{provider.Sent, provider.Calendar} {
		for {
			pg, err := p.Changes(ctx, f, cursors[f], opts)
			check(err)
			cursors[f] = pg.Cursor
			if !pg.More {
				break
			}
		}
	}
	req0, c1, t1 := p.Requests(), procstat.CPU(), time.Now()
	for _, f := range p.Folders() {
		pg, err := p.Changes(ctx, f, cursors[f], opts)
		check(err)
		if len(pg.Changes) != 0 || pg.More {
			check(fmt.Errorf("no-change sync of %s found %d changes", f, len(pg.Changes)))
		}
	}
	r.NoChangeReqs, r.NoChangeCPU, r.NoChangeSeconds = p.Requests()-req0, (procstat.CPU() - c1).Seconds(), time.Since(t1).Seconds()
	return r
}
