// Command benchgraph measures the graph provider against the Graph
// emulator (graphtest), each in its own process so that the client's peak
// RSS is its own:
//
//	benchgraph -mode serve -n 50000 -ca FILE   prints the endpoint, serves until stdin closes
//	benchgraph -mode bare -endpoint URL -ca FILE       a bare client: GET + decode every page
//	benchgraph -mode provider -endpoint URL -ca FILE   the provider's initial sync, then a
//	                                                   no-change sync (requests, CPU time)
//
// scripts/bench-office365.sh runs them and prints a table; the harness is
// internal/bench/provbench.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/inboxsync/inboxsync/internal/bench/provbench"
	"github.com/inboxsync/inboxsync/sync/provider/graph"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

func main() {
	mode := flag.String("mode", "provider", "serve, bare or provider")
	n := flag.Int("n", 50000, "messages in the emulated inbox (serve)")
	endpoint := flag.String("endpoint", "", "the emulator's Graph endpoint")
	caFile := flag.String("ca", "", "PEM file of the emulator's certificate")
	page := flag.Int("page", graph.DefaultPageSize, "odata.maxpagesize")
	flag.Parse()
	switch *mode {
	case "serve":
		s := graphtest.NewUnstarted()
		s.StartTLS()
		defer s.Close()
		s.Add(graphtest.Inbox, *n, time.Now().Add(-time.Hour))
		provbench.Serve(s.Certificate(), *caFile, s.Endpoint())
	case "bare", "provider":
		client := provbench.Client(*caFile, graph.MaxInFlight)
		var r provbench.Result
		if *mode == "bare" {
			r = bare(client, *endpoint, *page)
		} else {
			p, err := graph.New(graph.Options{Endpoint: *endpoint, HTTPClient: client, Tokens: provbench.Token("bench"), PageSize: *page})
			provbench.Check(err)
			r = provbench.Sync(p)
		}
		r.Mode = *mode
		provbench.Print(r)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode")
		os.Exit(2)
	}
}

// bare fetches and decodes the same pages as the provider with a plain
// client and a typed decode of the same fields.
func bare(c *http.Client, endpoint string, page int) provbench.Result {
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
		"$filter": {"receivedDateTime ge " + provbench.Since().UTC().Format(time.RFC3339)}}
	link := endpoint + "/me/mailFolders/inbox/messages/delta?" + q.Encode()
	var r provbench.Result
	r.Seconds, r.CPU = provbench.Measure(func() {
		for link != "" {
			req, _ := http.NewRequest(http.MethodGet, link, nil)
			req.Header.Set("Authorization", "Bearer bench")
			req.Header.Set("Prefer", fmt.Sprintf("odata.maxpagesize=%d", page))
			resp, err := c.Do(req)
			provbench.Check(err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			provbench.Check(err)
			var p struct {
				Next  string `json:"@odata.nextLink"`
				Value []msg  `json:"value"`
			}
			provbench.Check(json.Unmarshal(body, &p))
			r.Items += len(p.Value)
			r.Pages++
			link = p.Next
		}
	})
	return r
}
