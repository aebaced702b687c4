package ews

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/go-ntlmssp"

	"github.com/inboxsync/inboxsync/internal/procstat"
	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/ews/ewstest"
)

// The benchmarks sync 50,000 Inbox items from the emulator. By default the
// emulator runs in the benchmark's process; scripts/bench-exchange.sh runs
// it in its own process (TestServeEmulator) and points the benchmarks at it
// through EWS_BENCH_SERVER, so that peak RSS and CPU time are the client's.

const benchItems = 50000

type benchServer struct {
	URL      string `json:"url"`
	CA       string `json:"ca"`
	Login    string `json:"login"`
	Password string `json:"password"`
}

// TestServeEmulator serves an emulator holding EWS_EMULATOR_ITEMS Inbox
// items until interrupted, and writes how to reach it to the file named by
// EWS_EMULATOR_SERVE. It is skipped otherwise.
func TestServeEmulator(t *testing.T) {
	out := os.Getenv("EWS_EMULATOR_SERVE")
	if out == "" {
		t.Skip("set EWS_EMULATOR_SERVE to serve an emulator for scripts/bench-exchange.sh")
	}
	n, _ := strconv.Atoi(os.Getenv("EWS_EMULATOR_ITEMS"))
	if n <= 0 {
		n = benchItems
	}
	srv, err := ewstest.New(ewstest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Add(api.Inbox, n, time.Now().Add(-time.Hour))
	ca := out + ".ca.pem"
	os.WriteFile(ca, srv.CA.PEM, 0o600)
	b, _ := json.Marshal(benchServer{URL: srv.EWSURL, CA: ca, Login: srv.Login(), Password: srv.Password()})
	if err := os.WriteFile(out+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Rename(out+".tmp", out)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}

// benchTarget returns the server to sync from, and its stats function
// (nil for an external emulator: its stats come from /_emulator/stats).
func benchTarget(b *testing.B) (benchServer, http.RoundTripper, func() ewstest.Stats) {
	if f := os.Getenv("EWS_BENCH_SERVER"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		var s benchServer
		json.Unmarshal(data, &s)
		pemData, err := os.ReadFile(s.CA)
		if err != nil {
			b.Fatal(err)
		}
		pool := ewstestPool(pemData)
		tr := NewTransport(pool, nil)
		return s, tr, func() ewstest.Stats {
			resp, err := (&http.Client{Transport: NewTransport(pool, nil)}).Get(s.URL[:len(s.URL)-len("/EWS/Exchange.asmx")] + "/_emulator/stats")
			if err != nil {
				b.Fatal(err)
			}
			defer resp.Body.Close()
			var st ewstest.Stats
			json.NewDecoder(resp.Body).Decode(&st)
			return st
		}
	}
	srv, err := ewstest.New(ewstest.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	srv.Add(api.Inbox, benchItems, time.Now().Add(-time.Hour))
	return benchServer{URL: srv.EWSURL, Login: srv.Login(), Password: srv.Password()}, NewTransport(srv.RootCAs(), nil), srv.Stats
}

func benchOpts() provider.Options {
	return provider.Options{Now: time.Now(), Since: time.Now().AddDate(0, 0, -30)}
}

// syncAll drains folder from cursor and returns the item count and cursor.
func syncAll(b *testing.B, p *Provider, folder api.Folder, cursor string) (int, string) {
	n := 0
	for {
		page, err := p.Changes(context.Background(), folder, cursor, benchOpts())
		if err != nil {
			b.Fatal(err)
		}
		n += len(page.Changes)
		cursor = page.Cursor
		if !page.More {
			return n, cursor
		}
	}
}

// BenchmarkInitialSync is the provider's first sync of the Inbox.
func BenchmarkInitialSync(b *testing.B) {
	s, tr, _ := benchTarget(b)
	b.ResetTimer()
	start := time.Now()
	total := 0
	for range b.N {
		p, _ := New(Config{URL: s.URL, Login: s.Login, Password: s.Password, Auth: AuthNTLM, Transport: tr})
		n, _ := syncAll(b, p, api.Inbox, "")
		if n != benchItems {
			b.Fatalf("synced %d items, want %d", n, benchItems)
		}
		total += n
		p.Close()
	}
	el := time.Since(start)
	rss := procstat.PeakRSSMB()
	b.ReportMetric(float64(total)/el.Seconds(), "items/s")
	b.ReportMetric(rss, "peak-RSS-MB")
}

// bareItem is what the bare client decodes: the same fields, no logic.
type bareEnvelope struct {
	Sync struct {
		SyncState string `xml:"SyncState"`
		Last      bool   `xml:"IncludesLastItemInRange"`
		Creates   []struct {
			ID string `xml:"Id,attr"`
		} `xml:"Changes>Create>Message>ItemId"`
	} `xml:"Body>SyncFolderItemsResponse>ResponseMessages>SyncFolderItemsResponseMessage"`
	Items []struct {
		ID      itemID    `xml:"ItemId"`
		Subject string    `xml:"Subject"`
		Body    string    `xml:"Body"`
		Recv    string    `xml:"DateTimeReceived"`
		Sent    string    `xml:"DateTimeSent"`
		Conv    itemID    `xml:"ConversationId"`
		To      []mailbox `xml:"ToRecipients>Mailbox"`
		Cc      []mailbox `xml:"CcRecipients>Mailbox"`
		From    mailbox   `xml:"From>Mailbox"`
		MsgID   string    `xml:"InternetMessageId"`
	} `xml:"Body>GetItemResponse>ResponseMessages>GetItemResponseMessage>Items>Message"`
}

// BenchmarkBareFetch is the floor: the same SyncFolderItems and GetItem
// requests over the same NTLM transport, decoded with encoding/xml, with no
// provider logic at all.
func BenchmarkBareFetch(b *testing.B) {
	s, tr, _ := benchTarget(b)
	hc := &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: tr}}
	post := func(body []byte) *bareEnvelope {
		req, _ := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.SetBasicAuth(s.Login, s.Password)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
		var env bareEnvelope
		if err := xml.Unmarshal(data, &env); err != nil {
			b.Fatal(err)
		}
		return &env
	}
	b.ResetTimer()
	start := time.Now()
	total := 0
	for range b.N {
		state, n := "", 0
		for {
			env := post(syncFolderItemsRequest("inbox", state, DefaultPageSize, false))
			ids := make([]string, 0, len(env.Sync.Creates))
			for _, c := range env.Sync.Creates {
				ids = append(ids, c.ID)
			}
			for i := 0; i < len(ids); i += DefaultBatchSize {
				n += len(post(getItemRequest(ids[i:min(i+DefaultBatchSize, len(ids))], false)).Items)
			}
			state = env.Sync.SyncState
			if env.Sync.Last {
				break
			}
		}
		if n != benchItems {
			b.Fatalf("fetched %d items, want %d", n, benchItems)
		}
		total += n
	}
	el := time.Since(start)
	rss := procstat.PeakRSSMB()
	b.ReportMetric(float64(total)/el.Seconds(), "items/s")
	b.ReportMetric(rss, "peak-RSS-MB")
}

// BenchmarkNoChangeSync syncs Inbox, Sent and Calendar from their cursors
// when nothing changed, with a fresh provider (as each session has): the
// requests it makes (NTLM handshake included) and its CPU time.
func BenchmarkNoChangeSync(b *testing.B) {
	s, tr, stats := benchTarget(b)
	p, _ := New(Config{URL: s.URL, Login: s.Login, Password: s.Password, Auth: AuthNTLM, Transport: tr})
	cursors := map[api.Folder]string{}
	for _, f := range api.AllFolders {
		_, cursors[f] = syncAll(b, p, f, "")
	}
	p.Close()
	b.ResetTimer()
	var cpu time.Duration
	var reqs, calls int
	for range b.N {
		before := stats()
		cpu0 := procstat.CPU()
		p, _ := New(Config{URL: s.URL, Login: s.Login, Password: s.Password, Auth: AuthNTLM, Transport: NewTransport(poolOf(tr), nil)})
		for _, f := range api.AllFolders {
			if n, _ := syncAll(b, p, f, cursors[f]); n != 0 {
				b.Fatalf("%d changes in a no-change sync", n)
			}
		}
		calls += int(p.Requests())
		p.Close()
		cpu1 := procstat.CPU()
		cpu += cpu1 - cpu0
		reqs += stats().Requests - before.Requests
	}
	b.ReportMetric(float64(reqs)/float64(b.N), "http-requests/op")
	b.ReportMetric(float64(calls)/float64(b.N), "ews-calls/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func ewstestPool(pemData []byte) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	return pool
}

func poolOf(rt http.RoundTripper) *x509.CertPool {
	return rt.(*http.Transport).TLSClientConfig.RootCAs
}
