package graph

// App-only access (organisation mode): the OAuth 2.0 client credentials
// grant of one app registration, and the tenant's mailboxes read through
// /users/{user}/....

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/auth"
	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
)

// AppPermissions are the application permissions (Microsoft Graph app
// roles) organisation mode needs, least privilege: message headers without
// bodies, calendars, and group membership for importing mailboxes.
var AppPermissions = []string{"Mail.ReadBasic.All", "Calendars.Read", "GroupMember.Read.All"}

// Limits of Outlook resources in Microsoft Graph, per app and mailbox.
const (
	// MailboxRequests is how many requests one mailbox may receive from
	// the app per MailboxWindow.
	MailboxRequests = 10000
	// MailboxWindow is the window of MailboxRequests.
	MailboxWindow = 10 * time.Minute
)

// renewBefore is how long before its expiry a token is replaced.
const renewBefore = 5 * time.Minute

// refusalMemory is how long a refusal of the app is answered from memory,
// so that thousands of mailboxes do not each ask the token endpoint.
const refusalMemory = 30 * time.Second

// clientAssertionType is RFC 7523's client assertion type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ErrAppRefused (errors.Is) marks a refusal of the APP itself at the token
// endpoint (invalid_client, unauthorized_client, consent withdrawn, secret
// wrong or expired, certificate not registered, app not found…), or by
// Graph of a token just issued: an organisation-wide incident, not one per
// mailbox. Such an error is also a provider.Error of class GrantGone with
// words for an administrator.
var ErrAppRefused = errors.New("the app registration was refused")

// AppConfig configures app-only access for one tenant.
type AppConfig struct {
	// Tenant is the tenant ID (GUID) or a verified domain; not
	// organizations, common or consumers.
	Tenant   string
	ClientID string
	// Authority is the identity platform's URL (DefaultAuthority when
	// empty; national clouds and tests set it).
	Authority string
	// Endpoint is the Graph base URL with version (DefaultEndpoint when
	// empty). The token's scope is its origin + "/.default".
	Endpoint string
	// ClientSecret and Certificate are the credentials: exactly one.
	ClientSecret string
	Certificate  *Certificate
	// HTTPClient makes all requests (nil: http.DefaultClient).
	HTTPClient *http.Client
	// PageSize is the odata.maxpagesize (DefaultPageSize when 0).
	PageSize int
	// Now is the clock of token expiry and assertions (nil: time.Now).
	Now func() time.Time
}

// App is one tenant's app-only access, shared by all its mailboxes: one
// cached token, renewed a few minutes before expiry, safe for concurrent
// use; per mailbox at most MaxInFlight requests in flight and at most
// MailboxRequests per MailboxWindow (Graph's Outlook limits), enforced in
// this process across all the Providers of that mailbox.
type App struct {
	cfg      AppConfig
	tokenURL string
	scope    string
	base     string
	origin   string
	hc       *http.Client
	dir      *httpapi.Client // directory requests (groups)
	limit    int             // requests per MailboxWindow

	mu           sync.Mutex
	access       string
	expiry       time.Time
	fetching     chan struct{}
	refused      error
	refusedUntil time.Time
	mailboxes    map[string]*mailboxState
}

// mailboxState is what all Providers of one mailbox share.
type mailboxState struct {
	http   *httpapi.Client
	budget budget
}

var _ Tokens = (*App)(nil)

// NewApp checks cfg and returns the tenant's App. It sends nothing: Check
// verifies the credentials.
func NewApp(cfg AppConfig) (*App, error) {
	switch strings.ToLower(cfg.Tenant) {
	case "":
		return nil, fmt.Errorf("%w: app-only access needs the tenant ID (or its domain)", api.ErrInvalid)
	case "organizations", "common", "consumers":
		return nil, fmt.Errorf("%w: app-only access needs the tenant ID or domain, not %q: an app acts in one tenant", api.ErrInvalid, cfg.Tenant)
	}
	if !tenantRe.MatchString(cfg.Tenant) {
		return nil, fmt.Errorf("%w: the tenant must be a tenant ID or a domain name, not %q", api.ErrInvalid, cfg.Tenant)
	}
	if cfg.ClientID == "" || len(cfg.ClientID) > 128 || !clientIDRe.MatchString(cfg.ClientID) {
		return nil, fmt.Errorf("%w: the client ID %q does not look like an application (client) ID", api.ErrInvalid, cfg.ClientID)
	}
	switch {
	case cfg.ClientSecret == "" && cfg.Certificate == nil:
		return nil, fmt.Errorf("%w: app-only access needs a credential of the app registration: a certificate (recommended) or a client secret", api.ErrInvalid)
	case cfg.ClientSecret != "" && cfg.Certificate != nil:
		return nil, fmt.Errorf("%w: give the app registration either a certificate or a client secret, not both", api.ErrInvalid)
	}
	if cfg.Authority == "" {
		cfg.Authority = DefaultAuthority
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultEndpoint
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = DefaultPageSize
	}
	var err error
	if cfg.Authority, err = httpapi.CheckURL("authority", cfg.Authority); err != nil {
		return nil, err
	}
	if cfg.Endpoint, err = httpapi.CheckURL("Graph endpoint", cfg.Endpoint); err != nil {
		return nil, err
	}
	base, u, err := httpapi.Base("Graph endpoint", cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	a := &App{
		cfg: cfg, tokenURL: cfg.Authority + "/" + url.PathEscape(cfg.Tenant) + "/oauth2/v2.0/token",
		scope: u.Scheme + "://" + u.Host + "/.default", base: base, origin: u.Scheme + "://" + u.Host,
		hc: hc, limit: MailboxRequests, mailboxes: map[string]*mailboxState{},
	}
	a.dir = httpapi.NewClient(hc, a, MaxInFlight)
	return a, nil
}

func (a *App) now() time.Time {
	if a.cfg.Now != nil {
		return a.cfg.Now()
	}
	return time.Now()
}

// TokenURL returns the token endpoint the App asks.
func (a *App) TokenURL() string { return a.tokenURL }

// Scope returns the scope the App asks for (the Graph origin + "/.default").
func (a *App) Scope() string { return a.scope }

// Token implements Tokens: the cached access token, or a new one when it
// expires within a few minutes. Concurrent callers share one request to
// the token endpoint; a refusal of the app is remembered for a little
// while.
func (a *App) Token(ctx context.Context) (string, error) {
	for {
		a.mu.Lock()
		now := a.now()
		if a.access != "" && now.Before(a.expiry.Add(-renewBefore)) {
			tok := a.access
			a.mu.Unlock()
			return tok, nil
		}
		if a.refused != nil && now.Before(a.refusedUntil) {
			err := a.refused
			a.mu.Unlock()
			return "", err
		}
		if ch := a.fetching; ch != nil {
			a.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		ch := make(chan struct{})
		a.fetching = ch
		old, oldExpiry := a.access, a.expiry
		a.mu.Unlock()

		tok, expiry, err := a.fetch(ctx, now)

		a.mu.Lock()
		a.fetching = nil
		close(ch)
		switch {
		case err == nil:
			a.access, a.expiry, a.refused = tok, expiry, nil
		case errors.Is(err, ErrAppRefused):
			a.access, a.refused, a.refusedUntil = "", err, now.Add(refusalMemory)
		case old != "" && now.Before(oldExpiry):
			// The token endpoint is unreachable; the token still works.
			tok, err = old, nil
		}
		a.mu.Unlock()
		return tok, err
	}
}

// Invalidate implements Tokens: Graph refused access, so the next Token
// asks for a new one.
func (a *App) Invalidate(access string) {
	a.mu.Lock()
	if a.access == access {
		a.access = ""
	}
	a.mu.Unlock()
}

// Check gets a new token, to verify the credentials (at `org credentials`
// time). Its error is ErrAppRefused, offline or throttled.
func (a *App) Check(ctx context.Context) error {
	a.mu.Lock()
	a.access, a.refused = "", nil
	a.mu.Unlock()
	_, err := a.Token(ctx)
	return err
}

// fetch asks the token endpoint for a token (client credentials grant).
func (a *App) fetch(ctx context.Context, now time.Time) (string, time.Time, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.cfg.ClientID}, "scope": {a.scope}}
	if c := a.cfg.Certificate; c != nil {
		as, err := c.assertion(a.cfg.ClientID, a.tokenURL, now)
		if err != nil {
			return "", time.Time{}, err
		}
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", as)
	} else {
		form.Set("client_secret", a.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", time.Time{}, ctx.Err()
		}
		return "", time.Time{}, provider.Offline(fmt.Errorf("reaching the Microsoft identity platform: %w", httpapi.StripURL(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return "", time.Time{}, ctx.Err()
		}
		return "", time.Time{}, provider.Offline(fmt.Errorf("reading the Microsoft identity platform's answer: %w", err))
	}
	tok, te, err := auth.ParseTokenResponse(resp.StatusCode, resp.Header.Get("Content-Type"), body)
	if err != nil {
		return "", time.Time{}, provider.Failed("The Microsoft identity platform sent a token answer Inbox Sync cannot read.", err)
	}
	if te != nil {
		return "", time.Time{}, a.tokenError(te, auth.RetryAfterHeader(resp.Header.Get("Retry-After"), now))
	}
	var exp struct {
		ExpiresIn json.RawMessage `json:"expires_in"`
	}
	json.Unmarshal(body, &exp)
	secs, _ := strconv.Atoi(strings.Trim(string(exp.ExpiresIn), `"`))
	if secs <= 0 {
		secs = 3600 // Entra's usual lifetime when the answer names none
	}
	life := time.Duration(secs) * time.Second
	// A token lives at least until renewBefore ahead; a short one is used
	// for its first half.
	if life <= 2*renewBefore {
		life = renewBefore + life/2
	}
	return tok.AccessToken, now.Add(life), nil
}

// appRefusalWords explains the Microsoft identity platform's refusals of an
// app, for an administrator.
var appRefusalWords = map[int]string{
	7000215: "the client secret is wrong (give the secret's Value, not its Secret ID)",
	7000222: "the client secret has expired: add a new one under Certificates & secrets and give it to Inbox Sync",
	700027:  "the certificate is not registered on the app, or the assertion's signature does not match it: upload the certificate under Certificates & secrets",
	700016:  "the app was not found in the tenant: check the client ID and tenant, and that an administrator consented to the app in this tenant",
	7000229: "the app has no service principal in the tenant (an administrator removed it or never consented): grant admin consent again",
	65001:   "an administrator has not consented to the app's permissions, or withdrew the consent: grant admin consent again",
	7000112: "the app is disabled in the tenant (Enterprise applications → Properties → Enabled for users to sign in)",
	90002:   "the tenant was not found: check the tenant ID or domain",
	700024:  "the client assertion was outside its valid time range: check this server's clock",
	7000218: "no client secret or certificate was sent",
	70011:   "the scope was refused",
	53003:   "a Conditional Access policy for workload identities blocked it",
	700025:  "the app is a public client: it needs a client secret or certificate and Allow public client flows off",
}

// tokenError classifies a token endpoint error of the client credentials
// grant: throttling and server failures are passing; anything else refuses
// the app.
func (a *App) tokenError(te *auth.TokenError, retryAfter time.Duration) error {
	switch {
	case te.Status == http.StatusTooManyRequests:
		if retryAfter <= 0 {
			retryAfter = time.Minute
		}
		return provider.Throttled(retryAfter, te)
	case te.Status >= 500 || te.Code == "temporarily_unavailable" || te.Code == "server_error":
		return provider.Offline(te)
	}
	words := ""
	for _, c := range te.Codes {
		if w, ok := appRefusalWords[c]; ok {
			words = w
			break
		}
	}
	if words == "" {
		switch te.Code {
		case "invalid_client":
			words = "the client credentials are not valid"
		case "unauthorized_client":
			words = "the app may not use the client credentials grant in this tenant"
		default:
			words = "it answered " + te.Code
		}
	}
	return provider.GrantGone(fmt.Sprintf("The app registration %s was refused by Microsoft for tenant %s: %s.", a.cfg.ClientID, a.cfg.Tenant, words),
		fmt.Errorf("%w: %w", ErrAppRefused, te))
}

// Mailbox returns a provider.Provider reading the mailbox user (UPN/address
// or object id). Providers of the same user (compared without case) share
// its in-flight places and request budget.
func (a *App) Mailbox(user string) (*Provider, error) {
	user = strings.TrimSpace(user)
	if user == "" || len(user) > 320 || strings.ContainsAny(user, "/\\?#") || strings.IndexFunc(user, unicode.IsControl) >= 0 || strings.IndexFunc(user, unicode.IsSpace) >= 0 {
		return nil, fmt.Errorf("%w: %q is not a user principal name, mail address or object ID", api.ErrInvalid, user)
	}
	key := strings.ToLower(user)
	a.mu.Lock()
	st := a.mailboxes[key]
	if st == nil {
		st = &mailboxState{http: httpapi.NewClient(a.hc, a, MaxInFlight)}
		a.mailboxes[key] = st
	}
	a.mu.Unlock()
	return &Provider{
		base: a.base, origin: a.origin, http: st.http, pageSize: a.cfg.PageSize,
		prefix: "/users/" + url.PathEscape(user), sel: mailSelectBasic,
		app: a, user: user, wait: func(context.Context) error { return a.take(st) },
	}, nil
}

// take spends one request of a mailbox's budget, or says how long to wait.
func (a *App) take(st *mailboxState) error {
	if d := st.budget.take(a.now(), a.limit); d > 0 {
		return provider.Throttled(d, fmt.Errorf("this mailbox had its %d Microsoft Graph requests of %v; the next is allowed in %v", a.limit, MailboxWindow, d.Round(time.Second)))
	}
	return nil
}

// budgetSlots is the number of one-minute slots counted: a window of
// MailboxWindow spans at most 11 started minutes.
const budgetSlots = int64(MailboxWindow/time.Minute) + 1

// budget counts a mailbox's requests per minute over the last
// budgetSlots minutes, never allowing more than the limit in any window
// of MailboxWindow.
type budget struct {
	mu     sync.Mutex
	minute [budgetSlots]int64
	count  [budgetSlots]int
}

// take counts one request at now, or returns how long until one is
// allowed.
func (b *budget) take(now time.Time, limit int) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := now.Unix() / 60
	total, oldest := 0, m
	for i := range b.count {
		if b.count[i] > 0 && b.minute[i] > m-budgetSlots {
			total += b.count[i]
			oldest = min(oldest, b.minute[i])
		}
	}
	if total >= limit {
		return time.Unix((oldest+budgetSlots)*60, 0).Sub(now)
	}
	i := m % budgetSlots
	if b.minute[i] != m {
		b.minute[i], b.count[i] = m, 0
	}
	b.count[i]++
	return 0
}

// classifyMailbox maps a Graph error answer about one mailbox of an
// app-only provider to an error class, in words for an administrator.
func (a *App) classifyMailbox(user string, e *APIError, retryAfter string) error {
	code := strings.ToLower(e.Code)
	switch {
	case e.Status == http.StatusUnauthorized:
		return a.tokenRefused("the mailbox "+user, e)
	case e.Status == http.StatusForbidden:
		return provider.GrantGone(fmt.Sprintf("Microsoft 365 does not let the app registration %s read the mailbox %s: it is outside the app's Exchange Online scope (RBAC for Applications), or the app lacks the application permissions %s with admin consent.", a.cfg.ClientID, user, strings.Join(AppPermissions[:2], " and ")), e)
	case code == "mailboxnotenabledforrestapi" || code == "errorinvaliduser" || code == "errornonexistentmailbox" ||
		code == "resourcenotfound" && strings.Contains(strings.ToLower(e.Message), "user"):
		return provider.GrantGone(fmt.Sprintf("%s has no Exchange Online mailbox that Microsoft Graph can read (the user may not exist, be unlicensed, inactive or on premises).", user), e)
	}
	return classify(e, retryAfter)
}

// tokenRefused is Graph's 401 to a token just issued (httpapi renewed it
// once): the app's access is gone for the whole tenant.
func (a *App) tokenRefused(what string, e *APIError) error {
	return provider.GrantGone(fmt.Sprintf("Microsoft Graph refused the app registration %s's new token (reading %s): the app's consent may have been withdrawn.", a.cfg.ClientID, what),
		fmt.Errorf("%w: %w", ErrAppRefused, e))
}

// GroupMembers returns the mail addresses of the users in a Microsoft 365
// group (transitive members that are users with a mail address), following
// @odata.nextLink. Needs GroupMember.Read.All.
//
// It reads /groups/{id}/transitiveMembers; where that route is unknown (a
// 400, or a 404 other than Request_ResourceNotFound) it reads
// /groups/{id}/members and the members of nested groups itself.
func (a *App) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	groupID = strings.TrimSpace(groupID)
	if groupID == "" || strings.ContainsAny(groupID, "/\\?#") {
		return nil, fmt.Errorf("%w: %q is not a group's object ID", api.ErrInvalid, groupID)
	}
	var out []string
	seen := map[string]bool{}
	limited := 0
	add := func(m member) {
		switch {
		case m.Mail != nil && *m.Mail != "":
			if k := strings.ToLower(*m.Mail); !seen[k] {
				seen[k] = true
				out = append(out, *m.Mail)
			}
		case m.UPN == nil || *m.UPN == "":
			limited++ // Graph hid the user's properties
		}
	}
	users, _, err := a.listMembers(ctx, groupID, "transitiveMembers")
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusNotFound && !strings.EqualFold(ae.Code, "Request_ResourceNotFound")) {
		users, err = nil, nil
		queue, done := []string{groupID}, map[string]bool{groupID: true}
		for len(queue) > 0 && err == nil {
			var us []member
			var groups []string
			us, groups, err = a.listMembers(ctx, queue[0], "members")
			queue = queue[1:]
			users = append(users, us...)
			for _, g := range groups {
				if !done[g] {
					done[g] = true
					queue = append(queue, g)
				}
			}
		}
	}
	if err != nil {
		if errors.As(err, &ae) {
			return nil, a.classifyGroup(groupID, ae, ae.retryAfter)
		}
		return nil, err
	}
	for _, m := range users {
		add(m)
	}
	if limited > 0 {
		return nil, provider.Failed(fmt.Sprintf("Microsoft Graph listed %d users of group %s without their properties: the app registration may also need User.ReadBasic.All.", limited, groupID), errors.New("group members with limited information"))
	}
	return out, nil
}

// member is a directory object in a list of group members.
type member struct {
	Type string  `json:"@odata.type"`
	ID   string  `json:"id"`
	Mail *string `json:"mail"`
	UPN  *string `json:"userPrincipalName"`
}

// listMembers reads all pages of /groups/{id}/{rel}: the users and the ids
// of the groups. A Graph error answer is returned as *APIError.
func (a *App) listMembers(ctx context.Context, groupID, rel string) ([]member, []string, error) {
	link := a.base + "/groups/" + url.PathEscape(groupID) + "/" + rel + "?" + url.Values{"$select": {"id,mail,userPrincipalName"}, "$top": {"999"}}.Encode()
	var users []member
	var groups []string
	for pages := 0; link != ""; pages++ {
		if pages >= 10000 {
			return nil, nil, provider.Failed("Microsoft Graph kept sending pages of group members.", errors.New("more than 10000 pages"))
		}
		u, err := url.Parse(link)
		if err != nil || u.Scheme+"://"+u.Host != a.origin {
			return nil, nil, provider.Failed("Microsoft Graph sent a link to another server.", errors.New("a paging link outside the Graph endpoint"))
		}
		ans, err := a.dir.Do(ctx, httpapi.Request{Service: "Microsoft Graph", URL: link, Header: http.Header{"Accept": {"application/json"}}})
		if err != nil {
			return nil, nil, err
		}
		if ans.Status != http.StatusOK {
			e := parseAPIError(ans.Status, ans.Body)
			e.retryAfter = ans.Header.Get("Retry-After")
			return nil, nil, e
		}
		var page struct {
			NextLink string   `json:"@odata.nextLink"`
			Value    []member `json:"value"`
		}
		if err := json.Unmarshal(ans.Body, &page); err != nil {
			return nil, nil, provider.Failed("Microsoft Graph sent an answer Inbox Sync cannot read.", fmt.Errorf("reading group members: %w", err))
		}
		for _, m := range page.Value {
			switch m.Type {
			case "#microsoft.graph.user":
				users = append(users, m)
			case "#microsoft.graph.group":
				groups = append(groups, m.ID)
			}
		}
		link = page.NextLink
	}
	return users, groups, nil
}

// classifyGroup maps a Graph error answer about a group.
func (a *App) classifyGroup(groupID string, e *APIError, retryAfter string) error {
	switch {
	case e.Status == http.StatusUnauthorized:
		return a.tokenRefused("group "+groupID, e)
	case e.Status == http.StatusForbidden:
		return provider.Failed(fmt.Sprintf("Microsoft Graph refused to list the members of group %s: the app registration %s needs the application permission GroupMember.Read.All with admin consent.", groupID, a.cfg.ClientID), e)
	case e.Status == http.StatusNotFound:
		return provider.Failed(fmt.Sprintf("The group %s does not exist in the tenant: give the group's object ID.", groupID), e)
	}
	return classify(e, retryAfter)
}
