package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/internal/install"
	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/console"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

const consoleMore = `Off this computer (any --listen address that is not 127.0.0.1, ::1 or
localhost) the console is served over HTTPS only (--tls-cert and --tls-key)
and every page asks for a sign-in of an admin of the --admins file. On this
computer alone it may run without either: then anyone who can open
http://127.0.0.1:8443 on this computer acts as "localhost".

The admins file holds one "name:bcrypt-hash" line per admin, owner-only
(chmod 600). Add an admin or change their password with
  inboxsync org console --admins FILE --add-admin NAME
which reads the password from the first line of standard input.

Every admin action (sign-in, Force sync, Enable, Disable, CSV download) is
logged to standard error and stored in the database with who did it.`

// orgConsole runs `inboxsync org console`: the admins' web console.
func (c *cli) orgConsole(args []string) int {
	fs, db := c.orgFlags("console [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--admins FILE] [--add-admin NAME]",
		"Serves the organisation's web console: every mailbox's state, last and next sync and items;\nsearch, filter, sort; a mailbox's sessions and issues; Force sync, Enable, Disable; a CSV download.",
		consoleMore)
	listen := fs.String("listen", "127.0.0.1:8443", "serve on `ADDR` (host:port)")
	certFile := fs.String("tls-cert", "", "the TLS certificate chain, a PEM `FILE`")
	keyFile := fs.String("tls-key", "", "the TLS certificate's private key, a PEM `FILE` readable by its owner only")
	admins := fs.String("admins", "", "the admins `FILE` (name:bcrypt-hash lines)")
	addAdmin := fs.String("add-admin", "", "add the admin `NAME` to --admins (or change their password), then exit")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	if *addAdmin != "" {
		return c.consoleAddAdmin(*admins, *addAdmin)
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return c.fail(fmt.Errorf("--listen %q is not host:port (for example 127.0.0.1:8443 or 0.0.0.0:8443)", *listen))
	}
	local := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		local = true
	}
	useTLS := *certFile != "" || *keyFile != ""
	if useTLS && (*certFile == "" || *keyFile == "") {
		return c.fail(errors.New("HTTPS needs both --tls-cert and --tls-key"))
	}
	if !local && !useTLS {
		return c.fail(fmt.Errorf("the console is reachable from other computers on %s: serve it over HTTPS with --tls-cert and --tls-key (or listen on 127.0.0.1)", *listen))
	}
	if !local && *admins == "" {
		return c.fail(fmt.Errorf("the console is reachable from other computers on %s: name the admins who may sign in with --admins FILE", *listen))
	}
	var adm *console.Admins
	if *admins != "" {
		if adm, err = console.LoadAdmins(*admins); err != nil {
			return c.fail(err)
		}
	}
	var tlsCfg *tls.Config
	if useTLS {
		if err := checkKeyFile(*keyFile); err != nil {
			return c.fail(err)
		}
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return c.fail(fmt.Errorf("reading the TLS certificate %s and key %s: %w", *certFile, *keyFile, err))
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return c.withOrgSized(*db, 8, func(ctx context.Context, st *pgstore.Store) int {
		log := slog.New(slog.NewTextHandler(c.errOut, nil))
		srv, err := console.New(console.Config{
			Store: st, Admins: adm, Secure: useTLS, Log: log, Version: install.Version,
			Enqueue: func(ctx context.Context, addrs []string) error { return org.Enqueue(ctx, st.Pool(), addrs) },
			APIUse: func(ctx context.Context) (int, int, time.Time, error) {
				b, err := org.Budget(st).Load(ctx)
				return b.Used, b.Limit, b.Until, err
			},
		})
		if err != nil {
			return c.fail(err)
		}
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return c.fail(fmt.Errorf("cannot listen on %s: %w", *listen, err))
		}
		hs := &http.Server{Handler: srv, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		scheme := "http"
		if useTLS {
			scheme = "https"
		}
		who := "no sign-in (this computer only)"
		if adm != nil {
			who = fmt.Sprintf("sign-in of %d admins", len(adm.Names()))
		}
		fmt.Fprintf(c.errOut, "Console at %s://%s/ (%s). Stop it with Ctrl+C.\n", scheme, ln.Addr(), who)
		done := make(chan error, 1)
		go func() {
			if useTLS {
				done <- hs.ServeTLS(ln, "", "")
			} else {
				done <- hs.Serve(ln)
			}
		}()
		select {
		case err := <-done:
			return c.fail(err)
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		return exitOK
	})
}

// checkKeyFile refuses a private key others may read.
func checkKeyFile(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("reading the TLS key: %w", err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return fmt.Errorf("the TLS key %s can be read by other users (mode %04o): run chmod 600 %s", path, perm, path)
	}
	return nil
}

// consoleAddAdmin adds an admin to the admins file, asking for the
// password.
func (c *cli) consoleAddAdmin(path, name string) int {
	if path == "" {
		return c.fail(errors.New("which admins file? Pass --admins FILE with --add-admin"))
	}
	fmt.Fprintf(c.errOut, "Password for %s, one line (at least 12 characters):\n", name)
	pw, err := readLine(bufio.NewReader(c.stdin))
	if err != nil {
		return c.fail(fmt.Errorf("reading the password: %w", err))
	}
	if err := console.SetAdmin(path, name, pw); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.out, "Admin %s can sign in to the console (admins file %s).\n", name, path)
	return exitOK
}

// readLine reads one line without its line end.
func readLine(r *bufio.Reader) (string, error) {
	s, err := r.ReadString('\n')
	if err != nil && s == "" {
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}
