package ews

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inboxsync/inboxsync/sync/provider"
)

// Resolver looks up DNS SRV records. *net.Resolver implements it; tests
// supply a fake.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (cname string, addrs []*net.SRV, err error)
}

// DefaultAutodiscoverBudget is the total time Autodiscover may take.
const DefaultAutodiscoverBudget = 60 * time.Second

// perAttempt caps one endpoint, so that a host that never answers cannot eat
// the whole budget.
const perAttempt = 15 * time.Second

// maxHops bounds redirects (by address or URL) in one Autodiscover run.
const maxHops = 10

// Discovery is what Autodiscover found.
type Discovery struct {
	// URL is the EWS endpoint.
	URL string
	// Email is the mailbox address Autodiscover ended with (after any
	// address redirects).
	Email string
	// Via is the Autodiscover endpoint that answered.
	Via string
	// Tried lists every step, in order, in words.
	Tried []string
}

// autodiscoverer runs the documented order (docs/architecture.md §4; MS-OXDISCO and
// "Autodiscover for Exchange"): for the address's domain,
//
//  1. https://<domain>/autodiscover/autodiscover.svc (SOAP), then .xml (POX);
//  2. https://autodiscover.<domain>/autodiscover/autodiscover.svc, then .xml;
//  3. an unauthenticated GET of http://autodiscover.<domain>/autodiscover/autodiscover.xml,
//     whose redirect is followed only when it leads to https;
//  4. DNS SRV _autodiscover._tcp.<domain>, then the target's .svc and .xml.
//
// Redirects (HTTP 3xx, SOAP RedirectUrl, POX redirectUrl) are followed only
// to https URLs not tried before; an address redirect (RedirectAddress,
// redirectAddr) restarts the order for the new address. A 401 from one
// endpoint is noted and the search goes on: it is not proof of a bad
// password (the EWS check after Autodiscover decides that).
type autodiscoverer struct {
	login, password string
	base            http.RoundTripper
	resolver        Resolver

	tried []string
	seen  map[string]bool
	hops  int
	// unauthorized counts endpoints that refused the password.
	unauthorized int
}

// adResult is the outcome of one endpoint.
type adResult struct {
	ewsURL      string
	redirectTo  string // an https URL to try next
	redirectFor string // a new address to start over with
}

func (d *autodiscoverer) note(format string, args ...any) {
	d.tried = append(d.tried, fmt.Sprintf(format, args...))
}

// discover runs Autodiscover for email within ctx's deadline.
func (d *autodiscoverer) discover(ctx context.Context, email string) (Discovery, error) {
	d.seen = map[string]bool{}
	for {
		domain := domainOf(email)
		if domain == "" {
			return Discovery{}, provider.Failed(fmt.Sprintf("Autodiscover needs a mailbox address with a domain, not %q.", email), nil)
		}
		res, via, err := d.order(ctx, email, domain)
		if err != nil {
			return Discovery{Tried: d.tried}, err
		}
		if res.redirectFor != "" {
			email = res.redirectFor
			continue
		}
		if res.ewsURL != "" {
			return Discovery{URL: res.ewsURL, Email: email, Via: via, Tried: d.tried}, nil
		}
		return Discovery{Tried: d.tried}, d.failure(ctx, domain)
	}
}

// failure says what was tried, in words.
func (d *autodiscoverer) failure(ctx context.Context, domain string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Autodiscover could not find the Exchange server for %s", domain)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		b.WriteString(" within its time limit")
	}
	b.WriteString(". Tried: ")
	for i, t := range d.tried {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d) %s", i+1, t)
	}
	b.WriteString(". Enter the EWS URL (under More ▾, or with --ews-url), e.g. https://mail." + domain + "/EWS/Exchange.asmx.")
	return provider.Failed(b.String(), nil)
}

// order walks the steps for one address. It returns a result with either an
// EWS URL or a new address, or an empty result when nothing answered.
func (d *autodiscoverer) order(ctx context.Context, email, domain string) (adResult, string, error) {
	endpoints := func(host string) []string {
		return []string{"https://" + host + "/autodiscover/autodiscover.svc", "https://" + host + "/autodiscover/autodiscover.xml"}
	}
	// Steps 1 and 2.
	for _, host := range []string{domain, "autodiscover." + domain} {
		for _, u := range endpoints(host) {
			if res, via, done, err := d.follow(ctx, email, u); done || err != nil {
				return res, via, err
			}
		}
	}
	// Step 3: the unauthenticated redirect.
	if ctx.Err() == nil {
		if loc := d.httpRedirect(ctx, "http://autodiscover."+domain+"/autodiscover/autodiscover.xml"); loc != "" {
			if res, via, done, err := d.follow(ctx, email, loc); done || err != nil {
				return res, via, err
			}
		}
	}
	// Step 4: DNS SRV.
	if ctx.Err() == nil && d.resolver != nil {
		name := "_autodiscover._tcp." + domain
		_, srvs, err := d.resolver.LookupSRV(ctx, "autodiscover", "tcp", domain)
		switch {
		case err != nil:
			d.note("DNS SRV %s: %s", name, netWords(err))
		case len(srvs) == 0:
			d.note("DNS SRV %s: no record", name)
		default:
			sort.SliceStable(srvs, func(i, j int) bool {
				if srvs[i].Priority != srvs[j].Priority {
					return srvs[i].Priority < srvs[j].Priority
				}
				return srvs[i].Weight > srvs[j].Weight
			})
			for _, s := range srvs {
				host := strings.TrimSuffix(s.Target, ".")
				if s.Port != 443 && s.Port != 0 {
					host = net.JoinHostPort(host, strconv.Itoa(int(s.Port)))
				}
				d.note("DNS SRV %s: points to %s", name, host)
				for _, u := range endpoints(host) {
					if res, via, done, err := d.follow(ctx, email, u); done || err != nil {
						return res, via, err
					}
				}
			}
		}
	}
	return adResult{}, "", nil
}

// follow tries u and the https redirects it leads to. done is true when an
// EWS URL or an address redirect was found.
func (d *autodiscoverer) follow(ctx context.Context, email, u string) (adResult, string, bool, error) {
	for u != "" {
		if ctx.Err() != nil {
			if len(d.tried) == 0 || !strings.Contains(d.tried[len(d.tried)-1], "time limit") {
				d.note("%s: not tried, the time limit was reached", u)
			}
			return adResult{}, "", false, nil
		}
		key := strings.ToLower(u)
		if d.seen[key] {
			d.note("%s: already tried (redirect loop), skipped", u)
			return adResult{}, "", false, nil
		}
		d.seen[key] = true
		res := d.try(ctx, email, u)
		switch {
		case res.ewsURL != "":
			return res, u, true, nil
		case res.redirectFor != "":
			d.hops++
			if d.hops > maxHops {
				d.note("too many redirects, stopped")
				return adResult{}, "", false, nil
			}
			if strings.EqualFold(res.redirectFor, email) {
				d.note("%s: redirected to the same address, ignored", u)
				return adResult{}, "", false, nil
			}
			return res, u, true, nil
		case res.redirectTo != "":
			d.hops++
			if d.hops > maxHops {
				d.note("too many redirects, stopped")
				return adResult{}, "", false, nil
			}
			u = res.redirectTo
		default:
			return adResult{}, "", false, nil
		}
	}
	return adResult{}, "", false, nil
}

// try asks one endpoint (SOAP for .svc, POX otherwise) and notes the outcome.
func (d *autodiscoverer) try(ctx context.Context, email, u string) adResult {
	actx, cancel := context.WithTimeout(ctx, perAttempt)
	defer cancel()
	soap := strings.HasSuffix(strings.ToLower(strings.SplitN(u, "?", 2)[0]), ".svc")
	var body []byte
	if soap {
		body = getUserSettingsRequest(email, u)
	} else {
		body = poxRequest(email)
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		d.note("%s: not a valid URL", u)
		return adResult{}
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if soap {
		req.Header.Set("SOAPAction", `"http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings"`)
	}
	at := &authTransport{base: d.base, login: d.login, password: d.password}
	hc := &http.Client{Transport: at, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			d.note("%s: stopped, the time limit was reached", u)
		} else {
			d.note("%s: %s", u, netWords(transportError(actx, err)))
		}
		return adResult{}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		d.note("%s: %s", u, netWords(err))
		return adResult{}
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return d.redirect(u, resp)
	case http.StatusUnauthorized:
		d.unauthorized++
		d.note("%s: refused the password (not conclusive; going on)", u)
		return adResult{}
	default:
		d.note("%s: answered HTTP %d", u, resp.StatusCode)
		return adResult{}
	}
	var res adResult
	var msg string
	if soap {
		res, msg = parseGetUserSettings(data)
	} else {
		res, msg = parsePOX(data)
	}
	switch {
	case res.ewsURL != "":
		if !strings.HasPrefix(strings.ToLower(res.ewsURL), "https://") {
			d.note("%s: named an EWS URL that is not https (%s), refused", u, res.ewsURL)
			return adResult{}
		}
		d.note("%s: found %s", u, res.ewsURL)
	case res.redirectFor != "":
		d.note("%s: redirected to the address %s", u, res.redirectFor)
	case res.redirectTo != "":
		if !strings.HasPrefix(strings.ToLower(res.redirectTo), "https://") {
			d.note("%s: redirected to %s, which is not https, refused", u, res.redirectTo)
			return adResult{}
		}
		d.note("%s: redirected to %s", u, res.redirectTo)
	default:
		d.note("%s: %s", u, msg)
	}
	return res
}

func (d *autodiscoverer) redirect(u string, resp *http.Response) adResult {
	loc, err := resp.Location()
	if err != nil {
		d.note("%s: answered a redirect without a location", u)
		return adResult{}
	}
	if loc.Scheme != "https" {
		d.note("%s: redirected to %s, which is not https, refused", u, loc)
		return adResult{}
	}
	d.note("%s: redirected to %s", u, loc)
	return adResult{redirectTo: loc.String()}
}

// httpRedirect performs step 3: an unauthenticated GET over plain http whose
// only use is its redirect, which must lead to https.
func (d *autodiscoverer) httpRedirect(ctx context.Context, u string) string {
	actx, cancel := context.WithTimeout(ctx, perAttempt)
	defer cancel()
	req, _ := http.NewRequestWithContext(actx, http.MethodGet, u, nil)
	hc := &http.Client{Transport: d.base, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			d.note("%s (unauthenticated redirect): stopped, the time limit was reached", u)
		} else {
			d.note("%s (unauthenticated redirect): %s", u, netWords(transportError(actx, err)))
		}
		return ""
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		d.note("%s (unauthenticated redirect): answered HTTP %d, no redirect", u, resp.StatusCode)
		return ""
	}
	loc, err := resp.Location()
	if err != nil {
		d.note("%s (unauthenticated redirect): a redirect without a location", u)
		return ""
	}
	if loc.Scheme != "https" {
		d.note("%s (unauthenticated redirect): redirected to %s, which is not https, refused", u, loc)
		return ""
	}
	d.note("%s (unauthenticated redirect): redirected to %s", u, loc)
	return loc.String()
}

// netWords turns a transport error into a few words.
func netWords(err error) string {
	if r := provider.Reason(err); r == reasonUntrusted || r == reasonWrongName {
		return "its certificate isn't trusted"
	} else if r == reasonNotHTTPS {
		return "does not speak https"
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "no such DNS name"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "timed out"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return "could not connect"
	}
	return "failed (" + err.Error() + ")"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// domainOf returns the domain of an address.
func domainOf(email string) string {
	i := strings.LastIndexByte(email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[i+1:]))
}

// Autodiscover request and response shapes.

const (
	nsAutodiscover   = "http://schemas.microsoft.com/exchange/2010/Autodiscover"
	nsWSAddressing   = "http://www.w3.org/2005/08/addressing"
	nsPOXRequest     = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
	nsPOXResponseOut = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)

func getUserSettingsRequest(email, to string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>` +
		`<soap:Envelope xmlns:soap="` + nsSOAP + `" xmlns:a="` + nsAutodiscover + `" xmlns:wsa="` + nsWSAddressing + `">` +
		`<soap:Header><a:RequestedServerVersion>Exchange2013</a:RequestedServerVersion>` +
		`<wsa:Action>http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings</wsa:Action>` +
		`<wsa:To>` + esc(to) + `</wsa:To></soap:Header>` +
		`<soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users><a:User><a:Mailbox>` + esc(email) + `</a:Mailbox></a:User></a:Users>` +
		`<a:RequestedSettings><a:Setting>ExternalEwsUrl</a:Setting><a:Setting>InternalEwsUrl</a:Setting></a:RequestedSettings>` +
		`</a:Request></a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>`)
}

func poxRequest(email string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?>` +
		`<Autodiscover xmlns="` + nsPOXRequest + `"><Request><EMailAddress>` + esc(email) + `</EMailAddress>` +
		`<AcceptableResponseSchema>` + nsPOXResponseOut + `</AcceptableResponseSchema></Request></Autodiscover>`)
}

type getUserSettingsEnvelope struct {
	Body struct {
		Message *struct {
			Response struct {
				ErrorCode    string `xml:"ErrorCode"`
				ErrorMessage string `xml:"ErrorMessage"`
				Users        []struct {
					ErrorCode      string `xml:"ErrorCode"`
					ErrorMessage   string `xml:"ErrorMessage"`
					RedirectTarget string `xml:"RedirectTarget"`
					Settings       []struct {
						Name  string `xml:"Name"`
						Value string `xml:"Value"`
					} `xml:"UserSettings>UserSetting"`
				} `xml:"UserResponses>UserResponse"`
			} `xml:"Response"`
		} `xml:"GetUserSettingsResponseMessage"`
	} `xml:"Body"`
}

// parseGetUserSettings reads a SOAP Autodiscover answer; msg says what was
// wrong when nothing usable came back.
func parseGetUserSettings(data []byte) (adResult, string) {
	var env getUserSettingsEnvelope
	if err := xml.Unmarshal(data, &env); err != nil || env.Body.Message == nil {
		return adResult{}, "answered something that is not an Autodiscover response"
	}
	r := env.Body.Message.Response
	if r.ErrorCode != "" && r.ErrorCode != codeNoError {
		return adResult{}, fmt.Sprintf("answered %s (%s)", r.ErrorCode, strings.TrimSpace(r.ErrorMessage))
	}
	if len(r.Users) == 0 {
		return adResult{}, "answered without a user response"
	}
	u := r.Users[0]
	switch u.ErrorCode {
	case codeNoError, "":
		var external, internal string
		for _, s := range u.Settings {
			switch s.Name {
			case "ExternalEwsUrl":
				external = strings.TrimSpace(s.Value)
			case "InternalEwsUrl":
				internal = strings.TrimSpace(s.Value)
			}
		}
		return ewsAnswer(external, internal)
	case "RedirectAddress":
		return adResult{redirectFor: strings.TrimSpace(u.RedirectTarget)}, ""
	case "RedirectUrl":
		return adResult{redirectTo: strings.TrimSpace(u.RedirectTarget)}, ""
	}
	return adResult{}, fmt.Sprintf("answered %s (%s)", u.ErrorCode, strings.TrimSpace(u.ErrorMessage))
}

type poxResponse struct {
	Response struct {
		Error *struct {
			ErrorCode string `xml:"ErrorCode"`
			Message   string `xml:"Message"`
		} `xml:"Error"`
		Account struct {
			Action       string `xml:"Action"`
			RedirectAddr string `xml:"RedirectAddr"`
			RedirectURL  string `xml:"RedirectUrl"`
			Protocols    []struct {
				Type   string `xml:"Type"`
				EwsURL string `xml:"EwsUrl"`
			} `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"Response"`
}

// parsePOX reads a POX Autodiscover answer.
func parsePOX(data []byte) (adResult, string) {
	var r poxResponse
	if err := xml.Unmarshal(data, &r); err != nil {
		return adResult{}, "answered something that is not an Autodiscover response"
	}
	if e := r.Response.Error; e != nil {
		return adResult{}, fmt.Sprintf("answered error %s (%s)", strings.TrimSpace(e.ErrorCode), strings.TrimSpace(e.Message))
	}
	a := r.Response.Account
	switch strings.ToLower(strings.TrimSpace(a.Action)) {
	case "redirectaddr":
		return adResult{redirectFor: strings.TrimSpace(a.RedirectAddr)}, ""
	case "redirecturl":
		return adResult{redirectTo: strings.TrimSpace(a.RedirectURL)}, ""
	}
	var exch, expr string
	for _, p := range a.Protocols {
		switch p.Type {
		case "EXPR":
			expr = strings.TrimSpace(p.EwsURL)
		case "EXCH":
			exch = strings.TrimSpace(p.EwsURL)
		}
	}
	return ewsAnswer(expr, exch)
}

// ewsAnswer is the EWS URL an answer gave: the one for outside the
// organisation's network (SOAP ExternalEwsUrl, POX EXPR) when there is
// one, else the internal one.
func ewsAnswer(external, internal string) (adResult, string) {
	switch {
	case external != "":
		return adResult{ewsURL: external}, ""
	case internal != "":
		return adResult{ewsURL: internal}, ""
	}
	return adResult{}, "answered without an EWS URL"
}

// checkURL accepts only absolute https URLs.
func checkURL(u string) error {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Host == "" {
		return fmt.Errorf("the EWS URL %q is not a valid address; it must start with https://", u)
	}
	if p.Scheme != "https" {
		return fmt.Errorf("the EWS URL must start with https:// (got %s://): Inbox Sync never sends a password over plain http", p.Scheme)
	}
	return nil
}
