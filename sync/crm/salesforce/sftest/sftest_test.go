package sftest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// api sends one API request with the session tok.
func api(t *testing.T, s *Server, tok, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func create(t *testing.T, s *Server, tok string, allOrNone bool, recs ...map[string]any) []Result {
	t.Helper()
	st, _, b := api(t, s, tok, "POST", "/services/data/v64.0/composite/sobjects", map[string]any{"allOrNone": allOrNone, "records": recs})
	if st != 200 {
		t.Fatalf("create: %d %s", st, b)
	}
	var res []Result
	json.Unmarshal(b, &res)
	return res
}

func TestOAuthWebServerFlow(t *testing.T) {
	s := New(t, Options{RedirectURI: "http://localhost:1717/callback"})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {s.ClientID()}, "redirect_uri": {"http://localhost:1717/callback"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "state": {"st"}}
	// The redirect URI must match exactly.
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("redirect_uri", "http://localhost:1717/callback/")
	if resp, _ := noFollow.Get(s.URL + "/services/oauth2/authorize?" + bad.Encode()); resp.StatusCode != 400 {
		t.Fatalf("near-miss redirect: %d", resp.StatusCode)
	}
	resp, err := noFollow.Get(s.URL + "/services/oauth2/authorize?" + q.Encode())
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %v %v", resp, err)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if loc.Query().Get("state") != "st" || code == "" {
		t.Fatalf("callback %s", loc)
	}
	token := func(f url.Values) (int, map[string]any) {
		resp, err := http.PostForm(s.URL+"/services/oauth2/token", f)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {s.ClientID()}, "redirect_uri": {"http://localhost:1717/callback"}, "code_verifier": {"wrong" + verifier}}
	if st, m := token(form); st != 400 || m["error"] != "invalid_request" {
		t.Fatalf("wrong verifier: %d %v", st, m)
	}
	// A code is good once, even after a failed redemption.
	if st, _ := token(form); st != 400 {
		t.Fatalf("code reused: %d", st)
	}
	resp, _ = noFollow.Get(s.URL + "/services/oauth2/authorize?" + q.Encode())
	loc, _ = url.Parse(resp.Header.Get("Location"))
	form.Set("code", loc.Query().Get("code"))
	form.Set("code_verifier", verifier)
	st, m := token(form)
	if st != 200 || m["instance_url"] != s.URL || m["refresh_token"] == nil || m["id"] != s.URL+"/id/"+OrgID+"/"+UserID {
		t.Fatalf("token: %d %v", st, m)
	}
	if _, has := m["expires_in"]; has {
		t.Fatal("Salesforce's token answer has no expires_in")
	}
	s.SetRotation(true)
	rt := m["refresh_token"].(string)
	st, m = token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {s.ClientID()}})
	if st != 200 || m["refresh_token"] == nil || m["refresh_token"] == rt {
		t.Fatalf("rotating refresh: %d %v", st, m)
	}
	st, m = token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {s.ClientID()}})
	if st != 400 || m["error"] != "invalid_grant" || m["error_description"] != "expired access/refresh token" {
		t.Fatalf("used refresh token: %d %v", st, m)
	}
	s.SetInstalled(false)
	resp, _ = noFollow.Get(s.URL + "/services/oauth2/authorize?" + q.Encode())
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("error") != "invalid_client" || loc.Query().Get("error_description") != "app must be installed into org" {
		t.Fatalf("not installed: %s", loc)
	}
}

func TestSessionsAndLimits(t *testing.T) {
	s := New(t, Options{APILimit: 3})
	_, tok := s.Grant()
	st, h, _ := api(t, s, tok, "GET", "/services/data/v64.0/query?q="+url.QueryEscape("SELECT Id FROM Contact"), nil)
	if st != 200 || h.Get("Sforce-Limit-Info") != "api-usage=1/3" {
		t.Fatalf("%d %q", st, h.Get("Sforce-Limit-Info"))
	}
	s.FailNext(1, 503)
	if st, _, _ := api(t, s, tok, "GET", "/services/data/v64.0/query?q=SELECT+Id+FROM+Contact", nil); st != 503 {
		t.Fatalf("injected 503: %d", st)
	}
	api(t, s, tok, "GET", "/services/data/v64.0/query?q=SELECT+Id+FROM+Contact", nil)
	st, h, b := api(t, s, tok, "GET", "/services/data/v64.0/query?q=SELECT+Id+FROM+Contact", nil)
	if st != 403 || !strings.Contains(string(b), "REQUEST_LIMIT_EXCEEDED") || h.Get("Sforce-Limit-Info") != "api-usage=4/3" {
		t.Fatalf("over the limit: %d %s %q", st, b, h.Get("Sforce-Limit-Info"))
	}
	s.ExpireSessions()
	st, _, b = api(t, s, tok, "GET", "/services/data/v64.0/query?q=SELECT+Id+FROM+Contact", nil)
	if st != 401 || string(b) != `[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]`+"\n" {
		t.Fatalf("expired: %d %s", st, b)
	}
}

func TestQueries(t *testing.T) {
	s := New(t, Options{})
	_, tok := s.Grant()
	s.AddContact("Ann@Acme.example", "")
	s.AddLead("ann@acme.example", false)
	s.AddLead("o'neil@acme.example", false)
	s.AddLead("conv@acme.example", true)
	for i := range 450 {
		s.AddContact(fmt.Sprintf("c%d@x.example", i), "")
	}
	q := func(soql string) (int, map[string]any) {
		st, _, b := api(t, s, tok, "GET", "/services/data/v64.0/query?q="+url.QueryEscape(soql), nil)
		var m map[string]any
		json.Unmarshal(b, &m)
		return st, m
	}
	if _, m := q("SELECT Id, Email FROM Contact WHERE Email IN ('ann@ACME.example')"); m["totalSize"] != 1.0 {
		t.Fatalf("case-insensitive email: %v", m)
	}
	if _, m := q(`SELECT Id FROM Lead WHERE IsConverted = false AND Email IN ('ann@acme.example', 'o\'neil@acme.example', 'conv@acme.example')`); m["totalSize"] != 2.0 {
		t.Fatalf("unconverted leads: %v", m)
	}
	if st, m := q("SELECT Id, Nope FROM Contact"); st != 400 {
		t.Fatalf("unknown field: %d %v", st, m)
	}
	s.SetBatchSize(200)
	_, m := q("SELECT Id FROM Contact")
	n := len(m["records"].([]any))
	for m["done"] == false {
		st, _, b := api(t, s, tok, "GET", m["nextRecordsUrl"].(string), nil)
		if st != 200 {
			t.Fatalf("queryMore: %d %s", st, b)
		}
		m = nil
		json.Unmarshal(b, &m)
		n += len(m["records"].([]any))
	}
	if n != 451 || s.Count("queryMore") != 2 {
		t.Fatalf("paged %d records in %d more batches", n, s.Count("queryMore"))
	}
}

func TestRecordRules(t *testing.T) {
	s := New(t, Options{})
	_, tok := s.Grant()
	c := s.AddContact("ann@acme.example", "")
	res := create(t, s, tok, false,
		map[string]any{"attributes": map[string]any{"type": "Event"}, "Subject": "No end", "StartDateTime": "2026-11-20T10:00:00Z"},
		map[string]any{"attributes": map[string]any{"type": "Event"}, "Subject": "Day", "IsAllDayEvent": true, "ActivityDate": "2026-11-20"},
		map[string]any{"attributes": map[string]any{"type": "EmailMessage"}, "Subject": "Hi", "Status": "3", "MessageIdentifier": "<a@x>"},
		map[string]any{"attributes": map[string]any{"type": "EmailMessage"}, "Subject": "Hi", "Status": "3", "MessageIdentifier": "<a@x>"},
		map[string]any{"attributes": map[string]any{"type": "Task"}, "Subject": strings.Repeat("s", 256)},
		map[string]any{"attributes": map[string]any{"type": "EmailMessageRelation"}, "EmailMessageId": c, "RelationType": "ToAddress", "RelationId": c},
	)
	if res[0].Success || res[0].Errors[0].StatusCode != "REQUIRED_FIELD_MISSING" {
		t.Errorf("Event without end: %+v", res[0])
	}
	if !res[1].Success || !res[2].Success || !res[3].Success {
		t.Errorf("all-day Event / EmailMessage (MessageIdentifier is not unique): %+v", res[1:4])
	}
	if res[4].Success || res[4].Errors[0].StatusCode != "STRING_TOO_LONG" {
		t.Errorf("long subject: %+v", res[4])
	}
	if res[5].Success || res[5].Errors[0].StatusCode != "INVALID_CROSS_REFERENCE_KEY" {
		t.Errorf("relation to a Contact as EmailMessage: %+v", res[5])
	}
	st, _, b := api(t, s, tok, "PATCH", "/services/data/v64.0/composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "EmailMessage"}, "id": res[2].ID, "Subject": "Edited"}}})
	var up []Result
	json.Unmarshal(b, &up)
	if st != 200 || up[0].Success {
		t.Errorf("a sent EmailMessage was edited: %s", b)
	}
	_, _, b = api(t, s, tok, "PATCH", "/services/data/v64.0/composite/sobjects", map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "EmailMessage"}, "id": res[2].ID, "IsExternallyVisible": false}}})
	json.Unmarshal(b, &up)
	if !up[0].Success {
		t.Errorf("IsExternallyVisible of a sent EmailMessage: %s", b)
	}
	s.FailWhere("Task", "Subject", "rule", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "no", 0)
	res = create(t, s, tok, true,
		map[string]any{"attributes": map[string]any{"type": "Task"}, "Subject": "fine"},
		map[string]any{"attributes": map[string]any{"type": "Task"}, "Subject": "rule"})
	if res[0].Success || res[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || res[1].Errors[0].StatusCode != "FIELD_CUSTOM_VALIDATION_EXCEPTION" || len(s.Records("Task")) != 0 {
		t.Errorf("allOrNone: %+v, %d Tasks", res, len(s.Records("Task")))
	}
	many := make([]map[string]any, 201)
	for i := range many {
		many[i] = map[string]any{"attributes": map[string]any{"type": "Task"}, "Subject": "x"}
	}
	if st, _, _ := api(t, s, tok, "POST", "/services/data/v64.0/composite/sobjects", map[string]any{"records": many}); st != 400 {
		t.Errorf("201 records: %d", st)
	}
}

func TestOpportunityStageAndRequiredFields(t *testing.T) {
	s := New(t, Options{})
	_, tok := s.Grant()
	acc := s.AddAccount("Acme")
	res := create(t, s, tok, false,
		map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "Name": "Deal", "AccountId": acc, "StageName": "Prospecting", "CloseDate": "2027-01-31"},
		map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "Name": "Won", "AccountId": acc, "StageName": "Closed Won", "CloseDate": "2027-01-31"},
		map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "Name": "No stage", "CloseDate": "2027-01-31"},
		map[string]any{"attributes": map[string]any{"type": "Opportunity"}, "Name": "Set closed", "StageName": "Prospecting", "CloseDate": "2027-01-31", "IsClosed": true},
		map[string]any{"attributes": map[string]any{"type": "Lead"}, "LastName": "Jones", "Email": "j@x.example"},
	)
	if !res[0].Success || !res[1].Success {
		t.Fatalf("valid Opportunities refused: %+v", res[:2])
	}
	for i, code := range map[int]string{2: "REQUIRED_FIELD_MISSING", 3: "INVALID_FIELD_FOR_INSERT_UPDATE", 4: "REQUIRED_FIELD_MISSING"} {
		if res[i].Success || res[i].Errors[0].StatusCode != code {
			t.Errorf("record %d: %+v, want %s", i, res[i], code)
		}
	}
	q := url.QueryEscape("SELECT Id, Name, LastModifiedDate FROM Opportunity WHERE IsClosed = false AND AccountId IN ('" + acc + "')")
	st, _, b := api(t, s, tok, "GET", "/services/data/v64.0/query?q="+q, nil)
	var ans struct {
		Records []map[string]any `json:"records"`
	}
	json.Unmarshal(b, &ans)
	if st != 200 || len(ans.Records) != 1 || ans.Records[0]["Id"] != res[0].ID || ans.Records[0]["LastModifiedDate"] == nil {
		t.Fatalf("open Opportunities: %d %s", st, b)
	}
}
