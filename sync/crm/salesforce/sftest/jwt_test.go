package sftest

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testKey = "3MVG9test"

// grant posts a JWT bearer grant with assertion and returns the status
// and the decoded answer.
func grant(t *testing.T, s *Server, assertion string) (int, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/services/oauth2/token", url.Values{"grant_type": {jwtBearer}, "assertion": {assertion}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return resp.StatusCode, out
}

func signer(t *testing.T, pemData []byte) func(jwt.MapClaims) string {
	blk, _ := pem.Decode(pemData)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return func(c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func TestJWTBearerGrant(t *testing.T) {
	s := New(t, Options{})
	cert, pemData := NewKeyPair(t)
	s.RegisterJWT(testKey, cert)
	ann := s.AddUser("ann@contoso.example", "ann@contoso.example", true, true)
	s.AddUser("ben@contoso.example", "ben@contoso.example", true, false)
	s.AddUser("cy@contoso.example", "cy@contoso.example", false, true)
	sign := signer(t, pemData)
	_, otherPEM := NewKeyPair(t)
	signOther := signer(t, otherPEM)
	claims := func(sub string, mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": testKey, "sub": sub, "aud": s.URL, "exp": time.Now().Add(2 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	st, ok := grant(t, s, sign(claims("ANN@contoso.example", nil)))
	if st != 200 || ok["access_token"] == "" || ok["instance_url"] != s.URL || ok["id"] != s.URL+"/id/"+OrgID+"/"+ann || ok["token_type"] != "Bearer" {
		t.Fatalf("grant for ann: %d %v", st, ok)
	}
	if _, has := ok["refresh_token"]; has {
		t.Fatal("the JWT bearer flow gave a refresh token")
	}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("ann@contoso.example", nil)).SignedString([]byte("shared"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("ann@contoso.example", nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, tc := range []struct {
		name, assertion, code, desc string
	}{
		{"garbage", "not.a.jwt", "invalid_grant", "invalid assertion"},
		{"unknown consumer key", sign(claims("ann@contoso.example", func(c jwt.MapClaims) { c["iss"] = "3MVG9other" })), "invalid_client_id", "client identifier invalid"},
		{"another key", signOther(claims("ann@contoso.example", nil)), "invalid_grant", "invalid assertion"},
		{"HS256", hs, "invalid_grant", "invalid assertion"},
		{"alg none", none, "invalid_grant", "invalid assertion"},
		{"audience", sign(claims("ann@contoso.example", func(c jwt.MapClaims) { c["aud"] = "https://login.salesforce.com" })), "invalid_grant", "audience is invalid"},
		{"expired", sign(claims("ann@contoso.example", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })), "invalid_grant", "expired authorization code"},
		{"too far", sign(claims("ann@contoso.example", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(time.Hour).Unix() })), "invalid_grant", "invalid assertion"},
		{"no exp", sign(claims("ann@contoso.example", func(c jwt.MapClaims) { delete(c, "exp") })), "invalid_grant", "invalid assertion"},
		{"not pre-authorized", sign(claims("ben@contoso.example", nil)), "invalid_grant", "user hasn't approved this consumer"},
		{"unknown user", sign(claims("zed@contoso.example", nil)), "invalid_grant", "user hasn't approved this consumer"},
		{"inactive", sign(claims("cy@contoso.example", nil)), "invalid_grant", "inactive user"},
	} {
		st, ans := grant(t, s, tc.assertion)
		if st != 400 || ans["error"] != tc.code || ans["error_description"] != tc.desc || ans["access_token"] != "" {
			t.Errorf("%s: %d %v; want 400 %s %q", tc.name, st, ans, tc.code, tc.desc)
		}
	}
	s.SetInstalled(false)
	if st, ans := grant(t, s, sign(claims("ann@contoso.example", nil))); st != 400 || ans["error_description"] != "app must be installed into org" {
		t.Errorf("app not installed: %d %v", st, ans)
	}
}

func TestJWTUsersShareTheDailyCounter(t *testing.T) {
	s := New(t, Options{APILimit: 3})
	cert, pemData := NewKeyPair(t)
	s.RegisterJWT(testKey, cert)
	ann := s.AddUser("ann@contoso.example", "ann@contoso.example", true, true)
	ben := s.AddUser("ben@contoso.example", "ben@contoso.example", true, true)
	sign := signer(t, pemData)
	token := func(sub string) string {
		_, a := grant(t, s, sign(jwt.MapClaims{"iss": testKey, "sub": sub, "aud": s.URL, "exp": time.Now().Add(time.Minute).Unix()}))
		return a["access_token"]
	}
	ta, tb := token("ann@contoso.example"), token("ben@contoso.example")
	create := map[string]any{"records": []map[string]any{{"attributes": map[string]any{"type": "Task"}, "Subject": "x"}}}
	var ids []string
	for i, tok := range []string{ta, tb, ta} {
		st, h, b := api(t, s, tok, "POST", "/services/data/v64.0/composite/sobjects", create)
		var res []Result
		json.Unmarshal(b, &res)
		if st != 200 || len(res) != 1 || !strings.HasSuffix(h.Get("Sforce-Limit-Info"), "api-usage="+string(rune('1'+i))+"/3") {
			t.Fatalf("call %d: %d %s, Sforce-Limit-Info %q", i, st, b, h.Get("Sforce-Limit-Info"))
		}
		ids = append(ids, res[0].ID)
	}
	for i, want := range []string{ann, ben, ann} {
		r, _ := s.Get(ids[i])
		if r.Fields["OwnerId"] != want || r.Fields["CreatedById"] != want {
			t.Errorf("record %d owned by %v, created by %v; want %s", i, r.Fields["OwnerId"], r.Fields["CreatedById"], want)
		}
	}
	st, h, b := api(t, s, tb, "GET", "/services/data/v64.0/query?q=SELECT+Id+FROM+User", nil)
	if st != 403 || !strings.Contains(string(b), "REQUEST_LIMIT_EXCEEDED") || h.Get("Sforce-Limit-Info") != "api-usage=4/3" {
		t.Fatalf("past the shared limit: %d %s %q", st, b, h.Get("Sforce-Limit-Info"))
	}
}

func TestCountQuery(t *testing.T) {
	s := New(t, Options{})
	s.AddUser("a@x.example", "a@x.example", true, true)
	s.AddUser("b@x.example", "b@x.example", false, true)
	_, tok := s.Grant()
	st, _, b := api(t, s, tok, "GET", "/services/data/v64.0/query?q="+url.QueryEscape("SELECT COUNT() FROM User WHERE IsActive = true"), nil)
	var a struct {
		TotalSize int
		Records   []any
	}
	if json.Unmarshal(b, &a); st != 200 || a.TotalSize != 1 || len(a.Records) != 0 {
		t.Fatalf("COUNT(): %d %s", st, b)
	}
}
