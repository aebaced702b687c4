package sftest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// sfDateTime is how Salesforce writes dateTime values in answers.
const sfDateTime = "2006-01-02T15:04:05.000-0700"

type kind int

const (
	kString kind = iota
	kBool
	kDateTime
	kDate
	kInt
	kRef
	kReadOnly
)

type fieldSpec struct {
	kind   kind
	maxLen int
	refs   []string // objects a reference may point at
}

type objectSpec struct {
	name   string
	prefix string
	fields map[string]fieldSpec
}

// field returns the canonical name of a field, found case-insensitively.
func (o objectSpec) field(name string) (string, bool) {
	if _, ok := o.fields[name]; ok {
		return name, true
	}
	for k := range o.fields {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

var who = []string{"Contact", "Lead"}

// what are the objects an activity's WhatId may point at (of those the
// emulator knows).
var what = []string{"Account", "Opportunity"}

// closedStages are the StageName values whose Opportunity is closed (the
// default sales process; IsClosed is derived from the stage).
var closedStages = []string{"Closed Won", "Closed Lost"}

// schema holds the objects and fields the emulator knows, with
// Salesforce's maximum lengths.
var schema = map[string]objectSpec{}

func init() {
	add := func(name, prefix string, f map[string]fieldSpec) {
		f["Id"] = fieldSpec{kind: kReadOnly}
		f["CreatedById"] = fieldSpec{kind: kReadOnly}
		f["CreatedDate"] = fieldSpec{kind: kReadOnly}
		f["LastModifiedDate"] = fieldSpec{kind: kReadOnly}
		schema[name] = objectSpec{name: name, prefix: prefix, fields: f}
	}
	add("User", "005", map[string]fieldSpec{"Email": {maxLen: 128}, "Name": {maxLen: 121}, "Username": {maxLen: 80}, "IsActive": {kind: kBool}})
	add("Account", "001", map[string]fieldSpec{"Name": {maxLen: 255}})
	add("Contact", "003", map[string]fieldSpec{
		"Email": {maxLen: 80}, "FirstName": {maxLen: 40}, "LastName": {maxLen: 80},
		"AccountId": {kind: kRef, refs: []string{"Account"}}, "OwnerId": {kind: kRef, refs: []string{"User"}},
	})
	add("Lead", "00Q", map[string]fieldSpec{
		"Email": {maxLen: 80}, "FirstName": {maxLen: 40}, "LastName": {maxLen: 80}, "Company": {maxLen: 255},
		"LeadSource": {maxLen: 255}, "IsConverted": {kind: kBool}, "OwnerId": {kind: kRef, refs: []string{"User"}},
	})
	add("Opportunity", "006", map[string]fieldSpec{
		"Name": {maxLen: 120}, "AccountId": {kind: kRef, refs: []string{"Account"}},
		"StageName": {maxLen: 255}, "CloseDate": {kind: kDate}, "IsClosed": {kind: kReadOnly},
		"OwnerId": {kind: kRef, refs: []string{"User"}},
	})
	add("EmailMessage", "02s", map[string]fieldSpec{
		"Subject": {maxLen: 3000}, "FromAddress": {maxLen: 1000}, "FromName": {maxLen: 1000},
		"ToAddress": {maxLen: 4000}, "CcAddress": {maxLen: 4000}, "BccAddress": {maxLen: 4000},
		"MessageDate": {kind: kDateTime}, "Incoming": {kind: kBool}, "Status": {maxLen: 40},
		"MessageIdentifier": {maxLen: 255}, "ThreadIdentifier": {maxLen: 255},
		"TextBody": {maxLen: 131072}, "HtmlBody": {maxLen: 131072},
		"RelatedToId":         {kind: kRef, refs: []string{"Account", "Opportunity", "Contact", "Lead"}},
		"IsExternallyVisible": {kind: kBool},
	})
	add("EmailMessageRelation", "0EM", map[string]fieldSpec{
		"EmailMessageId": {kind: kRef, refs: []string{"EmailMessage"}},
		"RelationId":     {kind: kRef, refs: []string{"Contact", "Lead", "User"}},
		"RelationType":   {maxLen: 40}, "RelationAddress": {maxLen: 1000},
	})
	add("Event", "00U", map[string]fieldSpec{
		"Subject": {maxLen: 255}, "StartDateTime": {kind: kDateTime}, "EndDateTime": {kind: kDateTime},
		"ActivityDateTime": {kind: kDateTime}, "ActivityDate": {kind: kDate}, "DurationInMinutes": {kind: kInt},
		"IsAllDayEvent": {kind: kBool}, "Location": {maxLen: 255}, "Description": {maxLen: 32000},
		"WhoId": {kind: kRef, refs: who}, "WhatId": {kind: kRef, refs: what},
		"OwnerId": {kind: kRef, refs: []string{"User"}},
	})
	add("Task", "00T", map[string]fieldSpec{
		"Subject": {maxLen: 255}, "TaskSubtype": {maxLen: 40}, "Status": {maxLen: 40}, "Priority": {maxLen: 40},
		"ActivityDate": {kind: kDate}, "Description": {maxLen: 32000},
		"WhoId": {kind: kRef, refs: who}, "WhatId": {kind: kRef, refs: what},
		"OwnerId": {kind: kRef, refs: []string{"User"}},
	})
}

var emailStatuses = []string{"0", "1", "2", "3", "4", "5"}
var relationTypes = []string{"ToAddress", "CcAddress", "BccAddress", "FromAddress"}
var taskSubtypes = []string{"Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"}

func (s *Server) newID(object string) string {
	s.seq[object]++
	return fmt.Sprintf("%s%012dAAA", schema[object].prefix, s.seq[object])
}

// Result is one record's entry in an sObject Collections answer.
type Result struct {
	ID      string        `json:"id,omitempty"`
	Success bool          `json:"success"`
	Errors  []RecordError `json:"errors"`
}

func fail(code, msg string, fields ...string) *RecordError {
	if fields == nil {
		fields = []string{}
	}
	return &RecordError{StatusCode: code, Message: msg, Fields: fields}
}

// normalize checks and converts a record's fields for object; the error
// is a record-level one.
func (s *Server) normalize(o objectSpec, in map[string]any, update bool) (map[string]any, *RecordError) {
	out := map[string]any{}
	for k, v := range in {
		if k == "attributes" || (update && strings.EqualFold(k, "Id")) {
			continue
		}
		name, ok := o.field(k)
		if !ok {
			return nil, fail("INVALID_FIELD", fmt.Sprintf("No such column '%s' on sobject of type %s", k, o.name), k)
		}
		spec := o.fields[name]
		if spec.kind == kReadOnly {
			return nil, fail("INVALID_FIELD_FOR_INSERT_UPDATE", fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", name), name)
		}
		if v == nil {
			out[name] = nil
			continue
		}
		switch spec.kind {
		case kBool:
			b, ok := v.(bool)
			if !ok {
				return nil, fail("INVALID_TYPE_ON_FIELD_IN_RECORD", name+": value not of required type: "+fmt.Sprint(v), name)
			}
			out[name] = b
		case kInt:
			n, ok := v.(float64)
			if !ok || n != float64(int(n)) {
				return nil, fail("INVALID_TYPE_ON_FIELD_IN_RECORD", name+": value not of required type: "+fmt.Sprint(v), name)
			}
			out[name] = int(n)
		case kDateTime:
			str, _ := v.(string)
			t, err := time.Parse(time.RFC3339Nano, str)
			if err != nil {
				t, err = time.Parse(sfDateTime, str)
			}
			if err != nil {
				return nil, fail("INVALID_TYPE_ON_FIELD_IN_RECORD", name+": value not of required type: "+str, name)
			}
			out[name] = t.UTC().Format(sfDateTime)
		case kDate:
			str, _ := v.(string)
			if _, err := time.Parse(time.DateOnly, str); err != nil {
				return nil, fail("INVALID_TYPE_ON_FIELD_IN_RECORD", name+": value not of required type: "+str, name)
			}
			out[name] = str
		case kRef:
			id, _ := v.(string)
			r := s.records[id]
			if r == nil || !slices.Contains(spec.refs, r.object) {
				return nil, fail("INVALID_CROSS_REFERENCE_KEY", name+": id value of incorrect type: "+id, name)
			}
			out[name] = id
		default:
			str, ok := v.(string)
			if !ok {
				return nil, fail("INVALID_TYPE_ON_FIELD_IN_RECORD", name+": value not of required type: "+fmt.Sprint(v), name)
			}
			if spec.maxLen > 0 && len([]rune(str)) > spec.maxLen {
				return nil, fail("STRING_TOO_LONG", fmt.Sprintf("%s: data value too large: %.40s… (max length=%d)", name, str, spec.maxLen), name)
			}
			out[name] = str
		}
	}
	return out, nil
}

// check applies an object's rules to the merged fields of a record.
func check(object string, f, old, changes map[string]any) *RecordError {
	str := func(k string) string { s, _ := f[k].(string); return s }
	missing := func(k string) *RecordError {
		return fail("REQUIRED_FIELD_MISSING", "Required fields are missing: ["+k+"]", k)
	}
	switch object {
	case "EmailMessage":
		if old != nil && old["Status"] != "5" {
			// Only drafts can be edited; otherwise IsExternallyVisible and
			// custom fields only.
			for k := range changes {
				if k != "IsExternallyVisible" && !strings.HasSuffix(k, "__c") {
					return fail("INSUFFICIENT_ACCESS_OR_READONLY", "You can't edit "+k+" of an email message that isn't a draft.", k)
				}
			}
		}
		if str("Status") == "" {
			return missing("Status")
		}
		if !slices.Contains(emailStatuses, str("Status")) {
			return fail("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Status: bad value for restricted picklist field: "+str("Status"), "Status")
		}
	case "EmailMessageRelation":
		if str("EmailMessageId") == "" {
			return missing("EmailMessageId")
		}
		if !slices.Contains(relationTypes, str("RelationType")) {
			return fail("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "RelationType: bad value for restricted picklist field: "+str("RelationType"), "RelationType")
		}
		if str("RelationId") == "" && str("RelationAddress") == "" {
			return missing("RelationId")
		}
	case "Event":
		if f["IsAllDayEvent"] == true {
			if str("ActivityDate") == "" {
				return missing("ActivityDate")
			}
			return nil
		}
		if str("StartDateTime") == "" && str("ActivityDateTime") == "" {
			return missing("StartDateTime")
		}
		if str("EndDateTime") == "" && f["DurationInMinutes"] == nil {
			return missing("DurationInMinutes")
		}
		if str("EndDateTime") != "" {
			a, _ := time.Parse(sfDateTime, str("StartDateTime"))
			b, _ := time.Parse(sfDateTime, str("EndDateTime"))
			if b.Before(a) {
				return fail("FIELD_INTEGRITY_EXCEPTION", "End Date Time: End time must be after start time", "EndDateTime")
			}
		}
	case "Lead":
		// Salesforce's order: LastName, then Company.
		if strings.TrimSpace(str("LastName")) == "" {
			return missing("LastName")
		}
		if strings.TrimSpace(str("Company")) == "" {
			return missing("Company")
		}
	case "Opportunity":
		for _, k := range []string{"Name", "StageName", "CloseDate"} {
			if strings.TrimSpace(str(k)) == "" {
				return missing(k)
			}
		}
	case "Task":
		if st := str("TaskSubtype"); st != "" && !slices.Contains(taskSubtypes, st) {
			return fail("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "TaskSubtype: bad value for restricted picklist field: "+st, "TaskSubtype")
		}
	}
	return nil
}

// derive fills the fields Salesforce computes.
func derive(object string, f map[string]any) {
	if object == "Opportunity" {
		if st, ok := f["StageName"].(string); ok {
			f["IsClosed"] = slices.ContainsFunc(closedStages, func(c string) bool { return strings.EqualFold(c, st) })
		} else if f["IsClosed"] == nil {
			f["IsClosed"] = false
		}
		return
	}
	if object != "Event" || f["IsAllDayEvent"] == true {
		return
	}
	if f["StartDateTime"] == nil && f["ActivityDateTime"] != nil {
		f["StartDateTime"] = f["ActivityDateTime"]
	}
	a, err := time.Parse(sfDateTime, fmt.Sprint(f["StartDateTime"]))
	if err != nil {
		return
	}
	f["ActivityDateTime"] = f["StartDateTime"]
	f["ActivityDate"] = a.Format(time.DateOnly)
	if e, ok := f["EndDateTime"].(string); ok && e != "" {
		b, _ := time.Parse(sfDateTime, e)
		f["DurationInMinutes"] = int(b.Sub(a) / time.Minute)
	} else if d, ok := f["DurationInMinutes"].(int); ok {
		f["EndDateTime"] = a.Add(time.Duration(d) * time.Minute).Format(sfDateTime)
	}
}

func (s *Server) injectedError(object string, fields map[string]any) *RecordError {
	for i := range s.inject {
		in := &s.inject[i]
		if in.times < 0 || !in.match(object, fields) {
			continue
		}
		if in.times > 0 {
			in.times--
			if in.times == 0 {
				in.times = -1
			}
		}
		e := in.err
		return &e
	}
	return nil
}

type collectionRequest struct {
	AllOrNone bool             `json:"allOrNone"`
	Records   []map[string]any `json:"records"`
}

// collection serves POST (create) and PATCH (update) of composite/sobjects.
func (s *Server) collection(w http.ResponseWriter, r *http.Request, update bool, user string) {
	var req collectionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not valid JSON.")
		return
	}
	if len(req.Records) > 200 {
		apiError(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return
	}
	type staged struct {
		id     string
		object string
		fields map[string]any
	}
	results := make([]Result, len(req.Records))
	stage := make([]*staged, len(req.Records))
	failed := false
	for i, in := range req.Records {
		attrs, _ := in["attributes"].(map[string]any)
		typ, _ := attrs["type"].(string)
		o, ok := schema[typ]
		if !ok {
			apiError(w, http.StatusBadRequest, "INVALID_TYPE", "sObject type '"+typ+"' is not supported. Each record needs attributes.type.")
			return
		}
		var e *RecordError
		var fields, old map[string]any
		id := ""
		if update {
			id, _ = in["id"].(string)
			if id == "" {
				id, _ = in["Id"].(string)
			}
			rec := s.records[id]
			switch {
			case id == "":
				e = fail("MISSING_ARGUMENT", "Id not specified in an update call")
			case rec == nil:
				e = fail("ENTITY_IS_DELETED", "entity is deleted")
			case rec.object != typ:
				e = fail("MALFORMED_ID", "The id does not belong to an object of type "+typ)
			default:
				old = rec.fields
			}
		} else if _, has := lookup(in, "Id"); has {
			e = fail("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", "Id")
		}
		if e == nil {
			var changes map[string]any
			changes, e = s.normalize(o, in, update)
			if e == nil {
				fields = maps.Clone(old)
				if fields == nil {
					fields = map[string]any{}
				}
				maps.Copy(fields, changes)
				if !update {
					if fields["OwnerId"] == nil && o.fields["OwnerId"].kind == kRef {
						fields["OwnerId"] = user
					}
					if typ == "Lead" && fields["IsConverted"] == nil {
						fields["IsConverted"] = false // defaulted on create
					}
					if typ == "Task" {
						if fields["Status"] == nil {
							fields["Status"] = "Not Started"
						}
						if fields["Priority"] == nil {
							fields["Priority"] = "Normal"
						}
					}
				}
				derive(typ, fields)
				fields["LastModifiedDate"] = time.Now().UTC().Format(sfDateTime)
				e = check(typ, fields, old, changes)
			}
		}
		if e == nil {
			e = s.injectedError(typ, fields)
		}
		if e != nil {
			results[i] = Result{Success: false, Errors: []RecordError{*e}}
			failed = true
			continue
		}
		if !update {
			id = s.newID(typ)
			fields["Id"] = id
			fields["CreatedById"] = user
			fields["CreatedDate"] = time.Now().UTC().Format(sfDateTime)
		}
		stage[i] = &staged{id: id, object: typ, fields: fields}
		results[i] = Result{ID: id, Success: true, Errors: []RecordError{}}
	}
	if failed && req.AllOrNone {
		for i := range results {
			if results[i].Success {
				results[i] = Result{Success: false, Errors: []RecordError{*fail("ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back because not all records were valid and the request was using AllOrNone header")}}
			}
		}
		writeJSON(w, http.StatusOK, results)
		return
	}
	for _, st := range stage {
		if st == nil {
			continue
		}
		if _, exists := s.records[st.id]; !exists {
			s.remember(st.object, st.id)
		}
		s.records[st.id] = &record{object: st.object, fields: st.fields}
	}
	writeJSON(w, http.StatusOK, results)
}

// deleteCollection serves DELETE composite/sobjects?ids=…&allOrNone=….
func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids := strings.Split(q.Get("ids"), ",")
	if q.Get("ids") == "" || len(ids) > 200 {
		apiError(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "between 1 and 200 ids are required")
		return
	}
	results := make([]Result, len(ids))
	failed := false
	seen := map[string]bool{}
	for i, id := range ids {
		rec := s.records[id]
		var e *RecordError
		if seen[id] {
			e = fail("INVALID_ID_FIELD", "duplicate id in list: "+id)
		} else if rec == nil {
			e = fail("ENTITY_IS_DELETED", "entity is deleted")
		} else {
			e = s.injectedError(rec.object, rec.fields)
		}
		if e != nil {
			failed = true
			results[i] = Result{ID: id, Errors: []RecordError{*e}}
			continue
		}
		seen[id] = true
		results[i] = Result{ID: id, Success: true, Errors: []RecordError{}}
	}
	if failed && q.Get("allOrNone") == "true" {
		writeJSON(w, http.StatusOK, results)
		return
	}
	for i, id := range ids {
		if !results[i].Success {
			continue
		}
		obj := s.records[id].object
		delete(s.records, id)
		if obj == "EmailMessage" {
			for rid, rec := range s.records {
				if rec.object == "EmailMessageRelation" && rec.fields["EmailMessageId"] == id {
					delete(s.records, rid)
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, results)
}

// Inject makes records that match fail with err: times times, or every
// time when times is 0. It applies to creates, updates and deletes.
func (s *Server) Inject(match func(object string, fields map[string]any) bool, err RecordError, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err.Fields == nil {
		err.Fields = []string{}
	}
	s.inject = append(s.inject, injected{match: match, err: err, times: times})
}

// FailWhere makes records of object whose field equals value fail with
// code and message, times times (0: always).
func (s *Server) FailWhere(object, field, value, code, message string, times int) {
	s.Inject(func(o string, f map[string]any) bool {
		v, _ := f[field].(string)
		return o == object && v == value
	}, RecordError{StatusCode: code, Message: message, Fields: []string{field}}, times)
}

// Add stores a record as if someone else had created it and returns its
// id. DateTime fields may be given in RFC 3339; references are not checked.
func (s *Server) Add(object string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := schema[object]
	if !ok {
		panic("sftest: unknown object " + object)
	}
	f := map[string]any{}
	for k, v := range fields {
		if str, ok := v.(string); ok && (o.fields[k].kind == kDateTime || k == "LastModifiedDate" || k == "CreatedDate") {
			if t, err := time.Parse(time.RFC3339Nano, str); err == nil {
				v = t.UTC().Format(sfDateTime)
			}
		}
		f[k] = v
	}
	derive(object, f)
	id := s.newID(object)
	f["Id"] = id
	if f["CreatedById"] == nil {
		f["CreatedById"] = "005000000000099AAA" // a colleague
	}
	if f["OwnerId"] == nil && o.fields["OwnerId"].kind == kRef {
		f["OwnerId"] = f["CreatedById"]
	}
	if f["LastModifiedDate"] == nil {
		f["LastModifiedDate"] = time.Now().UTC().Format(sfDateTime)
	}
	s.records[id] = &record{object: object, fields: f}
	s.remember(object, id)
	return id
}

// remember records a new id in creation order; s.mu is held.
func (s *Server) remember(object, id string) {
	s.order = append(s.order, id)
	if s.byObj == nil {
		s.byObj = map[string][]string{}
	}
	s.byObj[object] = append(s.byObj[object], id)
}

// AddAccount adds an Account.
func (s *Server) AddAccount(name string) string {
	return s.Add("Account", map[string]any{"Name": name})
}

// AddContact adds a Contact with email, under account (may be "").
func (s *Server) AddContact(email, account string) string {
	f := map[string]any{"Email": email, "LastName": email}
	if account != "" {
		f["AccountId"] = account
	}
	return s.Add("Contact", f)
}

// AddLead adds a Lead with email, converted or not.
func (s *Server) AddLead(email string, converted bool) string {
	return s.Add("Lead", map[string]any{"Email": email, "LastName": email, "Company": "Co", "IsConverted": converted})
}

// AddOpportunity adds an Opportunity of account at stage ("Prospecting",
// "Closed Won" …: "Closed Won" and "Closed Lost" are closed), last
// modified at modified (zero: now).
func (s *Server) AddOpportunity(name, account, stage string, modified time.Time) string {
	f := map[string]any{"Name": name, "AccountId": account, "StageName": stage, "CloseDate": "2027-03-31"}
	if !modified.IsZero() {
		f["LastModifiedDate"] = modified.UTC().Format(time.RFC3339Nano)
	}
	return s.Add("Opportunity", f)
}

// Record is a stored record, for tests to inspect.
type Record struct {
	ID     string
	Object string
	Fields map[string]any
}

// Records returns the records of object in creation order.
func (s *Server) Records(object string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, id := range s.byObj[object] {
		if r := s.records[id]; r != nil && r.object == object {
			out = append(out, Record{ID: id, Object: object, Fields: maps.Clone(r.fields)})
		}
	}
	return out
}

// Get returns the record id, if it exists.
func (s *Server) Get(id string) (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[id]
	if r == nil {
		return Record{}, false
	}
	return Record{ID: id, Object: r.object, Fields: maps.Clone(r.fields)}, true
}
