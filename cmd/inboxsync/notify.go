package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/inboxsync/inboxsync/app"
	"github.com/inboxsync/inboxsync/sync/control"
	"github.com/inboxsync/inboxsync/sync/secret/keyring"
)

const notifyAbout = `Email notices: when sync stops on a mailbox and needs someone (suspended, or
needing re-activation), Inbox Sync emails "Action required - Sync suspended"
to the user and/or the administrator, as the administrator's policy says
(notify, admin_email, [smtp]; see README "For administrators").

  test       send a test notice to every configured address and say, for each,
             whether the mail relay took it or why not
  password   set the mail relay's password (the policy's smtp.username) in the
             system keyring, read from standard input (--stdin)`

func (c *cli) notify(args []string) int {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	switch sub {
	case "test":
		fs := c.flags("notify test", "Sends a test notice to every configured address and says where it went or why\nit failed.", "")
		if code, ok := c.parse(fs, args[1:], 0); !ok {
			return code
		}
		return c.withAgent(func(ctx context.Context, cl *control.Client) int {
			got, err := cl.TestNotice(ctx)
			if err != nil {
				return c.fail(err)
			}
			failed := 0
			for _, d := range got {
				if d.Error != "" {
					failed++
					fmt.Fprintf(c.out, "%s: not sent: %s\n", d.To, d.Error)
					continue
				}
				fmt.Fprintf(c.out, "%s: sent (the mail relay accepted it)\n", d.To)
			}
			if failed > 0 {
				return exitError
			}
			return exitOK
		})
	case "password":
		fs := c.flags("notify password --stdin", "Sets the mail relay's password in the system keyring, read from standard\ninput (one line). It is never written to a file or a log.", "")
		stdin := fs.Bool("stdin", false, "read the password from standard input")
		if code, ok := c.parse(fs, args[1:], 0); !ok {
			return code
		}
		if !*stdin {
			fmt.Fprintln(c.errOut, "inboxsync: give --stdin and the password on standard input, e.g. from a password manager")
			return exitUsage
		}
		line, _ := bufio.NewReader(c.stdin).ReadString('\n')
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return c.fail(errors.New("no password on standard input"))
		}
		if err := keyring.NewKeyring(app.KeyringService).Set(app.SMTPSecretAccount, app.SMTPSecretKey, pw); err != nil {
			return c.fail(fmt.Errorf("could not save the password in the system keyring: %w", err))
		}
		fmt.Fprintln(c.out, "The mail relay's password is saved in the system keyring.")
		return exitOK
	}
	fs := c.flags("notify test | notify password --stdin", notifyAbout, "")
	if code, ok := c.parse(fs, args, 0); !ok {
		return code
	}
	fs.Usage()
	return exitUsage
}
