package ewstest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestImpersonationChecks posts raw impersonated requests: the anchor
// header must name the impersonated mailbox, and the rights decide the
// fault.
func TestImpersonationChecks(t *testing.T) {
	s, err := New(Config{Auth: []string{"Basic"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddServiceAccount(`CONTOSO\svc`, "pw")
	s.AddMailbox("alice@contoso.test")
	s.AddMailbox("bob@contoso.test")
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: s.TLS.Client().Transport.(*http.Transport).TLSClientConfig}}
	post := func(target, anchor string) (int, string) {
		body := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ` +
			`xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">` +
			`<soap:Header><t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>` + target +
			`</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation></soap:Header><soap:Body>` +
			`<m:SyncFolderItems><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>` +
			`</soap:Body></soap:Envelope>`
		req, _ := http.NewRequest(http.MethodPost, s.EWSURL, strings.NewReader(body))
		req.SetBasicAuth(`CONTOSO\svc`, "pw")
		if anchor != "" {
			req.Header.Set("X-AnchorMailbox", anchor)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	expect := func(what string, code int, body string, status int, want string) {
		t.Helper()
		if code != status || !strings.Contains(body, want) {
			t.Fatalf("%s: HTTP %d %s; want %d with %s", what, code, body, status, want)
		}
	}
	code, body := post("alice@contoso.test", "alice@contoso.test")
	expect("no role", code, body, 500, "ErrorImpersonationDenied")
	s.GrantImpersonation(`CONTOSO\svc`, "alice@contoso.test")
	code, body = post("bob@contoso.test", "bob@contoso.test")
	expect("outside the scope", code, body, 500, "ErrorImpersonateUserDenied")
	code, body = post("nobody@contoso.test", "nobody@contoso.test")
	expect("no mailbox", code, body, 500, "ErrorNonExistentMailbox")
	code, body = post("alice@contoso.test", "")
	expect("no anchor", code, body, 500, "X-AnchorMailbox")
	code, body = post("alice@contoso.test", "bob@contoso.test")
	expect("another anchor", code, body, 500, "X-AnchorMailbox")
	if n := s.Stats().AnchorMismatches; n != 2 {
		t.Fatalf("anchor mismatches: %d", n)
	}
	code, body = post("alice@contoso.test", "Alice@Contoso.test")
	expect("allowed", code, body, 200, "NoError")
	if s.Stats().Impersonated["alice@contoso.test"] != 1 {
		t.Fatalf("stats: %+v", s.Stats())
	}
}
