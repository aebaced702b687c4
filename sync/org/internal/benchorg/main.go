//go:build unix

// Command benchorg measures organisation mode end to end (on Unix: it
// reads getrusage, and /proc on Linux): an emulated Microsoft 365 tenant
// (graphtest, in this process) with -mailboxes mailboxes of -items items
// each, synced by -workers `inboxsync org serve` processes into a fresh
// PostgreSQL database. It prints
//
//   - the time until every mailbox is synced, and items per second; the
//     CPU the workers, the emulator and PostgreSQL used meanwhile; how
//     long sessions took and how busy the workers' session slots were;
//   - a bare loop inserting the same rows with pgx batches, for scale,
//     with its CPU and PostgreSQL's;
//   - a no-change cycle of every mailbox: wall time, the workers' CPU per
//     mailbox, Graph requests per mailbox, PostgreSQL statements per
//     mailbox (pg_stat_statements) and transactions per mailbox;
//   - each worker's peak RSS.
//
// With -top N it lists the statements that took PostgreSQL the most time
// (pg_stat_statements) in each phase; with -cpuprofile and -workerprofile
// it writes CPU profiles of itself (the emulator) and of each worker
// (INBOXSYNC_CPUPROFILE, which `org serve` reads).
//
// scripts/bench-org.sh runs it beside a throwaway cluster.
package main

import (
	"context"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inboxsync/inboxsync/sync/org/internal/benchdb"
	"github.com/inboxsync/inboxsync/sync/provider/graph/graphtest"
)

func main() {
	bin := flag.String("bin", "", "the inboxsync binary (built without -race)")
	admin := flag.String("admin", os.Getenv("INBOXSYNC_TEST_DATABASE"), "URL of the cluster's admin database")
	n := flag.Int("mailboxes", 1000, "mailboxes")
	items := flag.Int("items", 300, "items per mailbox (inbox 80%, sent 15%, calendar the rest)")
	workers := flag.Int("workers", 1, "worker processes")
	conc := flag.Int("concurrency", 20, "sessions per worker")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process (the emulator) to `FILE`")
	top := flag.Int("top", 0, "print the `N` statements that took PostgreSQL the most time in the initial sync, and in the no-change cycle")
	workerProfile := flag.String("workerprofile", "", "write each worker's CPU profile to `PREFIX`N.pprof (INBOXSYNC_CPUPROFILE)")
	flag.Parse()
	if *bin == "" || *admin == "" {
		log.Fatal("need -bin and -admin (or INBOXSYNC_TEST_DATABASE)")
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	db := mustDB(benchdb.New(ctx, *admin, "bench"))
	dir, err := os.MkdirTemp("", "benchorg")
	check(err)
	defer os.RemoveAll(dir)

	g := graphtest.NewUnstarted()
	g.StartTLS()
	defer g.Close()
	const tenant, clientID, secret = "7a1c2f4e-5b6d-4e8f-9a0b-1c2d3e4f5a6b", "3f2e1d0c-9b8a-4f7e-8d6c-5b4a39281706", "bench-secret"
	g.RegisterApp(graphtest.AppRegistration{Tenant: tenant, ClientID: clientID, Secret: secret})
	inbox, sent := *items*80/100, *items*15/100
	cal := *items - inbox - sent
	now := time.Now()
	var csv strings.Builder
	csv.WriteString("address,provider\n")
	for i := range *n {
		a := fmt.Sprintf("u%05d@contoso.test", i)
		u := g.User(a)
		u.Add(graphtest.Inbox, inbox, now.Add(-time.Hour))
		u.Add(graphtest.Sent, sent, now.Add(-2*time.Hour))
		u.Add(graphtest.Calendar, cal, now.AddDate(0, 0, 2))
		fmt.Fprintf(&csv, "%s,office365\n", a)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		check(os.WriteFile(p, b, 0o600))
		return p
	}
	ca := write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.Certificate().Raw}))
	secretFile := write("secret", []byte(secret+"\n"))
	csvFile := write("people.csv", []byte(csv.String()))
	env := append(os.Environ(), "SSL_CERT_FILE="+ca)
	cli := func(args ...string) string {
		cmd := exec.Command(*bin, append(append([]string{"org"}, args...), "--database", db)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			log.Fatalf("org %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cli("init")
	cli("credentials", "microsoft", "--tenant", tenant, "--client-id", clientID, "--client-secret-file", secretFile,
		"--authority", g.URL, "--graph-endpoint", g.Endpoint())
	conn, err := pgx.Connect(ctx, db)
	check(err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	statements := err == nil
	if !statements {
		fmt.Println("(pg_stat_statements unavailable: no statement counts)", err)
	}

	fmt.Printf("== %d mailboxes × %d items, %d worker process(es) × %d sessions ==\n", *n, *items, *workers, *conc)
	cli("mailboxes", "add", "--csv", csvFile, "--now")
	began := time.Now()
	var procs []*exec.Cmd
	for i := range *workers {
		cmd := exec.Command(*bin, "org", "serve", "--database", db, "--concurrency", strconv.Itoa(*conc))
		cmd.Env = env
		if *workerProfile != "" {
			cmd.Env = append(cmd.Env[:len(cmd.Env):len(cmd.Env)], fmt.Sprintf("INBOXSYNC_CPUPROFILE=%s%d.pprof", *workerProfile, i+1))
		}
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("w%d.log", i)))
		check(err)
		cmd.Stderr = logf
		check(cmd.Start())
		procs = append(procs, cmd)
	}
	defer func() {
		// SIGTERM first, so that a worker writes its profile; then kill.
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			t := time.AfterFunc(15*time.Second, func() { p.Process.Kill() })
			p.Wait()
			t.Stop()
		}
	}()
	total := int64(*n) * int64(*items)
	self0 := selfCPU()
	pg0 := serverCPU(ctx, conn)
	waitItems(ctx, conn, *n, total, began)
	initial := time.Since(began)
	fmt.Printf("initial sync: %s, %.0f items/s; CPU: workers %.1f s, emulator %.1f s, PostgreSQL %.1f s (of %d cores × %.1f s)\n",
		initial.Round(time.Millisecond), float64(total)/initial.Seconds(), cpuTime(procs).Seconds(),
		(selfCPU() - self0).Seconds(), cpuSince(pg0, serverCPU(ctx, conn)).Seconds(), runtime.NumCPU(), initial.Seconds())

	var mean, busy float64
	var first time.Time
	check(conn.QueryRow(ctx, `SELECT coalesce(avg(extract(epoch FROM end_time - start_time)), 0)::float8,
		coalesce(sum(extract(epoch FROM end_time - start_time)), 0)::float8, min(start_time) FROM sessions`).Scan(&mean, &busy, &first))
	fmt.Printf("sessions: %.0f ms on average, the first %s after the workers started; the workers' session slots were busy %.0f%% of the time\n",
		mean*1000, first.Sub(began).Round(time.Millisecond), 100*busy/(initial.Seconds()*float64(*workers**conc)))

	if *top > 0 && statements {
		topStatements(ctx, conn, *top)
	}

	self0, pg0 = selfCPU(), serverCPU(ctx, conn)
	bare := bareLoop(ctx, conn, *n, *items)
	fmt.Printf("bare pgx batches of the same rows: %s (%.0f rows/s); sync / bare = %.2f×; CPU: loop %.1f s, PostgreSQL %.1f s\n",
		bare.Round(time.Millisecond), float64(total)/bare.Seconds(), initial.Seconds()/bare.Seconds(),
		(selfCPU() - self0).Seconds(), cpuSince(pg0, serverCPU(ctx, conn)).Seconds())

	// A no-change cycle: every mailbox once more, nothing new.
	if *top > 0 && statements {
		_, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset()")
		check(err)
	}
	cpu0 := cpuTime(procs)
	req0 := g.Requests()
	stmt0 := statementCount(ctx, conn, statements)
	xact0 := xacts(ctx, conn)
	asked := time.Now()
	cli("sync", "--all")
	waitCycle(ctx, conn, *n, asked)
	cycle := time.Since(asked)
	cpu := cpuTime(procs) - cpu0
	fmt.Printf("no-change cycle: %s wall; worker CPU %.2f ms/mailbox; %.2f Graph requests/mailbox; %.1f statements/mailbox; %.1f transactions/mailbox\n",
		cycle.Round(time.Millisecond), float64(cpu.Microseconds())/1000/float64(*n),
		float64(g.Requests()-req0)/float64(*n), float64(statementCount(ctx, conn, statements)-stmt0)/float64(*n),
		float64(xacts(ctx, conn)-xact0)/float64(*n))
	if *top > 0 && statements {
		fmt.Println("the no-change cycle's statements:")
		topStatements(ctx, conn, *top)
	}
	for i, p := range procs {
		fmt.Printf("worker %d peak RSS: %.1f MB\n", i+1, float64(peakRSS(p.Process.Pid))/1024)
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// waitItems waits until every mailbox has synced and the store holds
// total live items, printing progress every 5 seconds.
func waitItems(ctx context.Context, conn *pgx.Conn, n int, total int64, began time.Time) {
	last := time.Now()
	for {
		var done int
		var items int64
		check(conn.QueryRow(ctx, "SELECT count(*) FILTER (WHERE last_sync IS NOT NULL), coalesce(sum(live_items), 0) FROM mailboxes").Scan(&done, &items))
		if done == n && items == total {
			return
		}
		if time.Since(last) > 5*time.Second {
			fmt.Printf("  %s: %d of %d mailboxes, %d items\n", time.Since(began).Round(time.Second), done, n, items)
			last = time.Now()
		}
		if time.Since(began) > 30*time.Minute {
			log.Fatalf("not synced after 30 minutes: %d mailboxes, %d items", done, items)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitCycle waits until every mailbox synced after asked.
func waitCycle(ctx context.Context, conn *pgx.Conn, n int, asked time.Time) {
	for deadline := time.Now().Add(30 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var done int
		check(conn.QueryRow(ctx, "SELECT count(*) FROM mailboxes WHERE last_sync >= $1", asked).Scan(&done))
		if done == n {
			return
		}
	}
	log.Fatal("the no-change cycle did not end within 30 minutes")
}

// bareLoop inserts n×items rows like the store's items into a plain table
// with pgx batches of 50 (one transaction each), as fast as one
// connection goes.
func bareLoop(ctx context.Context, conn *pgx.Conn, n, items int) time.Duration {
	_, err := conn.Exec(ctx, `CREATE TEMP TABLE bare (mailbox text, folder text, provider_id text, kind text, subject text,
		sender text, recipients text, at timestamptz, hash bigint, PRIMARY KEY (mailbox, folder, provider_id))`)
	check(err)
	began := time.Now()
	at := time.Now()
	for m := range n {
		mb := fmt.Sprintf("u%05d@contoso.test", m)
		for start := 0; start < items; start += 50 {
			b := &pgx.Batch{}
			b.Queue("BEGIN")
			for i := start; i < min(start+50, items); i++ {
				b.Queue(`INSERT INTO bare VALUES ($1, 'inbox', $2, 'mail', $3, 'ann@contoso.test', 'bob@contoso.test', $4, $5)
					ON CONFLICT DO NOTHING`, mb, fmt.Sprintf("AAMkAGI2TG93-%07d=", i), fmt.Sprintf("Subject %d", i), at, int64(i))
			}
			b.Queue("COMMIT")
			check(conn.SendBatch(ctx, b).Close())
		}
	}
	return time.Since(began)
}

func statementCount(ctx context.Context, conn *pgx.Conn, ok bool) int64 {
	if !ok {
		return 0
	}
	var n int64
	check(conn.QueryRow(ctx, "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())").Scan(&n))
	return n
}

// topStatements prints the n statements of this database that took the
// most execution time since pg_stat_statements was last reset.
func topStatements(ctx context.Context, conn *pgx.Conn, n int) {
	rows, err := conn.Query(ctx, `SELECT calls, total_exec_time, regexp_replace(left(query, 110), '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT $1`, n)
	check(err)
	defer rows.Close()
	for rows.Next() {
		var calls int64
		var ms float64
		var q string
		check(rows.Scan(&calls, &ms, &q))
		fmt.Printf("  %8.0f ms %7d calls  %s\n", ms, calls, q)
	}
	check(rows.Err())
}

func xacts(ctx context.Context, conn *pgx.Conn) int64 {
	var n int64
	check(conn.QueryRow(ctx, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()").Scan(&n))
	return n
}

// cpuTime is the user + system CPU time the processes used so far.
func cpuTime(procs []*exec.Cmd) time.Duration {
	var total time.Duration
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Process.Pid))
		check(err)
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * time.Second / 100 // USER_HZ
	}
	return total
}

// serverCPU returns the CPU time the cluster's processes (backends and
// background processes, from pg_stat_activity and /proc) used so far, by
// pid.
func serverCPU(ctx context.Context, conn *pgx.Conn) map[int32]time.Duration {
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity")
	check(err)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	check(err)
	cpu := map[int32]time.Duration{}
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // ended since
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		cpu[pid] = time.Duration(ut+st) * time.Second / 100 // USER_HZ
	}
	return cpu
}

// cpuSince is the CPU time the processes of after used since before;
// those that ended in between are not counted.
func cpuSince(before, after map[int32]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// selfCPU is the CPU time this process (the emulator) used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's VmHWM in KB.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			v, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return v
		}
	}
	return 0
}

func mustDB(url string, err error) string {
	check(err)
	return url
}
