// Command benchgmail measures the gmail provider against the Google
// emulator (gmailtest), each in its own process so that the client's peak
// RSS is its own:
//
//	benchgmail -mode serve -n 50000 -ca FILE      prints the URL and an access token, serves until stdin closes
//	benchgmail -mode bare -url URL -token T -ca FILE       a bare client: list + get + decode every message
//	benchgmail -mode provider -url URL -token T -ca FILE   the provider's initial sync of Inbox, then a
//	                                                       no-change sync of Inbox, Sent and Calendar
//	                                                       (-batch N: through the batch endpoint)
//
// Both clients read the same pages (messages.list of INBOX, 100 ids a page,
// then messages.get?format=metadata of each, 4 at a time). The provider
// runs without its quota pacing (Options.Quota 0), which only matters
// against Google itself. scripts/bench-gmail.sh runs them and prints a
// table.
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
	"strconv"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
)

type result struct {
	Mode            string  `json:"mode"`
	Items           int     `json:"items"`
	Pages           int     `json:"pages"`
	Seconds         float64 `json:"seconds"`
	PerSec          float64 `json:"items_per_sec"`
	CPU             float64 `json:"cpu_seconds"`
	PeakRSS         float64 `json:"peak_rss_mb"`
	Requests        int64   `json:"requests"`
	NoChangeReqs    int64   `json:"nochange_requests,omitempty"`
	NoChangeCPU     float64 `json:"nochange_cpu_seconds,omitempty"`
	NoChangeSeconds float64 `json:"nochange_seconds,omitempty"`
}

func main() {
	mode := flag.String("mode", "provider", "serve, bare or provider")
	n := flag.Int("n", 50000, "messages in the emulated inbox (serve)")
	base := flag.String("url", "", "the emulator's URL")
	token := flag.String("token", "", "an access token of the emulator")
	caFile := flag.String("ca", "", "PEM file of the emulator's certificate")
	page := flag.Int("page", gmail.DefaultPageSize, "messages a page")
	batch := flag.Int("batch", 0, "provider: messages a batch request (0: one request each)")
	flag.Parse()
	switch *mode {
	case "serve":
		serve(*n, *caFile)
	case "bare", "provider":
		client := httpClient(*caFile)
		var r result
		if *mode == "bare" {
			r = bare(client, *base, *token, *page)
		} else {
			r = viaProvider(client, *base, *token, *page, *batch)
		}
		r.Mode = *mode
		if *batch > 1 {
			r.Mode += "+batch" + strconv.Itoa(*batch)
		}
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
		fmt.Fprintln(os.Stderr, "benchgmail:", err)
		os.Exit(1)
	}
}

func serve(n int, caFile string) {
	s := gmailtest.NewUnstarted()
	s.StartTLS()
	defer s.Close()
	s.Add([]string{gmailtest.Inbox, "UNREAD", "CATEGORY_PERSONAL"}, n, time.Now().Add(-time.Hour))
	s.AddEvent(20, time.Now().Add(24*time.Hour))
	check(os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw}), 0o600))
	fmt.Println(s.URL)
	fmt.Println(s.IssueAccess(gmailtest.ScopeGmailMetadata, gmailtest.ScopeCalendarEvents))
	io.Copy(io.Discard, os.Stdin) // until the script closes it
}

func httpClient(caFile string) *http.Client {
	b, err := os.ReadFile(caFile)
	check(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: gmail.MaxInFlight}}
}

func since() time.Time { return time.Now().AddDate(0, 0, -30) }

// bare lists and reads the same messages as the provider with a plain
// client, 4 requests at a time, and a typed decode of the same fields.
func bare(c *http.Client, base, token string, page int) result {
	type msg struct {
		ID           string   `json:"id"`
		ThreadID     string   `json:"threadId"`
		LabelIDs     []string `json:"labelIds"`
		Snippet      string   `json:"snippet"`
		InternalDate string   `json:"internalDate"`
		Payload      struct {
			Headers []struct{ Name, Value string } `json:"headers"`
		} `json:"payload"`
	}
	get := func(u string, v any) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		check(err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		check(err)
		if resp.StatusCode != http.StatusOK {
			check(fmt.Errorf("%s: %s", u, resp.Status))
		}
		check(json.Unmarshal(body, v))
	}
	meta := "?" + url.Values{"format": {"metadata"}, "metadataHeaders": {"Subject", "From", "To", "Cc", "Date", "Message-ID"}}.Encode()
	cut := since().UnixMilli()
	var r result
	c0, t0 := procstat.CPU(), time.Now()
	var p struct {
		ID string `json:"emailAddress"`
		H  string `json:"historyId"`
	}
	get(base+"/gmail/v1/users/me/profile", &p)
	pageToken := ""
	for {
		q := url.Values{"labelIds": {"INBOX"}, "maxResults": {strconv.Itoa(page)}}
		if pageToken != "" {
			q.Set("pageToken", pageToken)
		}
		var l struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
			Next string `json:"nextPageToken"`
		}
		get(base+"/gmail/v1/users/me/messages?"+q.Encode(), &l)
		r.Pages++
		msgs := make([]msg, len(l.Messages))
		work := make(chan int)
		var wg sync.WaitGroup
		for range gmail.MaxInFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					get(base+"/gmail/v1/users/me/messages/"+l.Messages[i].ID+meta, &msgs[i])
				}
			}()
		}
		for i := range l.Messages {
			work <- i
		}
		close(work)
		wg.Wait()
		newer := 0
		for i := range msgs {
			if ms, _ := strconv.ParseInt(msgs[i].InternalDate, 10, 64); ms >= cut {
				newer++
			}
		}
		r.Items += newer
		if l.Next == "" || newer == 0 {
			break
		}
		pageToken = l.Next
	}
	r.Seconds, r.CPU = time.Since(t0).Seconds(), (procstat.CPU() - c0).Seconds()
	return r
}

type staticToken string

func (t staticToken) Token(context.Context) (string, error) { return string(t), nil }
func (staticToken) Invalidate(string)                       {}

func viaProvider(c *http.Client, base, token string, page, batch int) result {
	p, err := gmail.New(gmail.Options{GmailEndpoint: base + "/gmail/v1", CalendarEndpoint: base + "/calendar/v3", HTTPClient: c, Tokens: staticToken(token), PageSize: page, Batch: batch})
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
	r.Requests = p.Requests()

	// A no-change sync of all three folders (Sent and the calendar run
	// their first sync before the measurement).
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
