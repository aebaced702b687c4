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
// table; the harness is internal/bench/provbench.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/inboxsync/inboxsync/internal/bench/provbench"
	"github.com/inboxsync/inboxsync/sync/provider/gmail"
	"github.com/inboxsync/inboxsync/sync/provider/gmail/gmailtest"
)

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
		s := gmailtest.NewUnstarted()
		s.StartTLS()
		defer s.Close()
		s.Add([]string{gmailtest.Inbox, "UNREAD", "CATEGORY_PERSONAL"}, *n, time.Now().Add(-time.Hour))
		s.AddEvent(20, time.Now().Add(24*time.Hour))
		provbench.Serve(s.Certificate(), *caFile, s.URL, s.IssueAccess(gmailtest.ScopeGmailMetadata, gmailtest.ScopeCalendarEvents))
	case "bare", "provider":
		client := provbench.Client(*caFile, gmail.MaxInFlight)
		var r provbench.Result
		if *mode == "bare" {
			r = bare(client, *base, *token, *page)
		} else {
			p, err := gmail.New(gmail.Options{GmailEndpoint: *base + "/gmail/v1", CalendarEndpoint: *base + "/calendar/v3", HTTPClient: client,
				Tokens: provbench.Token(*token), PageSize: *page, Batch: *batch})
			provbench.Check(err)
			r = provbench.Sync(p)
		}
		r.Mode = *mode
		if *batch > 1 {
			r.Mode += "+batch" + strconv.Itoa(*batch)
		}
		provbench.Print(r)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode")
		os.Exit(2)
	}
}

// bare lists and reads the same messages as the provider with a plain
// client, 4 requests at a time, and a typed decode of the same fields.
func bare(c *http.Client, base, token string, page int) provbench.Result {
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
		provbench.Check(err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		provbench.Check(err)
		if resp.StatusCode != http.StatusOK {
			provbench.Check(fmt.Errorf("%s: %s", u, resp.Status))
		}
		provbench.Check(json.Unmarshal(body, v))
	}
	meta := "?" + url.Values{"format": {"metadata"}, "metadataHeaders": {"Subject", "From", "To", "Cc", "Date", "Message-ID"}}.Encode()
	cut := provbench.Since().UnixMilli()
	var r provbench.Result
	r.Seconds, r.CPU = provbench.Measure(func() {
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
	})
	return r
}
