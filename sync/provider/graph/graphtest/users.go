package graphtest

// App-only routes: /users/{id | userPrincipalName}/... for many mailboxes
// and /groups/{id}/members, /groups/{id}/transitiveMembers.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Mailbox is one user's mailbox reached with an app token under /users/.
type Mailbox struct {
	s *Server
	m *mailbox

	// ID is the user's object id; UPN the user principal name (and mail).
	ID, UPN string

	denied    bool // answers 403 ErrorAccessDenied (outside the RBAC scope)
	noMailbox bool // answers 404 MailboxNotEnabledForRESTAPI

	requests    atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
}

// User returns the mailbox of upn, created on first use with an object id
// derived from it. It is reached as /users/{upn} (any case) and
// /users/{id}.
func (s *Server) User(upn string) *Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.users[strings.ToLower(upn)]; mb != nil {
		return mb
	}
	n := len(s.users)/2 + 1
	mb := &Mailbox{s: s, m: newMailbox(n), UPN: upn, ID: fmt.Sprintf("%08x-44d7-43e1-9a83-5f2406dee5bd", n)}
	s.users[strings.ToLower(upn)] = mb
	s.users[mb.ID] = mb
	return mb
}

// Add adds n items to the mailbox's folder (see Server.Add).
func (mb *Mailbox) Add(folderName string, n int, at time.Time) []string {
	return mb.s.add(mb.m, folderName, n, at)
}

// Update changes an item so that delta reports it.
func (mb *Mailbox) Update(id string) { mb.s.update(mb.m, id) }

// Delete removes an item.
func (mb *Mailbox) Delete(id string) { mb.s.delete(mb.m, id) }

// SetCategories sets an item's categories (see Server.SetCategories).
func (mb *Mailbox) SetCategories(id string, names ...string) {
	mb.s.mark(mb.m, id, func(it *item) { it.categories = slices.Clone(names) })
}

// SetSensitivity sets an item's sensitivity (see Server.SetSensitivity).
func (mb *Mailbox) SetSensitivity(id, sensitivity string) {
	mb.s.mark(mb.m, id, func(it *item) { it.sensitivity = sensitivity })
}

// InvalidateCursors forgets the mailbox's sync states (410 Gone).
func (mb *Mailbox) InvalidateCursors() {
	mb.s.mu.Lock()
	mb.m.epoch++
	mb.s.mu.Unlock()
}

// ThrottleNext makes the mailbox's next request answer status (429 or 503)
// with Retry-After d.
func (mb *Mailbox) ThrottleNext(status int, d time.Duration) {
	mb.s.mu.Lock()
	mb.m.throttle = append(mb.m.throttle, throttle{status, d})
	mb.s.mu.Unlock()
}

// Deny makes the mailbox answer 403 ErrorAccessDenied (true), as a mailbox
// outside the app's Exchange Online RBAC for Applications scope does, or
// lets it be read again (false).
func (mb *Mailbox) Deny(on bool) {
	mb.s.mu.Lock()
	mb.denied = on
	mb.s.mu.Unlock()
}

// NoMailbox makes the user one without an Exchange Online mailbox (404
// MailboxNotEnabledForRESTAPI).
func (mb *Mailbox) NoMailbox() {
	mb.s.mu.Lock()
	mb.noMailbox = true
	mb.s.mu.Unlock()
}

// Requests returns how many requests reached the mailbox with a valid
// token.
func (mb *Mailbox) Requests() int64 { return mb.requests.Load() }

// MaxInFlight returns the most requests to the mailbox in flight at once.
func (mb *Mailbox) MaxInFlight() int64 { return mb.maxInflight.Load() }

// Member is a member of a group.
type Member struct {
	// Type is "user", "group" or "device".
	Type string
	ID   string
	// Mail and UPN are a user's addresses (Mail may be empty).
	Mail, UPN string
}

// SetGroup sets the direct members of a group; a member of Type "group"
// brings its own members into transitiveMembers.
func (s *Server) SetGroup(id string, members ...Member) {
	s.mu.Lock()
	s.groups[id] = members
	s.mu.Unlock()
}

func (s *Server) routeApp(mux *http.ServeMux) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.Handle("GET /v1.0/users/{user}/mailFolders/{folder}/messages/delta", s.appUser(RoleMailReadBasicAll, RoleMailRead, s.messagesDelta))
	mux.Handle("GET /v1.0/users/{user}/calendarView/delta", s.appUser(RoleCalendarsRead, "Calendars.ReadWrite", s.calendarDelta))
	mux.Handle("GET /v1.0/groups/{id}/members", s.appOnly(s.groupMembers(false)))
	mux.Handle("GET /v1.0/groups/{id}/transitiveMembers", s.appOnly(s.groupMembers(true)))
}

// appOnly requires a live app token.
func (s *Server) appOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.isAppToken(tok) {
			graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

var accessDenied = "Access is denied. Check credentials and try again."

// appUser serves a /users/{user}/... route of a mailbox: app token, the
// role (one of two), the user, the delay, injected throttling and the
// access switch, counting the mailbox's requests in flight.
func (s *Server) appUser(role, role2 string, h func(http.ResponseWriter, *http.Request, *mailbox)) http.Handler {
	return s.appOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.PathValue("user")
		s.mu.Lock()
		mb := s.users[strings.ToLower(user)]
		s.mu.Unlock()
		if mb == nil {
			graphError(w, http.StatusNotFound, "ErrorInvalidUser", fmt.Sprintf("The requested user '%s' is invalid.", user))
			return
		}
		mb.requests.Add(1)
		raise(&mb.maxInflight, mb.inflight.Add(1))
		defer mb.inflight.Add(-1)
		if !s.wait(r) {
			return
		}
		if !s.hasRole(role, role2) {
			graphError(w, http.StatusForbidden, "ErrorAccessDenied", accessDenied)
			return
		}
		if s.throttled(w, mb.m) {
			return
		}
		s.mu.Lock()
		denied, none := mb.denied, mb.noMailbox
		s.mu.Unlock()
		switch {
		case denied:
			graphError(w, http.StatusForbidden, "ErrorAccessDenied", accessDenied)
			return
		case none:
			graphError(w, http.StatusNotFound, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")
			return
		}
		h(w, r, mb.m)
	}))
}

// basicOnly are the message properties Mail.ReadBasic(.All) does not give.
var basicOnly = []string{"body", "bodypreview", "uniquebody", "attachments", "extensions", "singlevalueextendedproperties", "multivalueextendedproperties"}

// mailSelect reads a messages delta's $select; an app holding only
// Mail.ReadBasic.All that selects a property outside it is refused. With
// no $select, such an app's messages leave those properties out.
func (s *Server) mailSelect(w http.ResponseWriter, r *http.Request) (string, bool) {
	sel := r.URL.Query().Get("$select")
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !s.isAppToken(tok) || s.hasRole(RoleMailRead, "Mail.ReadWrite") {
		return sel, true
	}
	if sel == "" {
		return "-basic", true
	}
	for _, p := range strings.Split(sel, ",") {
		if slices.Contains(basicOnly, strings.ToLower(strings.TrimSpace(p))) {
			graphError(w, http.StatusForbidden, "ErrorAccessDenied", accessDenied)
			return "", false
		}
	}
	return sel, true
}

// selected keeps the properties of $select sel (and id, @odata.*): all
// when sel is empty, all but those Mail.ReadBasic excludes for "-basic".
func selected(v map[string]any, sel string) map[string]any {
	if sel == "" || v["@odata.type"] != "#microsoft.graph.message" {
		return v
	}
	for k := range v {
		if k != "id" && !strings.HasPrefix(k, "@odata.") && !keepSelected(k, sel) {
			delete(v, k)
		}
	}
	return v
}

// keepSelected reports whether a message's property k is among those of
// $select sel (not empty; see selected).
func keepSelected(k, sel string) bool {
	if sel == "-basic" {
		return !slices.Contains(basicOnly, strings.ToLower(k))
	}
	for p := range strings.SplitSeq(sel, ",") {
		if strings.EqualFold(strings.TrimSpace(p), k) {
			return true
		}
	}
	return false
}

// members lists a group's members, expanded through nested groups when
// transitive.
func (s *Server) members(id string, transitive bool, seen map[string]bool) []Member {
	var out []Member
	for _, m := range s.groups[id] {
		out = append(out, m)
		if transitive && m.Type == "group" && !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, s.members(m.ID, true, seen)...)
		}
	}
	return out
}

// NoTransitiveMembers makes /groups/{id}/transitiveMembers an unknown
// route (400, as Graph answers an unknown segment), like a stand-in that
// serves /members only.
func (s *Server) NoTransitiveMembers() {
	s.mu.Lock()
	s.noTransitive = true
	s.mu.Unlock()
}

func (s *Server) groupMembers(transitive bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		off := s.noTransitive
		s.mu.Unlock()
		if transitive && off {
			graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'transitiveMembers'.")
			return
		}
		if !s.hasRole(RoleGroupMemberReadAll, "Group.Read.All", "Directory.Read.All") {
			graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
			return
		}
		id := r.PathValue("id")
		q := r.URL.Query()
		s.mu.Lock()
		_, ok := s.groups[id]
		all := s.members(id, transitive, map[string]bool{id: true})
		s.mu.Unlock()
		if !ok {
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id))
			return
		}
		top := 100
		if v := q.Get("$top"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 999 {
				graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+v+"'. Must be between 1 and 999 inclusive.")
				return
			}
			top = n
		}
		from := 0
		if v := q.Get("$skiptoken"); v != "" {
			b, err := base64.RawURLEncoding.DecodeString(v)
			n, err2 := strconv.Atoi(string(b))
			if err != nil || err2 != nil || n < 0 || n > len(all) {
				graphError(w, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.")
				return
			}
			from = n
		}
		var sel []string
		if v := q.Get("$select"); v != "" {
			sel = strings.Split(v, ",")
		}
		want := func(k string) bool { return sel == nil || slices.Contains(sel, k) }
		end := min(from+top, len(all))
		vals := make([]map[string]any, 0, end-from)
		for _, m := range all[from:end] {
			v := map[string]any{"@odata.type": "#microsoft.graph." + m.Type, "id": m.ID}
			if want("mail") {
				v["mail"] = nil
				if m.Mail != "" {
					v["mail"] = m.Mail
				}
			}
			if want("userPrincipalName") && m.Type == "user" {
				v["userPrincipalName"] = m.UPN
			}
			if want("displayName") {
				v["displayName"] = m.ID
			}
			vals = append(vals, v)
		}
		out := map[string]any{"@odata.context": s.Endpoint() + "/$metadata#directoryObjects", "value": vals}
		if end < len(all) {
			nq := r.URL.Query()
			nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
			out["@odata.nextLink"] = s.Endpoint() + strings.TrimPrefix(r.URL.Path, "/v1.0") + "?" + nq.Encode()
		}
		w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
		json.NewEncoder(w).Encode(out)
	})
}
