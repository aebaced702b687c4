package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// The background work on a store (building the search index, pruning old
// items) killed at random moments: what it committed stays, and the next
// process goes on from there.

// workEnv names the job ("index", "prune" or "purge") and the store file of the
// child of the kill tests below.
const workEnv = "INBOXSYNC_STORE_WORK_CHILD"

// TestKillWorkChild is the child process of the kill tests: it runs its
// job in small steps until it is killed, printing "step" after each.
func TestKillWorkChild(t *testing.T) {
	job, path, ok := strings.Cut(os.Getenv(workEnv), ":")
	if !ok {
		t.Skip("only run as the child of a kill test")
	}
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second) // never outlive a lost parent
	for time.Now().Before(deadline) {
		done := false
		switch job {
		case "index":
			p, err := s.BuildSearchIndex(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			done = p.Ready()
		case "prune":
			n, err := s.PruneOld(ctx, "work", pruneCutoff, 20)
			if err != nil {
				t.Fatal(err)
			}
			done = n < 20
		case "purge":
			testHookPurgeBatch = func(context.Context, int) error {
				fmt.Println("step")
				return nil
			}
			err := s.DeleteAccount(ctx, "work", 20)
			if err != nil && !errors.Is(err, ErrNotFound) { // not found: a killed child finished
				t.Fatal(err)
			}
			done = true
		default:
			t.Fatalf("unknown job %q", job)
		}
		fmt.Println("step")
		if done {
			fmt.Println("done")
			return
		}
	}
}

// killWork runs the child on the store at path for job, kills it at a
// random moment after a few steps, and calls check on the store it left;
// it repeats until the child reports its job done, at most rounds times.
func killWork(t *testing.T, job, path string, rounds int, check func(s *Store)) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 3))
	for round := range rounds {
		cmd, sc, stderr := startChild(t, "TestKillWorkChild", workEnv+"="+job+":"+path)
		done := false
		for steps := rnd.IntN(4); steps >= 0 && !done; steps-- {
			if !sc.Scan() {
				cmd.Wait()
				t.Fatalf("round %d: the child stopped: %s", round, stderr.String())
			}
			done = sc.Text() == "done"
		}
		time.Sleep(time.Duration(rnd.IntN(20000)) * time.Microsecond)
		cmd.Process.Kill()
		for sc.Scan() {
			done = done || sc.Text() == "done"
		}
		cmd.Wait()
		s, err := Open(path)
		if err != nil {
			t.Fatalf("round %d: Open after the kill: %v", round, err)
		}
		check(s)
		s.Close()
		if done {
			t.Logf("done after %d rounds", round+1)
			return
		}
	}
	t.Fatalf("not done after %d rounds", rounds)
}

// TestKilledWhileIndexing kills the build of the index of a store from
// before the index (the first child also migrates it) again and again:
// after each kill every item is indexed once or waits, and searches answer
// what a scan answers.
func TestKilledWhileIndexing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	writeSchema2(t, path, 1000)
	killWork(t, "index", path, 40, func(s *Store) {
		checkIndex(t, s)
		compareWithScan(t, s, api.ActivityQuery{Search: `"part 12"`, Limit: 1000})
	})
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, err := s.SearchIndexProgress(context.Background()); err != nil || !p.Ready() || p.Done != 1000 {
		t.Fatalf("progress at the end: %+v, %v", p, err)
	}
}

// pruneCutoff is the age before which the prune child removes items: the
// items of realisticPage older than item 500.
var pruneCutoff = t0.Add(-500*time.Minute - time.Second)

// TestKilledWhilePruning kills the pruning of old items again and again:
// after each kill no newer item is gone, and the search index holds
// exactly the items left.
func TestKilledWhilePruning(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "inboxsync.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddAccount(ctx, api.Account{ID: "work", Provider: "scripted"}); err != nil {
		t.Fatal(err)
	}
	for p := range 2 {
		if _, err := s.ApplyPage(ctx, "work", api.Inbox, realisticPage(p, 500, scriptedID), t0); err != nil {
			t.Fatal(err)
		}
	}
	buildAll(t, s)
	s.Close()
	killWork(t, "prune", path, 40, func(s *Store) {
		checkIndex(t, s)
		left := state(t, s, "work")
		for k := range 501 {
			if _, ok := left[scriptedID(k)]; !ok {
				t.Fatalf("item %d, newer than the cutoff, is gone", k)
			}
		}
	})
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.CountItems(ctx, "work"); n != 501 {
		t.Fatalf("%d items left, want 501", n)
	}
}
