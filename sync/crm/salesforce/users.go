package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// User is a Salesforce User.
type User struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	IsActive bool   `json:"is_active"`
}

// Users returns the active Salesforce Users whose Email is one of emails,
// keyed by the lowercased address (Salesforce compares emails
// case-insensitively). It asks as the integration user, with 50 addresses
// a query and up to 25 queries a request (composite): one API call per
// 1,250 addresses. An address several active users share maps to the one
// whose username is the address, or to none (Resolve says why).
func (o *Org) Users(ctx context.Context, emails []string) (map[string]User, error) {
	found, err := o.activeByEmail(ctx, emails)
	if err != nil {
		return nil, err
	}
	out := make(map[string]User, len(found))
	for addr, us := range found {
		if u, ok := pick(addr, us); ok {
			out[addr] = u
		}
	}
	return out, nil
}

// pick chooses the user of an address among the active users having it.
func pick(addr string, us []User) (User, bool) {
	if len(us) == 1 {
		return us[0], true
	}
	for _, u := range us {
		if strings.EqualFold(u.Username, addr) {
			return u, true
		}
	}
	return User{}, false
}

type userRow struct {
	Id, Username, Email string
	IsActive            bool
}

func (r userRow) user() User {
	return User{ID: r.Id, Username: r.Username, Email: r.Email, IsActive: r.IsActive}
}

// activeByEmail returns every active user of each address.
func (o *Org) activeByEmail(ctx context.Context, emails []string) (map[string][]User, error) {
	lower := make([]string, 0, len(emails))
	for _, e := range emails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			lower = append(lower, e)
		}
	}
	var soqls []string
	for _, in := range inLists(lower, maxAddresses) {
		soqls = append(soqls, "SELECT Id, Username, Email, IsActive FROM User WHERE IsActive = true AND Email IN "+in)
	}
	out := map[string][]User{}
	err := o.queryAll(ctx, soqls, func(r userRow) {
		k := strings.ToLower(r.Email)
		out[k] = append(out[k], r.user())
	})
	if err != nil {
		return nil, err
	}
	for _, us := range out {
		slices.SortFunc(us, func(a, b User) int { return strings.Compare(a.Username, b.Username) })
	}
	return out, nil
}

// byUsername returns the users (active or not) with the given usernames,
// keyed by the lowercased username.
func (o *Org) byUsername(ctx context.Context, usernames []string) (map[string]User, error) {
	var soqls []string
	for _, in := range inLists(usernames, maxAddresses) {
		soqls = append(soqls, "SELECT Id, Username, Email, IsActive FROM User WHERE Username IN "+in)
	}
	out := map[string]User{}
	err := o.queryAll(ctx, soqls, func(r userRow) { out[strings.ToLower(r.Username)] = r.user() })
	return out, err
}

// queryAll runs User queries as the integration user, up to 25 in one
// composite request, following each one's further batches.
func (o *Org) queryAll(ctx context.Context, soqls []string, fn func(userRow)) error {
	c, err := o.integration()
	if err != nil {
		return err
	}
	for len(soqls) > 0 {
		n := min(len(soqls), maxSubrequests)
		subs := make([]compositeSub, n)
		for k, q := range soqls[:n] {
			subs[k] = compositeSub{Method: "GET", URL: "/services/data/" + c.cfg.APIVersion + "/query?q=" + url.QueryEscape(q), ReferenceID: fmt.Sprintf("u%d", k)}
		}
		soqls = soqls[n:]
		answers, err := c.composite(ctx, subs)
		if err != nil {
			return integrationErr(err)
		}
		for _, a := range answers {
			err := c.queryFrom(ctx, a, func(raw json.RawMessage) error {
				var r userRow
				if err := json.Unmarshal(raw, &r); err != nil {
					return err
				}
				fn(r)
				return nil
			})
			if err != nil {
				return integrationErr(err)
			}
		}
	}
	return nil
}

// maxSubrequests is how many subrequests one composite request holds.
const maxSubrequests = 25

// ActiveUsers returns how many active Users the org has (one query).
func (o *Org) ActiveUsers(ctx context.Context) (int, error) {
	c, err := o.integration()
	if err != nil {
		return 0, err
	}
	var a queryAnswer
	if err := c.call(ctx, "GET", "query?q="+url.QueryEscape("SELECT COUNT() FROM User WHERE IsActive = true"), nil, &a); err != nil {
		return 0, integrationErr(err)
	}
	return a.TotalSize, nil
}

// Mapping is a mailbox's Salesforce user, or why it has none.
type Mapping struct {
	Address string `json:"address"`
	// User is the Salesforce user the mailbox logs as (zero: none).
	User User `json:"user,omitzero"`
	// Override is set when the admin mapped the address (org crm map).
	Override bool `json:"override,omitempty"`
	// Problem and Reason say why the mailbox has no user: it logs nothing.
	Problem UserProblem `json:"problem,omitempty"`
	Reason  string      `json:"reason,omitempty"`
}

// OK reports whether the mailbox has a Salesforce user.
func (m Mapping) OK() bool { return m.Problem == 0 }

// Resolve maps each address to its Salesforce user: the username the
// admin set for it in overrides (lowercased address → username), which
// must exist and be active, or else the one active User with that Email.
// An address without one has the reason. Errors are org-wide.
func (o *Org) Resolve(ctx context.Context, addresses []string, overrides map[string]string) (map[string]Mapping, error) {
	out := make(map[string]Mapping, len(addresses))
	var byEmail, names []string
	for _, a := range addresses {
		a = strings.ToLower(strings.TrimSpace(a))
		if u := overrides[a]; u != "" {
			names = append(names, u)
		} else {
			byEmail = append(byEmail, a)
		}
		out[a] = Mapping{Address: a}
	}
	named, err := o.byUsername(ctx, names)
	if err != nil {
		return nil, err
	}
	found, err := o.activeByEmail(ctx, byEmail)
	if err != nil {
		return nil, err
	}
	for a, m := range out {
		if name := overrides[a]; name != "" {
			m.Override = true
			u, ok := named[strings.ToLower(name)]
			switch {
			case !ok:
				m.Problem, m.Reason = UserUnknown, fmt.Sprintf("No Salesforce user has the username %s (set with org crm map): it logs nothing.", name)
			case !u.IsActive:
				m.Problem, m.Reason = UserInactive, fmt.Sprintf("Salesforce user %s is inactive: it logs nothing until the user is active again.", u.Username)
			default:
				m.User = u
			}
			out[a] = m
			continue
		}
		us := found[a]
		u, ok := pick(a, us)
		switch {
		case len(us) == 0:
			m.Problem, m.Reason = UserUnknown, "No active Salesforce user has this address: it logs nothing (map one with: inboxsync org crm map "+a+" USERNAME)."
		case !ok:
			var list []string
			for _, u := range us {
				list = append(list, u.Username)
			}
			m.Problem, m.Reason = UserAmbiguous, fmt.Sprintf("%d active Salesforce users have this address (%s): choose one with: inboxsync org crm map %s USERNAME.", len(us), strings.Join(list, ", "), a)
		default:
			m.User = u
		}
		out[a] = m
	}
	return out, nil
}
