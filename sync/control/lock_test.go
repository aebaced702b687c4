//go:build unix

package control

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLockInProcess: a second Lock on the same file conflicts even in the
// same process; Release frees it.
func TestLockInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", "agent.lock")
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v", fi.Mode(), err)
	}
	_, err = Lock(path)
	if !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("second Lock: %v", err)
	}
	if want := fmt.Sprintf("(pid %d)", os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("second Lock: %q lacks %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	l2, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	l2.Release()
}

const lockHelperEnv = "INBOXSYNC_CONTROL_LOCK_HELPER"

// TestLockHelperProcess is not a test: TestLockAcrossProcesses runs the
// test binary with it to hold the lock in another process.
func TestLockHelperProcess(t *testing.T) {
	path := os.Getenv(lockHelperEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	if _, err := Lock(path); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestLockAcrossProcesses: another process's lock refuses ours; once that
// process is killed (no chance to clean up), Lock succeeds.
func TestLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}

	_, err = Lock(path)
	if !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("Lock while another process holds it: %v", err)
	}
	if want := fmt.Sprintf("(pid %d)", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("%q lacks %q", err, want)
	}
	if err.Error() != ErrAgentRunning.Error()+" "+fmt.Sprintf("(pid %d)", cmd.Process.Pid) {
		t.Errorf("message %q", err)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()
	l, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	l.Release()
}
