package main

// `inboxsync org credentials`: the organisation's Microsoft 365 app, Google
// service account and Exchange service account.

import (
	"context"
	"fmt"

	"github.com/inboxsync/inboxsync/sync/org"
	"github.com/inboxsync/inboxsync/sync/org/pgstore"
)

func (c *cli) orgCredentials(args []string) int {
	usage := "credentials microsoft --tenant T --client-id ID (--certificate FILE | --client-secret-file FILE)\n" +
		"       inboxsync org credentials google --service-account FILE\n" +
		"       inboxsync org credentials exchange --login 'DOMAIN\\user' (--password-file FILE | --password-env NAME) [--ews-url URL]\n" +
		"       inboxsync org credentials show"
	if len(args) == 0 || (args[0] != "microsoft" && args[0] != "google" && args[0] != "exchange" && args[0] != "show") {
		fmt.Fprintf(c.errOut, "Usage: inboxsync org %s\n\nRegisters the organisation's app credentials. See docs/org.md for what to create at Microsoft and Google.\n", usage)
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			return exitOK
		}
		return exitUsage
	}
	kind, args := args[0], args[1:]
	switch kind {
	case "microsoft":
		fs, db := c.orgFlags("credentials microsoft --tenant T --client-id ID (--certificate FILE | --client-secret-file FILE)",
			"Registers the Microsoft 365 app (Entra ID app registration with the application permissions\nMail.ReadBasic.All and Calendars.Read, admin consent granted). The files stay where they are:\nonly their paths are stored, they must be readable by the workers' user alone, at the same path\non every machine that runs `inboxsync org serve`.",
			"A certificate is what Microsoft recommends; a client secret expires and is easier to leak.")
		var m org.Microsoft
		fs.StringVar(&m.Tenant, "tenant", "", "the directory (tenant) `ID` or primary domain")
		fs.StringVar(&m.ClientID, "client-id", "", "the application (client) `ID`")
		fs.StringVar(&m.Certificate, "certificate", "", "PEM `FILE` with the certificate's private key and the certificate uploaded to the app")
		fs.StringVar(&m.ClientSecretFile, "client-secret-file", "", "`FILE` holding a client secret")
		fs.StringVar(&m.Authority, "authority", "", "sign-in `URL` for national clouds (default https://login.microsoftonline.com)")
		fs.StringVar(&m.GraphEndpoint, "graph-endpoint", "", "Microsoft Graph `URL` for national clouds (default https://graph.microsoft.com/v1.0)")
		noCheck := fs.Bool("no-check", false, "store without asking Microsoft for a token first")
		if code, ok := c.parseMixed(fs, args, 0); !ok {
			return code
		}
		return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
			if err := org.SaveMicrosoft(ctx, st, m); err != nil {
				return c.fail(err)
			}
			if !*noCheck {
				creds := &org.Credentials{Store: st}
				app, err := creds.App(ctx)
				if err == nil {
					err = app.Check(ctx)
				}
				if err != nil {
					fmt.Fprintf(c.errOut, "inboxsync: stored, but Microsoft refused the app: %s\n", err)
					return exitError
				}
			}
			fmt.Fprintf(c.out, "Microsoft 365 app %s of tenant %s registered.\n", m.ClientID, m.Tenant)
			return exitOK
		})
	case "google":
		fs, db := c.orgFlags("credentials google --service-account FILE [--check-user ADDRESS]",
			"Registers the Google Workspace service account (JSON key) that has domain-wide delegation for the\nscopes https://www.googleapis.com/auth/gmail.metadata and\nhttps://www.googleapis.com/auth/calendar.events.readonly. Only the key file's path is stored; it\nmust be readable by the workers' user alone, at the same path on every worker machine.", "")
		var g org.Google
		fs.StringVar(&g.ServiceAccount, "service-account", "", "the service account's JSON key `FILE`")
		fs.StringVar(&g.TokenURL, "token-url", "", "token endpoint `URL` (default: the key's token_uri)")
		fs.StringVar(&g.GmailEndpoint, "gmail-endpoint", "", "Gmail API `URL`")
		fs.StringVar(&g.CalendarEndpoint, "calendar-endpoint", "", "Calendar API `URL`")
		checkUser := fs.String("check-user", "", "ask Google for a token as this user (`ADDRESS`) to check the delegation")
		if code, ok := c.parseMixed(fs, args, 0); !ok {
			return code
		}
		if g.ServiceAccount == "" {
			fs.Usage()
			return exitUsage
		}
		return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
			if err := org.SaveGoogle(ctx, st, g); err != nil {
				return c.fail(err)
			}
			if *checkUser != "" {
				if err := (&org.Credentials{Store: st}).CheckGoogle(ctx, *checkUser); err != nil {
					fmt.Fprintf(c.errOut, "inboxsync: stored, but Google refused the delegation: %s\n", err)
					return exitError
				}
			}
			fmt.Fprintln(c.out, "Google Workspace service account registered.")
			return exitOK
		})
	case "exchange":
		return c.orgCredentialsExchange(args)
	}
	fs, db := c.orgFlags("credentials show", "Shows the registered credentials (file paths, never their contents).", "")
	if code, ok := c.parseMixed(fs, args, 0); !ok {
		return code
	}
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		m, okM, err := org.LoadMicrosoft(ctx, st)
		if err != nil {
			return c.fail(err)
		}
		g, okG, err := org.LoadGoogle(ctx, st)
		if err != nil {
			return c.fail(err)
		}
		if okM {
			cred := "certificate " + m.Certificate
			if m.Certificate == "" {
				cred = "client secret in " + m.ClientSecretFile
			}
			fmt.Fprintf(c.out, "Microsoft 365: app %s, tenant %s, %s\n", m.ClientID, m.Tenant, cred)
		} else {
			fmt.Fprintln(c.out, "Microsoft 365: none registered")
		}
		if okG {
			fmt.Fprintf(c.out, "Google Workspace: service account key %s\n", g.ServiceAccount)
		} else {
			fmt.Fprintln(c.out, "Google Workspace: none registered")
		}
		e, okE, err := org.LoadExchange(ctx, st)
		if err != nil {
			return c.fail(err)
		}
		if okE {
			where := "password in " + e.PasswordFile
			if e.PasswordFile == "" {
				where = "password in the environment value " + e.PasswordEnv
			}
			url := "EWS URL " + e.URL
			if e.URL == "" {
				url = "EWS URL by Autodiscover per mailbox"
			}
			fmt.Fprintf(c.out, "Exchange on-premises: service account %s, %s, %s\n", e.Login, where, url)
		} else {
			fmt.Fprintln(c.out, "Exchange on-premises: none registered")
		}
		return exitOK
	})
}

// orgCredentialsExchange is `org credentials exchange`.
func (c *cli) orgCredentialsExchange(args []string) int {
	fs, db := c.orgFlags(`credentials exchange --login 'DOMAIN\user' (--password-file FILE | --password-env NAME) [--ews-url URL] [--check-user ADDRESS]`,
		"Registers the Exchange on-premises service account that holds the ApplicationImpersonation role\n"+
			"(docs/org.md). Its password is never stored: only the file's path (readable by the workers' user\n"+
			"alone, at the same path on every worker machine) or the environment value's name.\n"+
			"Without --ews-url each mailbox's EWS URL is found by Autodiscover, once per mailbox and worker.",
		"Exchange Online mailboxes go through Microsoft Graph (--provider office365), not here.")
	var e org.Exchange
	fs.StringVar(&e.Login, "login", "", "the service account, `DOMAIN\\user` or user@domain")
	fs.StringVar(&e.PasswordFile, "password-file", "", "`FILE` holding the password (first line; chmod 600)")
	fs.StringVar(&e.PasswordEnv, "password-env", "", "the environment value `NAME` holding the password on every worker")
	fs.StringVar(&e.URL, "ews-url", "", "the EWS endpoint `URL` of every mailbox, https://mail.example.com/EWS/Exchange.asmx (default: Autodiscover)")
	fs.StringVar(&e.Auth, "auth", "", "the sign-in method, ntlm or basic (default: what the server offers, NTLM first)")
	checkUser := fs.String("check-user", "", "check the right to impersonate this mailbox (`ADDRESS`) now")
	noCheck := fs.Bool("no-check", false, "store without asking Exchange first")
	if code, ok := c.parseMixed(fs, args, 0); !ok {
		return code
	}
	if e.Login == "" {
		fs.Usage()
		return exitUsage
	}
	return c.withOrg(*db, func(ctx context.Context, st *pgstore.Store) int {
		if err := org.SaveExchange(ctx, st, e); err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.out, "Exchange service account %s registered.\n", e.Login)
		if *noCheck {
			return exitOK
		}
		checked, err := (&org.Credentials{Store: st}).CheckExchange(ctx, *checkUser)
		switch {
		case err != nil:
			fmt.Fprintf(c.errOut, "inboxsync: stored, but the check failed: %s\n", err)
			return exitError
		case checked == "":
			fmt.Fprintln(c.out, "Not checked: give --check-user ADDRESS (or --ews-url) to check it now.")
		default:
			fmt.Fprintf(c.out, "Checked %s.\n", checked)
		}
		return exitOK
	})
}
