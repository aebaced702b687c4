package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// killEnv names the store file the child of TestKilledWhileSyncing
// ingests into.
const killEnv = "INBOXSYNC_STORE_KILL_CHILD"

const killPageSize = 200

// killPage is page n (from 1) of the kill test: killPageSize new items and
// an update of the first item of page n-1, with cursor "page-n".
func killPage(n int) provider.Page {
	p := provider.Page{Cursor: fmt.Sprintf("page-%d", n)}
	for i := range killPageSize {
		p.Changes = append(p.Changes, add(testItem(fmt.Sprintf("%d-%d", n, i), n*killPageSize+i)))
	}
	if n > 1 {
		it := testItem(fmt.Sprintf("%d-0", n-1), (n-1)*killPageSize)
		it.Subject = fmt.Sprintf("updated by page %d", n)
		p.Changes = append(p.Changes, add(it))
	}
	return p
}

func pageOfCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	return strconv.Atoi(strings.TrimPrefix(c, "page-"))
}

// TestKillChild is the child process of TestKilledWhileSyncing: it resumes
// from the stored cursor and stores pages until it is killed, printing
// "committed N" after each commit.
func TestKillChild(t *testing.T) {
	path := os.Getenv(killEnv)
	if path == "" {
		t.Skip("only run as the child of TestKilledWhileSyncing")
	}
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "scripted"}); err != nil && !errors.Is(err, ErrExists) {
		t.Fatal(err)
	}
	cur, err := s.Cursor(ctx, "work", api.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	k, err := pageOfCursor(cur)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginSession(ctx, "work", "schedule", time.Now()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second) // never outlive a lost parent
	for n := k + 1; time.Now().Before(deadline); n++ {
		if _, err := s.ApplyPage(ctx, "work", api.Inbox, killPage(n), time.Now()); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", n)
	}
}

// TestKilledWhileSyncing kills a process that stores pages at random
// moments, and checks after each kill that the store holds exactly the
// pages up to its cursor: no item lost or duplicated, the cursor neither
// ahead of the items nor behind them.
func TestKilledWhileSyncing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 1))
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	ctx := context.Background()
	last := 0     // the page of the cursor after the last round
	reported := 0 // the last page a child reported committed
	for round := range 10 {
		cmd, sc, stderr := startChild(t, "TestKillChild", killEnv+"="+path)
		scan := func() bool {
			if !sc.Scan() {
				return false
			}
			if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
				if v, err := strconv.Atoi(n); err == nil {
					reported = v
				}
			}
			return true
		}
		start, waitFor := last, 1+rnd.IntN(4)
		reported = last
		for reported-start < waitFor && scan() {
		}
		if reported-start < waitFor {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child stopped: %s", round, stderr.String())
		}
		time.Sleep(time.Duration(rnd.IntN(15000)) * time.Microsecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for scan() { // what it committed before it died
		}
		cmd.Wait()

		k := checkKilledStore(t, ctx, path)
		t.Logf("round %d: killed after page %d was reported committed; cursor page-%d", round, reported, k)
		if k < reported {
			t.Fatalf("round %d: cursor page-%d is behind page %d, reported committed", round, k, reported)
		}
		last = k
	}
}

// checkKilledStore opens the store left by a killed child and checks it
// against its cursor, which it returns as a page number.
func checkKilledStore(t *testing.T, ctx context.Context, path string) int {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open after the kill: %v", err)
	}
	defer s.Close()
	cur, err := s.Cursor(ctx, "work", api.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	k, err := pageOfCursor(cur)
	if err != nil {
		t.Fatalf("cursor %q: %v", cur, err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT provider_id, subject, deleted FROM items WHERE account = 'work'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var (
			id, subject string
			deleted     bool
		)
		if err := rows.Scan(&id, &subject, &deleted); err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("item %s stored twice", id)
		}
		seen[id] = true
		var n, i int
		if _, err := fmt.Sscanf(id, "%d-%d", &n, &i); err != nil || n < 1 || i < 0 || i >= killPageSize {
			t.Fatalf("unexpected item %q", id)
		}
		if n > k {
			t.Fatalf("item %s of page %d stored, but the cursor is page-%d", id, n, k)
		}
		if deleted {
			t.Errorf("item %s deleted", id)
		}
		// The update of page n+1 is stored if and only if page n+1 is.
		if i == 0 && n < k && subject != fmt.Sprintf("updated by page %d", n+1) {
			t.Errorf("item %s: subject %q, the update of page %d is lost", id, subject, n+1)
		}
		if i == 0 && n == k && strings.HasPrefix(subject, "updated") {
			t.Errorf("item %s: subject %q from a page after the cursor", id, subject)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != k*killPageSize {
		t.Fatalf("%d items stored, want %d (pages 1..%d)", len(seen), k*killPageSize, k)
	}
	// Every session the killed children left is closed.
	sessions, err := s.Sessions(ctx, api.SessionQuery{Account: "work", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, sess := range sessions {
		if sess.Outcome != api.OutcomeInterrupted || sess.End.Before(sess.Start) {
			t.Errorf("session %+v not marked interrupted", sess)
		}
	}
	return k
}

// startChild starts this test binary running only the test named child,
// with env added to its environment, and returns it with a scanner of its
// standard output and what it writes to its standard error.
func startChild(t *testing.T, child, env string) (*exec.Cmd, *bufio.Scanner, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), env)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out), stderr
}
