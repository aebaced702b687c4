package ewstest

// The EWS operations the provider uses: SyncFolderItems, GetItem and
// ResolveNames, and their faults.

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ewsRequest is the part of a request the emulator reads.
type ewsRequest struct {
	Header struct {
		Impersonation *struct {
			Primary string `xml:"ConnectingSID>PrimarySmtpAddress"`
			SMTP    string `xml:"ConnectingSID>SmtpAddress"`
			UPN     string `xml:"ConnectingSID>PrincipalName"`
		} `xml:"ExchangeImpersonation"`
	} `xml:"Header"`
	Body struct {
		Sync *struct {
			Folder struct {
				ID string `xml:"Id,attr"`
			} `xml:"SyncFolderId>DistinguishedFolderId"`
			SyncState string `xml:"SyncState"`
			Max       int    `xml:"MaxChangesReturned"`
		} `xml:"SyncFolderItems"`
		GetItem *struct {
			IDs []struct {
				ID string `xml:"Id,attr"`
			} `xml:"ItemIds>ItemId"`
			MaxBody int `xml:"ItemShape>MaximumBodySize"`
			Fields  []struct {
				URI string `xml:"FieldURI,attr"`
			} `xml:"ItemShape>AdditionalProperties>FieldURI"`
		} `xml:"GetItem"`
		Resolve *struct {
			Entry string `xml:"UnresolvedEntry"`
		} `xml:"ResolveNames"`
	} `xml:"Body"`
}

func (s *Server) serveEWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	caller := s.authenticate(w, r)
	if caller == nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return
	}
	var req ewsRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		fault(w, http.StatusInternalServerError, "ErrorSchemaValidation", "The request failed schema validation.", 0)
		return
	}
	op := ""
	switch {
	case req.Body.Sync != nil:
		op = "SyncFolderItems"
	case req.Body.GetItem != nil:
		op = "GetItem"
	case req.Body.Resolve != nil:
		op = "ResolveNames"
	default:
		fault(w, http.StatusInternalServerError, "ErrorInvalidRequest", "The request is invalid.", 0)
		return
	}
	// The mailbox the request works on: the caller's own, or the one it
	// impersonates.
	mbox, charged := s.callerBox(caller), caller.login()
	if imp := req.Header.Impersonation; imp != nil {
		target := strings.TrimSpace(imp.Primary)
		if target == "" {
			target = strings.TrimSpace(imp.SMTP)
		}
		if target == "" {
			target = strings.TrimSpace(imp.UPN)
		}
		b, code, text := s.impersonate(caller, target)
		if code != "" {
			fault(w, http.StatusInternalServerError, code, text, 0)
			return
		}
		// Exchange routes an impersonated request by X-AnchorMailbox; the
		// emulator insists it names the impersonated mailbox.
		if !strings.EqualFold(strings.TrimSpace(r.Header.Get("X-AnchorMailbox")), b.email) {
			s.mu.Lock()
			s.stats.AnchorMismatches++
			s.mu.Unlock()
			fault(w, http.StatusInternalServerError, "ErrorInternalServerError",
				"An internal server error occurred. The operation failed. (emulator: the X-AnchorMailbox header must name the impersonated mailbox "+b.email+")", 0)
			return
		}
		mbox = b
		if !s.cfg.ChargeServiceAccount {
			charged = "mailbox:" + strings.ToLower(b.email)
		}
		s.mu.Lock()
		s.stats.Impersonated[strings.ToLower(b.email)]++
		s.mu.Unlock()
	}
	// EWSMaxConcurrency: requests in flight per charged account.
	s.mu.Lock()
	if s.cfg.MaxConcurrency > 0 && s.inflight[charged] >= s.cfg.MaxConcurrency {
		s.stats.Busy++
		s.mu.Unlock()
		busyConcurrency(w, s.cfg.MaxConcurrency)
		return
	}
	s.inflight[charged]++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.inflight[charged])
	delay := s.delay
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight[charged]--
		s.mu.Unlock()
	}()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
	s.mu.Lock()
	s.stats.Calls[op]++
	var f *Fault
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	s.mu.Unlock()
	if f != nil {
		switch f.Kind {
		case BusyFault:
			fault(w, http.StatusInternalServerError, "ErrorServerBusy", "The server cannot service this request right now. Try again later.", f.BackOff)
		case BusyMessage:
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			io.WriteString(w, responseEnvelope(op, errorMessage(op, "ErrorServerBusy", "The server cannot service this request right now. Try again later.", f.BackOff)))
		case Unavailable:
			w.Header().Set("Retry-After", strconv.Itoa(int(f.BackOff/time.Second)))
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	var out string
	switch op {
	case "SyncFolderItems":
		out = s.syncFolderItems(mbox, req.Body.Sync.Folder.ID, req.Body.Sync.SyncState, req.Body.Sync.Max)
	case "GetItem":
		ids := make([]string, len(req.Body.GetItem.IDs))
		for i, id := range req.Body.GetItem.IDs {
			ids[i] = id.ID
		}
		fields := map[string]bool{}
		for _, f := range req.Body.GetItem.Fields {
			fields[f.URI] = true
		}
		out = s.getItem(mbox, ids, req.Body.GetItem.MaxBody, fields)
	case "ResolveNames":
		out = s.resolveNames(req.Body.Resolve.Entry)
	}
	io.WriteString(w, out)
}

// callerBox is the caller's own mailbox (made empty for a service account
// that has none yet).
func (s *Server) callerBox(a *account) *box {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a == s.def {
		return s.defBox
	}
	return s.boxLocked(a.email)
}

// impersonate checks that caller may impersonate target, in Exchange's
// words when not: without the ApplicationImpersonation role
// ErrorImpersonationDenied; an address without a mailbox
// ErrorNonExistentMailbox; a mailbox outside the role's scope
// ErrorImpersonateUserDenied.
func (s *Server) impersonate(caller *account, target string) (*box, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !caller.role {
		return nil, "ErrorImpersonationDenied", "The account does not have permission to impersonate the requested user."
	}
	b := s.boxes[strings.ToLower(target)]
	if b == nil {
		return nil, "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."
	}
	if !caller.scope[strings.ToLower(target)] {
		return nil, "ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user."
	}
	return b, "", ""
}

// busyConcurrency answers a request over EWSMaxConcurrency as Exchange
// does: ErrorServerBusy, the policy named in MessageXml, no back-off.
func busyConcurrency(w http.ResponseWriter, limit int) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	text := "You have exceeded the available concurrent connections for your account. Try again once your other requests have completed."
	io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>`+
		`<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>`+
		`<faultstring xml:lang="en-US">`+text+`</faultstring><detail>`+
		`<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>`+
		`<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">`+text+`</e:Message>`+
		`<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">`+
		`<t:Value Name="Policy">MaxConcurrency</t:Value><t:Value Name="MaxConcurrencyLimit">`+strconv.Itoa(limit)+`</t:Value>`+
		`<t:Value Name="ErrorMessage">This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '`+strconv.Itoa(limit)+`', Budget type: 'Ews'. Suggested backoff time 0 ms.</t:Value>`+
		`</t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`)
}

const soapHead = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" ` +
	`xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types" ` +
	`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"/></s:Header>` +
	`<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">`

func responseEnvelope(op, messages string) string {
	return soapHead + `<m:` + op + `Response xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">` +
		`<m:ResponseMessages>` + messages + `</m:ResponseMessages></m:` + op + `Response></s:Body></s:Envelope>`
}

func errorMessage(op, code, text string, backOff time.Duration) string {
	var mx string
	if backOff > 0 {
		mx = `<m:MessageXml><t:Value Name="BackOffMilliseconds">` + strconv.FormatInt(backOff.Milliseconds(), 10) + `</t:Value></m:MessageXml>`
	}
	return `<m:` + op + `ResponseMessage ResponseClass="Error"><m:MessageText>` + x(text) + `</m:MessageText><m:ResponseCode>` + code +
		`</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>` + mx + `</m:` + op + `ResponseMessage>`
}

// fault answers a SOAP fault in the shape Exchange uses for ErrorServerBusy.
func fault(w http.ResponseWriter, status int, code, text string, backOff time.Duration) {
	var mx string
	if backOff > 0 {
		mx = `<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">` +
			strconv.FormatInt(backOff.Milliseconds(), 10) + `</t:Value></t:MessageXml>`
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>`+
		`<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:`+code+`</faultcode>`+
		`<faultstring xml:lang="en-US">`+x(text)+`</faultstring><detail>`+
		`<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">`+code+`</e:ResponseCode>`+
		`<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">`+x(text)+`</e:Message>`+mx+
		`</detail></s:Fault></s:Body></s:Envelope>`)
}

func syncStateFor(epoch int, fid string, pos int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0CIBgEyTYkEAQ7MGIzeaS7B1pRyMpqyqBymVWZV1mFkDM7Z28995777333nvvvfe6O51OJ/ff/z9cZmQBbPbOStrJniGAqsgfP358Hz8ip8ge0rr/i/EtT37Ji/dd/rvz7+6mW/6/sX39m/+21tFEenfrr0a1+r1w4fRW7tuWx9qNXe+pdqLbTqNJhkIHgn3/6S97/f+kP8H|%d|%s|%d", epoch, fid, pos)))
}

func parseSyncState(s string) (epoch int, fid string, pos int, ok bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, "", 0, false
	}
	parts := strings.Split(string(b), "|")
	if len(parts) != 4 {
		return 0, "", 0, false
	}
	epoch, err1 := strconv.Atoi(parts[1])
	pos, err2 := strconv.Atoi(parts[3])
	return epoch, parts[2], pos, err1 == nil && err2 == nil
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (s *Server) syncFolderItems(mb *box, fid, state string, max int) string {
	const op = "SyncFolderItems"
	s.mu.Lock()
	defer s.mu.Unlock()
	f := mb.folders[fid]
	if f == nil {
		return responseEnvelope(op, errorMessage(op, "ErrorFolderNotFound", "The specified folder could not be found in the store.", 0))
	}
	pos := 0
	if state != "" {
		epoch, sfid, p, ok := parseSyncState(state)
		if !ok || epoch != s.epoch || sfid != fid || p > len(f.log) {
			return responseEnvelope(op, errorMessage(op, "ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.", 0))
		}
		pos = p
	}
	if max <= 0 || max > 512 {
		max = 512
	}
	if s.cfg.PageSize > 0 && s.cfg.PageSize < max {
		max = s.cfg.PageSize
	}
	initial := state == ""
	var b strings.Builder
	n := 0
	for ; pos < len(f.log) && n < max; pos++ {
		e := f.log[pos]
		if initial && (e.kind != kindCreate || e.it.deleted) {
			// A first sync lists what exists now, once.
			continue
		}
		n++
		switch e.kind {
		case kindCreate, kindUpdate:
			tag := "Create"
			if e.kind == kindUpdate {
				tag = "Update"
			}
			el := "Message"
			if e.it.class == "IPM.Appointment" {
				el = "CalendarItem"
			}
			b.WriteString(`<t:` + tag + `><t:` + el + `><t:ItemId Id="` + e.it.ID + `" ChangeKey="CQAAABYAAAA` + strconv.Itoa(e.it.changeKey) + `"/>`)
			b.WriteString(`<t:ItemClass>` + e.it.class + `</t:ItemClass><t:DateTimeReceived>` + ts(e.it.received) + `</t:DateTimeReceived>`)
			if el == "CalendarItem" {
				b.WriteString(`<t:Start>` + ts(e.it.start) + `</t:Start><t:End>` + ts(e.it.end) + `</t:End>`)
			}
			b.WriteString(`</t:` + el + `></t:` + tag + `>`)
		case kindDelete:
			b.WriteString(`<t:Delete><t:ItemId Id="` + e.it.ID + `" ChangeKey="CQAAABYAAAA` + strconv.Itoa(e.it.changeKey) + `"/></t:Delete>`)
		}
	}
	last := pos >= len(f.log)
	msg := `<m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>` +
		`<m:SyncState>` + syncStateFor(s.epoch, fid, pos) + `</m:SyncState>` +
		`<m:IncludesLastItemInRange>` + strconv.FormatBool(last) + `</m:IncludesLastItemInRange>` +
		`<m:Changes>` + b.String() + `</m:Changes></m:SyncFolderItemsResponseMessage>`
	return responseEnvelope(op, msg)
}

func mailboxXML(a addr) string {
	return `<t:Mailbox><t:Name>` + x(a.name) + `</t:Name><t:EmailAddress>` + x(a.email) + `</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>`
}

// getItem answers GetItem. Of the item properties the CRM rules read, only
// those named in AdditionalProperties are returned (BaseShape IdOnly), as
// Exchange does: item:Sensitivity, item:Categories, item:ConversationId.
func (s *Server) getItem(mb *box, ids []string, maxBodyKB int, fields map[string]bool) string {
	const op = "GetItem"
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, id := range ids {
		it := s.byID[id]
		if it == nil || it.deleted || it.box != mb {
			b.WriteString(errorMessage(op, "ErrorItemNotFound", "The specified object was not found in the store., The process failed to get the correct properties.", 0))
			continue
		}
		body := it.body
		truncated := false
		if maxBodyKB > 0 && len(body) > maxBodyKB*1024 {
			body, truncated = body[:maxBodyKB*1024], true
		}
		b.WriteString(`<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>`)
		el := "Message"
		if it.class == "IPM.Appointment" {
			el = "CalendarItem"
		}
		b.WriteString(`<t:` + el + `><t:ItemId Id="` + it.ID + `" ChangeKey="CQAAABYAAAA` + strconv.Itoa(it.changeKey) + `"/>`)
		b.WriteString(`<t:ItemClass>` + it.class + `</t:ItemClass><t:Subject>` + x(it.subject) + `</t:Subject>`)
		if fields["item:Sensitivity"] {
			sens := it.sensitivity
			if sens == "" {
				sens = "Normal"
			}
			b.WriteString(`<t:Sensitivity>` + sens + `</t:Sensitivity>`)
		}
		b.WriteString(`<t:Body BodyType="Text" IsTruncated="` + strconv.FormatBool(truncated) + `">` + x(body) + `</t:Body>`)
		b.WriteString(`<t:DateTimeReceived>` + ts(it.received) + `</t:DateTimeReceived>`)
		if fields["item:Categories"] && len(it.categories) > 0 {
			b.WriteString(`<t:Categories>`)
			for _, c := range it.categories {
				b.WriteString(`<t:String>` + x(c) + `</t:String>`)
			}
			b.WriteString(`</t:Categories>`)
		}
		b.WriteString(`<t:DateTimeSent>` + ts(it.sent) + `</t:DateTimeSent>`)
		conv := ""
		if fields["item:ConversationId"] {
			conv = `<t:ConversationId Id="` + it.conversation + `"/>`
		}
		if el == "CalendarItem" {
			b.WriteString(`<t:Start>` + ts(it.start) + `</t:Start><t:End>` + ts(it.end) + `</t:End><t:Location>` + x(it.location) + `</t:Location>`)
			b.WriteString(`<t:Organizer>` + mailboxXML(it.organizer) + `</t:Organizer>`)
			if len(it.required) > 0 {
				b.WriteString(`<t:RequiredAttendees>`)
				for _, a := range it.required {
					b.WriteString(`<t:Attendee>` + mailboxXML(a) + `<t:ResponseType>Unknown</t:ResponseType></t:Attendee>`)
				}
				b.WriteString(`</t:RequiredAttendees>`)
			}
			if len(it.option) > 0 {
				b.WriteString(`<t:OptionalAttendees>`)
				for _, a := range it.option {
					b.WriteString(`<t:Attendee>` + mailboxXML(a) + `<t:ResponseType>Unknown</t:ResponseType></t:Attendee>`)
				}
				b.WriteString(`</t:OptionalAttendees>`)
			}
			b.WriteString(conv)
		} else {
			b.WriteString(conv)
			if len(it.to) > 0 {
				b.WriteString(`<t:ToRecipients>`)
				for _, a := range it.to {
					b.WriteString(mailboxXML(a))
				}
				b.WriteString(`</t:ToRecipients>`)
			}
			if len(it.cc) > 0 {
				b.WriteString(`<t:CcRecipients>`)
				for _, a := range it.cc {
					b.WriteString(mailboxXML(a))
				}
				b.WriteString(`</t:CcRecipients>`)
			}
			b.WriteString(`<t:From>` + mailboxXML(it.from) + `</t:From><t:InternetMessageId>` + x(it.messageID) + `</t:InternetMessageId>`)
		}
		b.WriteString(`</t:` + el + `></m:Items></m:GetItemResponseMessage>`)
	}
	return responseEnvelope(op, b.String())
}

func (s *Server) resolveNames(entry string) string {
	const op = "ResolveNames"
	e := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(entry)), "smtp:")
	s.mu.Lock()
	var name, email string
	for _, a := range s.accounts {
		if e == strings.ToLower(a.email) || e == strings.ToLower(a.user) || e == strings.ToLower(a.login()) {
			name, email = a.user, a.email
		}
	}
	if a := s.def; e == strings.ToLower(a.email) || e == strings.ToLower(a.user) || e == strings.ToLower(a.login()) {
		name, email = "Ann", a.email
	}
	if email == "" {
		if b := s.boxes[e]; b != nil {
			name, _, _ = strings.Cut(b.email, "@")
			email = b.email
		}
	}
	s.mu.Unlock()
	if email == "" {
		return responseEnvelope(op, errorMessage(op, "ErrorNameResolutionNoResults", "No results were found.", 0))
	}
	return responseEnvelope(op, `<m:ResolveNamesResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>`+
		`<m:ResolutionSet TotalItemsInView="1" IncludesLastItemInRange="true"><t:Resolution>`+
		`<t:Mailbox><t:Name>`+x(name)+`</t:Name><t:EmailAddress>`+x(email)+`</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Mailbox>`+
		`</t:Resolution></m:ResolutionSet></m:ResolveNamesResponseMessage>`)
}
