// Command benchsf measures logging to Salesforce against the emulator
// (sftest), in the same process:
//
//	benchsf -mode record -out FILE   log the workload once and write every request the client sent to FILE
//	benchsf -mode logger             log the workload (Logger + salesforce client) and report
//	benchsf -mode logger -rules      the same with the CRM rules on
//	benchsf -mode bare -in FILE      a bare client: send FILE's requests (same methods, URLs, bodies) and decode the answers
//
// The workload: -items mail items (default 10,000) with -addrs distinct
// external addresses (default 5,000: 80 % Contacts, 10 % Leads, 10 %
// unknown), each item from one external address to the mailbox, the even
// ones also Cc another external address. Every mode seeds a fresh
// emulator the same way, so record ids repeat and the bare client's
// requests are valid. Each mode prints one line: mode, items, wall
// seconds, requests by kind, CPU seconds, peak RSS (MB).
// scripts/bench-salesforce.sh runs them.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"

	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/crm"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
	"github.com/inboxsync/inboxsync/sync/secret/secrettest"
)

type cleanups []func()

func (c *cleanups) Cleanup(f func()) { *c = append(*c, f) }

const mailbox = "rep@mycorp.example"

// seed fills the emulator and returns the workload. With rules, the
// Account has one open Opportunity (and a closed one), every 20th item
// is marked "Salesforce" and every 50th "Private".
func seed(sf *sftest.Server, items, addrs int, rules bool) []crm.Entry {
	acc := sf.AddAccount("Acme")
	if rules {
		sf.AddOpportunity("Acme renewal", acc, "Prospecting", time.Time{})
		sf.AddOpportunity("Acme 2025", acc, "Closed Won", time.Time{})
	}
	addr := func(i int) string { return fmt.Sprintf("person%05d@customer%03d.example", i, i%400) }
	for i := range addrs {
		switch {
		case i%10 < 8:
			sf.AddContact(addr(i), acc)
		case i%10 == 8:
			sf.AddLead(addr(i), false)
		}
	}
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	es := make([]crm.Entry, items)
	for i := range es {
		it := api.Item{
			ProviderID: fmt.Sprint("p", i), Folder: api.Inbox, Kind: api.KindMail,
			MessageID: fmt.Sprintf("<msg%06d.%x@customer.example>", i, i*7919), ConversationID: fmt.Sprint("c", i/3),
			Subject: fmt.Sprintf("Order %d", i), From: addr(i % addrs), To: []string{mailbox},
			Time: t0.Add(time.Duration(i) * time.Minute), Preview: "Please find the order details attached; delivery next week.",
		}
		if i%2 == 0 {
			it.Cc = []string{addr((i + addrs/2) % addrs)}
		}
		if i%5 == 0 {
			it.Folder, it.From, it.To = api.Sent, mailbox, []string{addr(i % addrs)}
		}
		if rules && i%20 == 0 {
			it.Categories = []string{"Salesforce"}
		}
		if rules && i%50 == 7 {
			it.Categories = []string{"Private"}
		}
		es[i] = crm.Entry{Key: it.ProviderID, Item: it}
	}
	return es
}

type request struct {
	Method string `json:"m"`
	URL    string `json:"u"`
	Body   []byte `json:"b,omitempty"`
}

// recorder is a transport that keeps the API requests it sends.
type recorder struct {
	base http.RoundTripper
	reqs []request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasPrefix(req.URL.Path, "/services/data/") {
		var b []byte
		if req.Body != nil {
			b, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		r.reqs = append(r.reqs, request{Method: req.Method, URL: req.URL.RequestURI(), Body: b})
	}
	return r.base.RoundTrip(req)
}

func connect(sf *sftest.Server, port int, hc *http.Client) *salesforce.Client {
	b := func(ctx context.Context, u string) error {
		// A browser that follows the authorize redirect to the callback.
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	c, err := salesforce.Connect(context.Background(), salesforce.Config{
		LoginURL: sf.URL, ClientID: sf.ClientID(), RedirectPort: port, OpenBrowser: b, HTTPClient: hc,
	}, secrettest.NewMemory(), "bench", auth.SignInOptions{Timeout: 20 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsf: connect:", err)
		os.Exit(1)
	}
	return c
}

func main() {
	mode := flag.String("mode", "logger", "record, logger or bare")
	items := flag.Int("items", 10000, "mail items")
	addrs := flag.Int("addrs", 5000, "distinct external addresses")
	batch := flag.Int("batch", 10000, "entries a Log call (the outbox batch)")
	in := flag.String("in", "", "bare: the recorded requests")
	rules := flag.Bool("rules", false, "logger: with the CRM rules on (threads, single-open Opportunities, some items marked)")
	out := flag.String("out", "", "record: where to write the requests")
	flag.Parse()

	var cl cleanups
	defer func() {
		for _, f := range cl {
			f()
		}
	}()
	sf := sftest.New(&cl, sftest.Options{APILimit: 100_000_000})
	port := sf.RedirectPort()
	entries := seed(sf, *items, *addrs, *rules)
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	hc := &http.Client{Transport: tr}

	var wall time.Duration
	cpu0 := procstat.CPU()
	switch *mode {
	case "record", "logger":
		rec := &recorder{base: tr}
		if *mode == "record" {
			hc = &http.Client{Transport: rec}
		}
		c := connect(sf, port, hc)
		sf.ResetCounts()
		start := time.Now()
		cfg := crmlog.Config{Mailbox: mailbox}
		if *rules {
			cfg.KeepOut, cfg.LogByHand = api.DefaultKeepOut, api.DefaultLogByHand
			cfg.Threads, cfg.Opportunity = true, api.OppSingleOpen
		}
		lg := crmlog.NewLogger(c, cfg)
		outcomes := map[api.CRMState]int{}
		for i := 0; i < len(entries); i += *batch {
			outs, err := lg.Log(context.Background(), entries[i:min(i+*batch, len(entries))])
			if err != nil {
				fmt.Fprintln(os.Stderr, "benchsf:", err)
				os.Exit(1)
			}
			for _, o := range outs {
				outcomes[o.State]++
			}
		}
		wall = time.Since(start)
		if *mode == "record" {
			f, err := os.Create(*out)
			if err != nil {
				panic(err)
			}
			w := bufio.NewWriter(f)
			enc := json.NewEncoder(w)
			for _, r := range rec.reqs {
				enc.Encode(r)
			}
			w.Flush()
			f.Close()
		}
		fmt.Fprintf(os.Stderr, "outcomes: %v; people lookups (50 addresses each): %d\n", outcomes, lg.Lookups())
	case "bare":
		c := connect(sf, port, hc) // the same sign-in; the bare client uses a session of its own
		_ = c
		_, tok := sf.Grant()
		f, err := os.Open(*in)
		if err != nil {
			panic(err)
		}
		var reqs []request
		dec := json.NewDecoder(bufio.NewReader(f))
		for {
			var r request
			if err := dec.Decode(&r); err != nil {
				break
			}
			reqs = append(reqs, r)
		}
		f.Close()
		sf.ResetCounts()
		start := time.Now()
		for _, r := range reqs {
			var body io.Reader
			if r.Body != nil {
				body = bytes.NewReader(r.Body)
			}
			req, _ := http.NewRequest(r.Method, sf.URL+r.URL, body)
			req.Header.Set("Authorization", "Bearer "+tok)
			if r.Body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := hc.Do(req)
			if err != nil {
				panic(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				fmt.Fprintf(os.Stderr, "benchsf: bare %s %s: %d %s\n", r.Method, r.URL, resp.StatusCode, b)
				os.Exit(1)
			}
			var v any
			json.Unmarshal(b, &v)
		}
		wall = time.Since(start)
	default:
		fmt.Fprintln(os.Stderr, "benchsf: -mode must be record, logger or bare")
		os.Exit(2)
	}
	cpu := procstat.CPU() - cpu0
	if *rules {
		*mode = "rules"
	}
	fmt.Printf("%-7s %6d items %7.2f s wall  requests %5d (query %d, queryMore %d, create %d, update %d, delete %d)  cpu %6.2f s  peak RSS %6.1f MB\n",
		*mode, *items, wall.Seconds(), sf.Count("api"), sf.Count("query"), sf.Count("queryMore"), sf.Count("create"), sf.Count("update"), sf.Count("delete"), cpu.Seconds(), procstat.PeakRSSMB())
}
