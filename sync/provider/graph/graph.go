// Package graph syncs Office 365 (Exchange Online) mailboxes through
// Microsoft Graph: mail in Inbox and Sent Items through per-folder message
// delta queries, and the calendar through a calendarView delta over the
// −14/+60 day window. Sign-in is OAuth 2.0 with the Microsoft identity
// platform (sync/auth); Connector wires both into the engine.
//
// # Cursor
//
// A folder's cursor is JSON: {"v":1,"link":URL,"done":bool,"win":DATE}.
// link is the @odata.nextLink to follow (done false: the folder is in the
// middle of a round) or the @odata.deltaLink of the last finished round
// (done true). win, for the calendar only, is the first day (UTC) of the
// window the delta was started for; on a later day the window has moved
// and the cursor starts a fresh delta over the new window.
//
// # Requests
//
// All requests of one Provider go through one HTTP layer that allows at
// most 4 in flight (Graph throttles per mailbox), adds the bearer token,
// renews it once when Graph answers 401, and classifies failures: 429 and
// 503 are throttling (Retry-After), 410 Gone and syncStateNotFound an
// invalid cursor, a refused grant GrantGone with the reason in words.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
)

// DefaultEndpoint is the global cloud's Graph base URL.
const DefaultEndpoint = "https://graph.microsoft.com/v1.0"

// DefaultPageSize is the odata.maxpagesize asked for.
const DefaultPageSize = 200

// MaxInFlight is the most requests one mailbox has in flight.
const MaxInFlight = 4

// mailSelect lists the message properties that are stored. sensitivity,
// categories and conversationId are what the CRM rules read (issue 20):
// basic properties that Mail.ReadBasic(.All) includes, and the message
// delta honours $select like any GET (docs/office365.md).
const mailSelect = "id,internetMessageId,conversationId,subject,from,toRecipients,ccRecipients,receivedDateTime,sentDateTime,bodyPreview,sensitivity,categories"

// mailSelectBasic is mailSelect without what the application permission
// Mail.ReadBasic.All does not give (body, bodyPreview, uniqueBody,
// attachments, extensions, extended properties): app-only messages have
// no preview.
const mailSelectBasic = "id,internetMessageId,conversationId,subject,from,toRecipients,ccRecipients,receivedDateTime,sentDateTime,sensitivity,categories"

// Tokens hands out access tokens; *auth.TokenSource implements it.
type Tokens = httpapi.Tokens

// Options configure a Provider.
type Options struct {
	// Endpoint is the Graph base URL including the version
	// (DefaultEndpoint when empty).
	Endpoint string
	// HTTPClient makes the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	Tokens     Tokens
	// PageSize is the odata.maxpagesize (DefaultPageSize when 0).
	PageSize int
}

// Provider reads one mailbox through Graph. It implements
// provider.Provider.
type Provider struct {
	base     string // endpoint without trailing slash
	origin   string // scheme://host of base: links must stay there
	http     *httpapi.Client
	pageSize int

	// prefix is the mailbox's path: "/me" (delegated) or "/users/{user}"
	// (app-only).
	prefix string
	// sel is the $select of messages.
	sel string
	// app is set for app-only access: its user, budget and words.
	app  *App
	user string
	wait func(context.Context) error
}

var _ provider.Provider = (*Provider)(nil)

// New returns a Provider.
func New(o Options) (*Provider, error) {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	base, u, err := httpapi.Base("Graph endpoint", o.Endpoint)
	if err != nil {
		return nil, err
	}
	if o.Tokens == nil {
		return nil, errors.New("graph: no token source")
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	return &Provider{base: base, origin: u.Scheme + "://" + u.Host, http: httpapi.NewClient(o.HTTPClient, o.Tokens, MaxInFlight), pageSize: o.PageSize, prefix: "/me", sel: mailSelect}, nil
}

// Folders implements provider.Provider.
func (p *Provider) Folders() []api.Folder {
	return []api.Folder{api.Inbox, api.Sent, api.Calendar}
}

// Close implements provider.Provider. An app-only provider leaves the
// connections it shares with the App's other mailboxes open.
func (p *Provider) Close() error {
	if p.app == nil {
		p.http.CloseIdle()
	}
	return nil
}

// Requests returns how many HTTP requests the provider sent.
func (p *Provider) Requests() int64 { return p.http.Requests() }

// cursor is the decoded form of a folder's cursor.
type cursor struct {
	V    int    `json:"v"`
	Link string `json:"link"`
	Done bool   `json:"done,omitempty"`
	Win  string `json:"win,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if err := json.Unmarshal([]byte(s), &c); err != nil || c.V != 1 || c.Link == "" {
		return cursor{}, errors.New("unreadable Graph cursor")
	}
	return c, nil
}

// folderPath maps a folder to Graph's well-known folder name.
func folderPath(f api.Folder) (string, bool) {
	switch f {
	case api.Inbox:
		return "inbox", true
	case api.Sent:
		return "sentitems", true
	}
	return "", false
}

// Changes implements provider.Provider.
func (p *Provider) Changes(ctx context.Context, folder api.Folder, cur string, opts provider.Options) (provider.Page, error) {
	if err := ctx.Err(); err != nil {
		return provider.Page{}, err
	}
	var c cursor
	if cur != "" {
		var err error
		if c, err = decodeCursor(cur); err != nil {
			return provider.Page{}, provider.CursorInvalid(err)
		}
		if !p.ownLink(c.Link) {
			return provider.Page{}, provider.CursorInvalid(errors.New("the cursor points outside the Graph endpoint"))
		}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	next := cursor{V: 1}
	var link string
	prefer := []string{"odata.maxpagesize=" + strconv.Itoa(p.pageSize)}
	switch folder {
	case api.Inbox, api.Sent:
		link = c.Link
		if link == "" {
			name, _ := folderPath(folder)
			q := url.Values{"$select": {p.sel}}
			if !opts.Since.IsZero() {
				q.Set("$filter", "receivedDateTime ge "+opts.Since.UTC().Format(time.RFC3339))
			}
			link = p.base + p.prefix + "/mailFolders/" + name + "/messages/delta?" + q.Encode()
		}
	case api.Calendar:
		start, end := provider.CalendarDays(now)
		next.Win = start.Format(time.DateOnly)
		link = c.Link
		if c.Win != next.Win {
			// A new day: a fresh delta over the moved window.
			q := url.Values{"startDateTime": {start.Format(time.RFC3339)}, "endDateTime": {end.Format(time.RFC3339)}}
			link = p.base + p.prefix + "/calendarView/delta?" + q.Encode()
		}
		prefer = append(prefer, `outlook.timezone="UTC"`)
	default:
		return provider.Page{}, provider.Failed("Office 365 accounts sync Inbox, Sent Items and the calendar only.", fmt.Errorf("unknown folder %q", folder))
	}

	body, err := p.get(ctx, link, prefer)
	if err != nil {
		return provider.Page{}, err
	}
	var pg parsed
	if folder == api.Calendar {
		pg, err = parseEvents(body)
	} else {
		pg, err = parseMail(folder, body)
	}
	if err != nil {
		return provider.Page{}, provider.Failed("Microsoft Graph sent an answer Inbox Sync cannot read.", err)
	}
	switch {
	case pg.nextLink != "":
		next.Link = pg.nextLink
	case pg.deltaLink != "":
		next.Link, next.Done = pg.deltaLink, true
	default:
		return provider.Page{}, provider.Failed("Microsoft Graph sent a page without a next or delta link.", errors.New("no @odata.nextLink or @odata.deltaLink"))
	}
	if !p.ownLink(next.Link) {
		return provider.Page{}, provider.Failed("Microsoft Graph sent a link to another server.", errors.New("a paging link outside the Graph endpoint"))
	}
	return provider.Page{Changes: pg.changes, Issues: pg.issues, Cursor: next.encode(), More: !next.Done}, nil
}

// ownLink reports whether link is on the Graph endpoint's origin, so that
// the bearer token is never sent elsewhere.
func (p *Provider) ownLink(link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme+"://"+u.Host == p.origin
}

// APIError is an error answer of Graph. Its fields come from the server and
// carry no secret.
type APIError struct {
	Status  int
	Code    string
	Message string

	retryAfter string // the answer's Retry-After header
}

// Error returns the status, code and message.
func (e *APIError) Error() string {
	s := "Graph answered " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + httpapi.Excerpt(e.Message)
	}
	return s
}

// parseAPIError reads Graph's {"error":{"code","message"}}.
func parseAPIError(status int, body []byte) *APIError {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(body, &env)
	return &APIError{Status: status, Code: env.Error.Code, Message: env.Error.Message}
}

// defaultRetryAfter is the wait when a throttling answer names none.
const defaultRetryAfter = 30 * time.Second

// get fetches u with the bearer token, at most MaxInFlight at once.
func (p *Provider) get(ctx context.Context, u string, prefer []string) ([]byte, error) {
	h := http.Header{"Accept": {"application/json"}}
	if len(prefer) > 0 {
		h["Prefer"] = prefer
	}
	a, err := p.http.Do(ctx, httpapi.Request{Service: "Microsoft Graph", URL: u, Header: h, Wait: p.wait})
	if err != nil {
		return nil, err
	}
	if a.Status == http.StatusOK {
		return a.Body, nil
	}
	e := parseAPIError(a.Status, a.Body)
	if p.app != nil {
		return nil, p.app.classifyMailbox(p.user, e, a.Header.Get("Retry-After"))
	}
	return nil, classify(e, a.Header.Get("Retry-After"))
}

// classify maps a Graph error answer to an error class.
func classify(e *APIError, retryAfterHeader string) error {
	code := strings.ToLower(e.Code)
	switch {
	case e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable:
		d := auth.RetryAfterHeader(retryAfterHeader, time.Now())
		if d <= 0 {
			d = defaultRetryAfter
		}
		return provider.Throttled(d, e)
	case e.Status == http.StatusGone || code == "syncstatenotfound" || code == "syncstateinvalid" || code == "resyncrequired":
		return provider.CursorInvalid(e)
	case e.Status == http.StatusUnauthorized:
		return provider.Rejected("Microsoft 365 refused the sign-in even after renewing it: sign in again.", e)
	case e.Status == http.StatusForbidden:
		return provider.Failed("Microsoft 365 does not let Inbox Sync read this mailbox (a permission is missing, or your administrator blocked the app).", e)
	case code == "mailboxnotenabledforrestapi" || code == "resourcenotfound" && strings.Contains(strings.ToLower(e.Message), "mailbox"):
		return provider.Failed("This account has no Exchange Online mailbox that Microsoft Graph can read.", e)
	case e.Status == http.StatusBadGateway || e.Status == http.StatusGatewayTimeout:
		return provider.Offline(e)
	}
	return provider.Failed("Microsoft Graph answered with an error.", e)
}

// Me is the signed-in user as /me describes them.
type Me struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail"`
	UserPrincipalName string `json:"userPrincipalName"`
}

// Address returns the mailbox address: mail, or the UPN when mail is unset.
func (m Me) Address() string {
	if m.Mail != "" {
		return m.Mail
	}
	return m.UserPrincipalName
}

// Me fetches /me (delegated access only).
func (p *Provider) Me(ctx context.Context) (Me, error) {
	body, err := p.get(ctx, p.base+"/me?$select=id,displayName,mail,userPrincipalName", nil)
	if err != nil {
		return Me{}, err
	}
	var m Me
	if err := json.Unmarshal(body, &m); err != nil {
		return Me{}, provider.Failed("Microsoft Graph sent an answer Inbox Sync cannot read.", fmt.Errorf("reading /me: %w", err))
	}
	return m, nil
}
