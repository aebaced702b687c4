// Package policy reads the administrator's policy: a system-wide, read-only
// TOML file that presets, and may lock, what users would otherwise type or
// choose (docs/architecture.md §1, README "For administrators").
//
// A broken policy never stops anything: a syntax error, an unknown key or a
// value of the wrong type or range becomes a [Problem] with its line
// number, and only that entry falls back (a line with a syntax error is
// left out and the rest of the file is read again).
//
// Every setting has a dotted name ("sync_interval", "office365.client_id",
// "smtp.host") and its value is kept in one canonical text form (lists
// joined with commas, durations as Go durations), so that a Policy travels
// as plain JSON and prints as it is read. Resolve applies the precedence:
// locked policy > command-line flag > user configuration or settings >
// policy as a default > built-in default.
package policy

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/inboxsync/inboxsync/sync/api"
)

// Resolve returns a setting's effective value under p and its source, given the
// value a command-line flag and the user's configuration or settings give
// ("" for none): a locked setting takes the policy's value (or the
// built-in default when the policy locks it without a value), then come
// the flag, the user's value, the policy's value and the default.
func Resolve(p api.Policy, name, flag, user string) (string, api.SettingSource) {
	pv, set := p.Get(name)
	switch {
	case p.IsLocked(name):
		if !set {
			pv = Default(name)
		}
		return pv, api.SourceLocked
	case flag != "":
		return flag, api.SourceFlag
	case user != "":
		return user, api.SourceUser
	case set:
		return pv, api.SourcePolicy
	}
	return Default(name), api.SourceDefault
}

// Default returns the built-in default of a setting ("" for none).
func Default(name string) string {
	if d, ok := lookup(name); ok {
		return d.def
	}
	return ""
}

// Names returns every setting's name, in the order of the README.
func Names() []string {
	out := make([]string, len(settings))
	for i, d := range settings {
		out[i] = d.name
	}
	return out
}

// Description returns a setting's description in words.
func Description(name string) string {
	if d, ok := lookup(name); ok {
		return d.help
	}
	return ""
}

// Table returns the policy table that holds a provider's or CRM's
// settings ("gmail" → "google"); "" for none.
func Table(provider string) string {
	switch provider {
	case "exchange", "office365", "salesforce":
		return provider
	case "gmail":
		return "google"
	}
	return ""
}

// List splits a list value ("user,admin") into its items.
func List(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// Bool reads a bool value ("true").
func Bool(v string) bool { return v == "true" }

// Path returns where the policy is read: $INBOXSYNC_POLICY when set, else
// the system-wide file of goos (DefaultPath).
func Path(goos string, getenv func(string) string) string {
	if p := getenv("INBOXSYNC_POLICY"); p != "" {
		return p
	}
	return DefaultPath(goos, getenv)
}

// DefaultPath is the system-wide policy file of goos: Linux and the other
// Unix systems /etc/inboxsync/policy.toml, Windows
// %ProgramData%\InboxSync\policy.toml, macOS /Library/Application
// Support/InboxSync/policy.toml. Only administrators can write there.
func DefaultPath(goos string, getenv func(string) string) string {
	switch goos {
	case "windows":
		dir := getenv("ProgramData")
		if dir == "" {
			dir = `C:\ProgramData`
		}
		return strings.TrimRight(dir, `\`) + `\InboxSync\policy.toml`
	case "darwin", "ios":
		return "/Library/Application Support/InboxSync/policy.toml"
	}
	return "/etc/inboxsync/policy.toml"
}

// ExpandUser replaces {user} in s with the OS login name user.
func ExpandUser(s, user string) string { return strings.ReplaceAll(s, "{user}", user) }

// Load reads the policy file at path. A missing file is no policy (Found
// false) and an unreadable one a Problem; neither is an error.
func Load(path string) api.Policy {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return api.Policy{Path: path}
	}
	if err != nil {
		return api.Policy{Path: path, Found: true, Problems: []api.PolicyProblem{{Message: "cannot read the policy file: " + errors.Unwrap(err).Error()}}}
	}
	p := Parse(string(b))
	p.Path, p.Found = path, true
	return p
}

// maxSyntaxRetries bounds how many broken lines Parse leaves out before it
// gives the file up.
const maxSyntaxRetries = 20

// Parse reads a policy document. It never fails: what it cannot use is a
// Problem.
func Parse(doc string) api.Policy {
	var p api.Policy
	lines := strings.Split(doc, "\n")
	var raw map[string]any
	for range maxSyntaxRetries + 1 {
		raw = nil
		_, err := toml.Decode(strings.Join(lines, "\n"), &raw)
		if err == nil {
			break
		}
		var pe toml.ParseError
		line := 0
		if errors.As(err, &pe) {
			line = pe.Position.Line
		}
		// An error found at a line's end ("got '\n'") is reported on
		// the next line: blame the last line with text.
		if line > 1 && line <= len(lines) && (pe.Position.Col <= 1 || strings.Contains(pe.Message, `'\n'`) || strings.TrimSpace(lines[line-1]) == "") && strings.TrimSpace(lines[line-2]) != "" {
			line--
		}
		if line < 1 || line > len(lines) || strings.TrimSpace(lines[line-1]) == "" {
			p.Problems = append(p.Problems, api.PolicyProblem{Line: line, Message: "the file cannot be read as TOML (" + pe.Message + "); the whole policy is ignored"})
			raw = nil
			break
		}
		p.Problems = append(p.Problems, api.PolicyProblem{Line: line, Message: "not valid TOML (" + pe.Message + "); this line is ignored"})
		lines[line-1] = ""
		raw = nil
	}
	if raw == nil {
		sortProblems(p.Problems)
		return p
	}
	where := keyLines(lines)
	p.Values = map[string]string{}
	var locked []any
	lockedLine := 0
	for _, k := range flatten(raw, "") {
		line := where[k.name]
		if k.name == "locked" {
			list, ok := k.value.([]any)
			if !ok {
				problem(&p, line, k.name, "must be a list of setting names, e.g. [\"sync_interval\", \"office365\"]")
				continue
			}
			locked, lockedLine = list, line
			continue
		}
		d, ok := lookup(k.name)
		if !ok {
			problem(&p, line, k.name, unknownKey(k.name))
			continue
		}
		v, err := d.check(k.value)
		if err != nil {
			problem(&p, line, k.name, err.Error())
			continue
		}
		p.Values[k.name] = v
	}
	checkPairs(&p, where)
	for _, item := range locked {
		name, ok := item.(string)
		if !ok {
			problem(&p, lockedLine, "locked", fmt.Sprintf("%v is not a setting name in quotes", item))
			continue
		}
		expanded := expandLocked(name)
		if len(expanded) == 0 {
			problem(&p, lockedLine, "locked", fmt.Sprintf("%q is not a setting that can be locked", name))
			continue
		}
		for _, n := range expanded {
			if !slices.Contains(p.Locked, n) {
				p.Locked = append(p.Locked, n)
			}
		}
	}
	sortProblems(p.Problems)
	return p
}

func sortProblems(ps []api.PolicyProblem) {
	slices.SortStableFunc(ps, func(a, b api.PolicyProblem) int { return a.Line - b.Line })
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// unknownKey words an unknown key, suggesting the setting it may mean
// (a key in the wrong table).
func unknownKey(name string) string {
	last := name[strings.LastIndex(name, ".")+1:]
	for _, d := range settings {
		if d.name != name && (d.name == last || strings.HasSuffix(d.name, "."+last)) {
			return fmt.Sprintf("unknown setting; did you mean %s?", d.name)
		}
	}
	return "unknown setting (see README, \"For administrators\")"
}

// expandLocked turns a name in locked into setting names: a setting, or a
// table ("office365") for all of its settings.
func expandLocked(name string) []string {
	if _, ok := lookup(name); ok {
		return []string{name}
	}
	var out []string
	for _, d := range settings {
		if strings.HasPrefix(d.name, name+".") {
			out = append(out, d.name)
		}
	}
	return out
}

type flatKey struct {
	name  string
	value any
}

// flatten lists a decoded document's entries by dotted name, sorted.
func flatten(m map[string]any, prefix string) []flatKey {
	var out []flatKey
	for k, v := range m {
		name := prefix + k
		if sub, ok := v.(map[string]any); ok {
			out = append(out, flatten(sub, name+".")...)
			continue
		}
		out = append(out, flatKey{name, v})
	}
	slices.SortFunc(out, func(a, b flatKey) int { return strings.Compare(a.name, b.name) })
	return out
}

// keyLines finds the line each dotted key is set on: "[table]" headers and
// "key =" lines, which is all a policy file needs. Keys it cannot place get
// line 0.
func keyLines(lines []string) map[string]int {
	out := map[string]int{}
	table := ""
	sc := bufio.NewScanner(strings.NewReader(strings.Join(lines, "\n")))
	sc.Buffer(nil, 1<<20)
	depth := 0 // open brackets of a multi-line array
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if depth > 0 {
			depth += strings.Count(line, "[") - strings.Count(line, "]")
			continue
		}
		if strings.HasPrefix(line, "[") && !strings.HasPrefix(line, "[[") {
			if end := strings.Index(line, "]"); end > 0 {
				table = strings.Trim(strings.TrimSpace(line[1:end]), `"`) + "."
				out[strings.TrimSuffix(table, ".")] = n
			}
			continue
		}
		key, rest, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		key = strings.Trim(strings.TrimSpace(key), `"`)
		if _, seen := out[table+key]; !seen {
			out[table+key] = n
		}
		depth = strings.Count(rest, "[") - strings.Count(rest, "]")
		if depth < 0 {
			depth = 0
		}
	}
	return out
}

// A setting the policy knows.
type setting struct {
	name string
	def  string
	help string
	// check validates a decoded TOML value and returns its canonical form.
	check func(v any) (string, error)
}

func lookup(name string) (setting, bool) {
	for _, d := range settings {
		if d.name == name {
			return d, true
		}
	}
	return setting{}, false
}

// settings are every setting a policy may hold, with their defaults and
// checks.
var settings = []setting{
	{"activation", api.ActivationUser, "who connects this computer's mailboxes: \"user\" (the user activates in the app) or \"organisation\" (the organisation syncs every mailbox from its servers; the app offers no activation)", activation},
	{"provider", "", "the mailbox service the activation window opens on: exchange, office365 or gmail", oneOf("exchange", "office365", "gmail")},
	{"admin_email", "", "the administrator's address for stop notices", address},
	{"notify", "", "who gets an email when sync stops: a list of \"user\" and \"admin\"", listOf("user", "admin")},
	{"notify_resumed", "false", "also email a short notice when sync resumes", boolean},
	{"sync_interval", "30m0s", "time between syncs, e.g. \"30m\" (5m to 24h)", interval},
	{"history_days", "30", "days of history the first sync reads (1 to 365)", intRange(1, 365)},
	{"folders", "inbox,sent,calendar", "folders to sync: a list of \"inbox\", \"sent\", \"calendar\"", listOf("inbox", "sent", "calendar")},
	{"expected_mailbox", "", "the mailbox users must sign in to; {user} is the OS login name, e.g. \"{user}@contoso.com\"", mailboxPattern},
	{"enforce_mailbox", "false", "refuse another mailbox instead of asking", boolean},
	{"exchange.ews_url", "", "Exchange Web Services URL (https://…/EWS/Exchange.asmx); empty: Autodiscover", httpsURL},
	{"office365.client_id", "", "the application (client) ID registered in Microsoft Entra", text},
	{"office365.tenant", "", "the tenant: organizations, a domain or a tenant ID", text},
	{"office365.authority", "", "the sign-in authority (national clouds)", httpsURL},
	{"office365.graph_endpoint", "", "the Microsoft Graph endpoint with its version", httpsURL},
	{"google.client_id", "", "the OAuth client ID (Desktop app) from Google Cloud", text},
	{"google.client_secret", "", "the OAuth client's secret (Google's installed-app secret, not confidential)", text},
	{"google.auth_url", "", "Google's authorization endpoint", httpsURL},
	{"google.token_url", "", "Google's token endpoint", httpsURL},
	{"google.gmail_endpoint", "", "the Gmail API endpoint with its version", httpsURL},
	{"google.calendar_endpoint", "", "the Calendar API endpoint with its version", httpsURL},
	{"salesforce.login_url", "", "the Salesforce login URL: https://login.salesforce.com, https://test.salesforce.com or the org's My Domain", httpsURL},
	{"salesforce.client_id", "", "the consumer key of the org's Inbox Sync External Client App", text},
	{"salesforce.redirect_port", "1717", "the port of the callback URL registered in the app (http://localhost:PORT/callback)", intRange(1, 65535)},
	{"salesforce.api_version", "v64.0", "the Salesforce REST API version", text},
	{"salesforce.internal_domains", "", "more internal domains whose people are never matched (the mailboxes' own always are); users may add to them unless locked", domains},
	{"salesforce.blocklist", "", "domains left out before matching, e.g. [\"gmail.com\", \"yahoo.*\"] (default: the common free-mail domains)", domains},
	{"salesforce.log_email_as", "email", "\"email\" (an EmailMessage, Enhanced Email) or \"task\" (for orgs without Enhanced Email)", oneOf("email", "task")},
	{"salesforce.remove_deleted_events", "false", "delete a meeting's Event when it is cancelled or deleted in the mailbox", boolean},
	{"salesforce.keep_out_categories", "Private,Don't log", "categories (Exchange, Office 365) or labels (Gmail) that keep a mail or meeting out of Salesforce, e.g. [\"Private\", \"Don't log\"]; items marked Private or Confidential always are", categories},
	{"salesforce.log_categories", "Salesforce", "categories or labels that log an item by hand, even with automatic logging off or a sender on the free-mail blocklist, e.g. [\"Salesforce\"]", categories},
	{"salesforce.auto_log", "true", "log mail and meetings whose participants match a Contact or Lead; false: only items marked by hand (log_categories)", boolean},
	{"salesforce.threads", "true", "log the later messages of a logged conversation to the same people, even an internal colleague's reply", boolean},
	{"salesforce.opportunity", "single-open", "relate logged items to an Opportunity of the matched Contacts' Account: \"off\", \"single-open\" (when it has exactly one open) or \"most-recent\" (the open one changed last)", oneOf("off", "single-open", "most-recent")},
	{"salesforce.create_leads", "false", "create a Lead for an external participant of an item marked by hand who matches no Contact or Lead", boolean},
	{"smtp.host", "", "the mail relay that sends stop notices", text},
	{"smtp.port", "587", "the relay's port", intRange(1, 65535)},
	{"smtp.tls", "starttls", "\"starttls\", \"implicit\" (port 465) or \"none\" (only for a relay on localhost)", oneOf("starttls", "implicit", "none")},
	{"smtp.username", "", "the relay's login (AUTH PLAIN/LOGIN); its password is set with `inboxsync notify password --stdin`", text},
	{"smtp.from", "", "the sender address of notices", address},
	{"smtp.password_file", "", "organisation mode (`inboxsync org serve`) only: a file holding the relay's password, readable by the workers' user alone; the desktop keeps it in the keyring", text},
}

// activation checks the activation setting: "user" or "organisation"
// (the American "organization" is read as the same).
func activation(v any) (string, error) {
	s, err := text(v)
	if err != nil {
		return "", err
	}
	switch strings.ToLower(s) {
	case api.ActivationUser:
		return api.ActivationUser, nil
	case api.ActivationOrganisation, "organization":
		return api.ActivationOrganisation, nil
	}
	return "", fmt.Errorf("must be one of \"user\", \"organisation\", not %q", s)
}

func text(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("must be text in quotes, not %s", typeWords(v))
	}
	return strings.TrimSpace(s), nil
}

func boolean(v any) (string, error) {
	b, ok := v.(bool)
	if !ok {
		return "", fmt.Errorf("must be true or false, not %s", typeWords(v))
	}
	return strconv.FormatBool(b), nil
}

func oneOf(allowed ...string) func(any) (string, error) {
	return func(v any) (string, error) {
		s, err := text(v)
		if err != nil {
			return "", err
		}
		s = strings.ToLower(s)
		if !slices.Contains(allowed, s) {
			return "", fmt.Errorf("must be one of %s, not %q", quoteList(allowed), s)
		}
		return s, nil
	}
}

func listOf(allowed ...string) func(any) (string, error) {
	return func(v any) (string, error) {
		items, ok := v.([]any)
		if !ok {
			return "", fmt.Errorf("must be a list such as [%s], not %s", quoteList(allowed[:1]), typeWords(v))
		}
		var out []string
		for _, it := range items {
			s, ok := it.(string)
			s = strings.ToLower(strings.TrimSpace(s))
			if !ok || !slices.Contains(allowed, s) {
				return "", fmt.Errorf("may hold only %s, not %v", quoteList(allowed), it)
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return strings.Join(out, ","), nil
	}
}

// domains checks a list of domains ("example.com", "yahoo.*").
func domains(v any) (string, error) {
	items, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("must be a list such as [\"contoso.com\"], not %s", typeWords(v))
	}
	var out []string
	for _, it := range items {
		d, ok := it.(string)
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
		if !ok || !strings.Contains(d, ".") || strings.ContainsAny(d, "@ /\\,;") {
			return "", fmt.Errorf("%v is not a domain like \"contoso.com\"", it)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return strings.Join(out, ","), nil
}

// MaxCategory is the longest category or label name the CRM rules accept.
const MaxCategory = 255

// CheckCategory checks one category or label name of the CRM rules
// (keep_out_categories, log_categories): not empty, one line, at most
// MaxCategory characters, no comma (lists of names are comma-separated).
// It returns the name trimmed.
func CheckCategory(name string) (string, error) {
	n := strings.TrimSpace(name)
	switch {
	case n == "":
		return "", errors.New("a category or label name cannot be empty")
	case strings.ContainsAny(n, "\r\n"):
		return "", fmt.Errorf("the category or label name %q must be on one line", n)
	case utf8.RuneCountInString(n) > MaxCategory:
		return "", fmt.Errorf("the category or label name %.40q… is longer than %d characters", n, MaxCategory)
	case strings.Contains(n, ","):
		return "", fmt.Errorf("the category or label name %q cannot hold a comma (names are given as a comma-separated list)", n)
	}
	return n, nil
}

// categories checks a list of category or label names (["Private",
// "Don't log"]); names differing only in case count once.
func categories(v any) (string, error) {
	items, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("must be a list such as [\"Private\"], not %s", typeWords(v))
	}
	var out []string
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return "", fmt.Errorf("may hold only names in quotes, not %s", typeWords(it))
		}
		n, err := CheckCategory(s)
		if err != nil {
			return "", err
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, n) }) {
			out = append(out, n)
		}
	}
	return strings.Join(out, ","), nil
}

func intRange(lo, hi int64) func(any) (string, error) {
	return func(v any) (string, error) {
		n, ok := v.(int64)
		if !ok {
			return "", fmt.Errorf("must be a whole number, not %s", typeWords(v))
		}
		if n < lo || n > hi {
			return "", fmt.Errorf("must be between %d and %d, not %d", lo, hi, n)
		}
		return strconv.FormatInt(n, 10), nil
	}
}

func interval(v any) (string, error) {
	s, err := text(v)
	if err != nil {
		return "", err
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a duration such as \"30m\" or \"1h\"", s)
	}
	if d < 5*time.Minute || d > 24*time.Hour {
		return "", fmt.Errorf("must be between 5m and 24h, not %s", s)
	}
	return d.String(), nil
}

func address(v any) (string, error) {
	s, err := text(v)
	if err != nil {
		return "", err
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	return s, nil
}

func mailboxPattern(v any) (string, error) {
	s, err := text(v)
	if err != nil {
		return "", err
	}
	if _, err := address(ExpandUser(s, "user")); err != nil {
		return "", fmt.Errorf("%q is not an email address (with {user} for the login name)", s)
	}
	return s, nil
}

func httpsURL(v any) (string, error) {
	s, err := text(v)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(strings.ToLower(s), "https://") || len(s) <= len("https://") {
		return "", fmt.Errorf("must be a URL starting with https://, not %q", s)
	}
	return s, nil
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

func typeWords(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case bool:
		return "true/false"
	case int64:
		return "a number"
	case float64:
		return "a decimal number"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// problem records a problem of p.
func problem(p *api.Policy, line int, key, msg string) {
	p.Problems = append(p.Problems, api.PolicyProblem{Line: line, Key: key, Message: msg})
}

// checkPairs drops values that are valid alone but not together.
func checkPairs(p *api.Policy, where map[string]int) {
	if tls := p.Values["smtp.tls"]; tls == "none" {
		if host, ok := p.Values["smtp.host"]; ok && !isLoopback(host) {
			problem(p, where["smtp.tls"], "smtp.tls", fmt.Sprintf("\"none\" sends mail unencrypted and is allowed only for a relay on this machine (localhost), not %s; use \"starttls\" or \"implicit\"", host))
			delete(p.Values, "smtp.tls")
		}
	}
}
