package keyring

// The "no usable keyring" cases, against real D-Bus daemons and a real
// gnome-keyring-daemon. godbus caches the session bus connection for the
// whole process, so each case runs the store in a child process (this test
// binary again, running only TestUnavailableChild) with its own
// DBUS_SESSION_BUS_ADDRESS.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"
	"github.com/inboxsync/inboxsync/sync/secret"
)

// childEnv selects the child's role; childLockedEnv says whether it must
// see a locked keyring.
const (
	childEnv       = "INBOXSYNC_SECRET_TEST_CHILD"
	childLockedEnv = "INBOXSYNC_SECRET_TEST_CHILD_LOCKED"
	childDone      = "unavailable-child-done"
	// childLinePrefix marks the child's report lines, the only ones the
	// parent logs (the rest is the test framework's own output).
	childLinePrefix = "child: "
)

// TestUnavailableChild is the child process of TestUnavailable; on its own
// it does nothing.
func TestUnavailableChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("runs only as TestUnavailable's child process")
	}
	wantLocked := os.Getenv(childLockedEnv) == "1"
	const value = "Very-Secret-Value-4711"
	big := strings.Repeat(value, 200)
	s := NewKeyring("inboxsync-test-unavailable")

	check := func(op string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", op)
			return
		}
		if !errors.Is(err, secret.ErrUnavailable) {
			t.Errorf("%s: errors.Is(err, secret.ErrUnavailable) = false: %v", op, err)
		}
		var ue *secret.UnavailableError
		if !errors.As(err, &ue) {
			t.Errorf("%s: not an *secret.UnavailableError: %T %v", op, err, err)
			return
		}
		if ue.Locked != wantLocked {
			t.Errorf("%s: Locked = %v, want %v (%v)", op, ue.Locked, wantLocked, err)
		}
		if ue.Unwrap() == nil {
			t.Errorf("%s: no underlying error", op)
		}
		msg := strings.ToLower(err.Error())
		if !strings.Contains(msg, "install") || !strings.Contains(msg, "unlock") {
			t.Errorf("%s: message does not say to install and unlock a keyring: %v", op, err)
		}
		if errors.Is(err, secret.ErrNotFound) {
			t.Errorf("%s: also matches secret.ErrNotFound", op)
		}
		assertNoSecretIn(t, err, value)
		fmt.Printf("%s%s: %T: %v\n", childLinePrefix, op, ue.Err, err)
	}
	_, err := s.Get("acct", secret.KeyPassword)
	check("Get", err)
	check("Set", s.Set("acct", secret.KeyPassword, value))
	check("Set large", s.Set("acct", secret.KeyToken, big))
	check("Delete", s.Delete("acct", secret.KeyPassword))
	check("DeleteAccount", s.DeleteAccount("acct"))
	fmt.Println(childDone)
}

// runChild runs TestUnavailableChild with the given environment changes
// ("NAME=value" sets, "NAME" alone unsets) and fails t if the child fails.
func runChild(t *testing.T, wantLocked bool, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestUnavailableChild$", "-test.count=1", "-test.v")
	locked := "0"
	if wantLocked {
		locked = "1"
	}
	env = append([]string{"DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL", childEnv + "=1", childLockedEnv + "=" + locked,
		// A -race child would sleep a second at exit.
		"GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}, env...)
	cmd.Env = editEnv(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), childDone) {
		t.Fatalf("child process failed (%v):\n%s", err, out)
	}
	var report []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, childLinePrefix) {
			report = append(report, line)
		}
	}
	t.Log(strings.Join(report, "\n"))
	return string(out)
}

// editEnv applies changes ("NAME=value" sets, "NAME" unsets) to env.
func editEnv(env []string, changes ...string) []string {
	for _, c := range changes {
		name, _, _ := strings.Cut(c, "=")
		out := env[:0:0]
		for _, kv := range env {
			if n, _, _ := strings.Cut(kv, "="); n != name {
				out = append(out, kv)
			}
		}
		env = out
		if strings.Contains(c, "=") {
			env = append(env, c)
		}
	}
	return env
}

// needTool returns the path of a program the test needs: it skips t when
// the program is missing, or fails it under INBOXSYNC_REQUIRE_KEYRING=1.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("INBOXSYNC_REQUIRE_KEYRING") == "1" {
		t.Fatalf("%s not found (INBOXSYNC_REQUIRE_KEYRING=1): install dbus and gnome-keyring", name)
	}
	t.Skipf("%s not found", name)
	return ""
}

// shortTempDir returns a temporary directory with a short path (unix
// socket paths are limited to about 100 bytes), removed when t ends.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "isk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startPrivateBus starts a session-type D-Bus daemon that can activate
// nothing (no service directories) and returns its address.
func startPrivateBus(t *testing.T) string {
	t.Helper()
	daemon := needTool(t, "dbus-daemon")
	dir := shortTempDir(t)
	conf := filepath.Join(dir, "bus.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--nofork", "--print-address=1")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = dieWithParent
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the bus address: %v", err)
	}
	return strings.TrimSpace(addr)
}

// dieWithParent makes the daemons the tests start exit if the test binary
// is killed before its cleanups run.
var dieWithParent = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}

// keyringDaemon is a gnome-keyring-daemon on a private bus.
type keyringDaemon struct {
	cmd  *exec.Cmd
	addr string
}

// startKeyringDaemon starts gnome-keyring-daemon (secrets component only)
// on the bus at addr with home as its HOME, unlocking (and, the first time,
// creating) the login keyring with password unless password is empty.
func startKeyringDaemon(t *testing.T, addr, home, password string) *keyringDaemon {
	t.Helper()
	bin := needTool(t, "gnome-keyring-daemon")
	run := filepath.Join(home, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"--foreground", "--components=secrets", "--start"}
	if password != "" {
		args[2] = "--unlock"
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = editEnv(os.Environ(), "GNOME_KEYRING_CONTROL", "DISPLAY", "WAYLAND_DISPLAY",
		"DBUS_SESSION_BUS_ADDRESS="+addr, "HOME="+home, "XDG_RUNTIME_DIR="+run,
		"XDG_DATA_HOME="+filepath.Join(home, ".local/share"), "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	cmd.Stdin = strings.NewReader(password)
	cmd.SysProcAttr = dieWithParent
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &keyringDaemon{cmd: cmd, addr: addr}
	t.Cleanup(d.stop)
	waitForOwner(t, addr, true)
	return d
}

// stop stops the daemon and waits until it has left the bus.
func (d *keyringDaemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

// waitForOwner waits until org.freedesktop.secrets has (or has not) an
// owner on the bus at addr.
func waitForOwner(t *testing.T, addr string, want bool) {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatalf("connecting to the private bus: %v", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has)
		if err != nil {
			t.Fatalf("NameHasOwner: %v", err)
		}
		if has == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("org.freedesktop.secrets owned = %v after 10 s, want %v", has, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestUnavailable(t *testing.T) {
	t.Run("bus address points nowhere", func(t *testing.T) {
		out := runChild(t, false, "DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(shortTempDir(t), "no-bus"))
		if !strings.Contains(out, "connect: no such file or directory") {
			t.Error("the raw error is not in the details")
		}
	})

	t.Run("bus address is garbage", func(t *testing.T) {
		runChild(t, false, "DBUS_SESSION_BUS_ADDRESS=garbage")
	})

	t.Run("no session bus", func(t *testing.T) {
		if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
			t.Skip("this machine has a session bus at /run/user/<uid>/bus")
		}
		// godbus would run dbus-launch, starting a stray bus: a fake one
		// first in PATH tells whether it was run.
		bin := shortTempDir(t)
		marker := filepath.Join(bin, "dbus-launch-ran")
		script := "#!/bin/sh\ntouch '" + marker + "'\nexit 1\n"
		if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		out := runChild(t, false, "DBUS_SESSION_BUS_ADDRESS", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		if _, err := os.Stat(marker); err == nil {
			t.Error("dbus-launch was run")
		}
		if !strings.Contains(out, "no D-Bus session bus") {
			t.Error("the details do not say there is no session bus")
		}
	})

	t.Run("no Secret Service on the bus", func(t *testing.T) {
		addr := startPrivateBus(t)
		out := runChild(t, false, "DBUS_SESSION_BUS_ADDRESS="+addr)
		if !strings.Contains(out, "org.freedesktop.DBus.Error.ServiceUnknown") {
			t.Error("the details do not name the D-Bus error")
		}
	})

	t.Run("keyring locked", func(t *testing.T) {
		addr := startPrivateBus(t)
		home := shortTempDir(t)
		// Create the login keyring with a password, then restart the
		// daemon without it: the keyring stays locked, and with no prompter
		// on this bus it cannot be unlocked.
		first := startKeyringDaemon(t, addr, home, "test-password")
		if _, err := os.Stat(filepath.Join(home, ".local/share/keyrings/login.keyring")); err != nil {
			t.Fatalf("the first daemon did not create the login keyring: %v", err)
		}
		first.stop()
		waitForOwner(t, addr, false)
		startKeyringDaemon(t, addr, home, "")
		out := runChild(t, true, "DBUS_SESSION_BUS_ADDRESS="+addr)
		if !strings.Contains(out, "failed to unlock correct collection") {
			t.Error("the details do not carry go-keyring's error")
		}
	})

	t.Run("no keyring created yet", func(t *testing.T) {
		// A daemon with no login keyring and no way to prompt for one.
		addr := startPrivateBus(t)
		startKeyringDaemon(t, addr, shortTempDir(t), "")
		runChild(t, true, "DBUS_SESSION_BUS_ADDRESS="+addr)
	})
}

func TestClassifyDBus(t *testing.T) {
	for _, c := range []struct {
		err         error
		unavailable bool
		locked      bool
	}{
		{dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}, true, false},
		{&dbus.Error{Name: "org.freedesktop.DBus.Error.NameHasNoOwner"}, true, false},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.Spawn.ChildExited"}, true, false},
		{dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked"}, true, true},
		{dbus.Error{Name: "org.freedesktop.Secret.Error.NoSuchObject", Body: []any{"No such secret collection at path: /org/freedesktop/secrets/aliases/default"}}, true, false},
		{dbus.Error{Name: "org.freedesktop.Secret.Error.NoSuchObject", Body: []any{"No such secret item at path: /x"}}, false, false},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.InvalidArgs"}, false, false},
		{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"), true, true},
		{errors.New("dbus: couldn't determine address of session bus"), true, false},
		{errors.New("dbus: invalid bus address (no transport)"), true, false},
		{errors.New("dbus: authentication failed"), true, false},
		{&net.OpError{Op: "dial", Net: "unix", Err: syscall.ECONNREFUSED}, true, false},
		{fmt.Errorf("x: %w", dbus.ErrClosed), true, false},
		{errNoSessionBus, false, false}, // handled before go-keyring is called
		{errors.New("something else"), false, false},
	} {
		err := classify("read", "a", "k", c.err)
		var ue *secret.UnavailableError
		if got := errors.As(err, &ue); got != c.unavailable {
			t.Errorf("%v: unavailable = %v, want %v", c.err, got, c.unavailable)
			continue
		}
		if ue != nil && ue.Locked != c.locked {
			t.Errorf("%v: locked = %v, want %v", c.err, ue.Locked, c.locked)
		}
		if ue != nil && !reflect.DeepEqual(errors.Unwrap(ue.Unwrap()), c.err) {
			t.Errorf("%v: not reachable through Unwrap", c.err)
		}
	}
	e := newUnavailable(dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"not provided"}})
	if !strings.Contains(e.Error(), "org.freedesktop.DBus.Error.ServiceUnknown: not provided") {
		t.Errorf("Error() = %q, want the D-Bus error name in the details", e.Error())
	}
}
