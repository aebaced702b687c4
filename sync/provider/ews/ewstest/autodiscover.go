package ewstest

// Autodiscover: the answers a host gives (SOAP and POX) and where.

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

// Autodiscover says how one Autodiscover endpoint answers.
type Autodiscover struct {
	// EWSURL: answer settings naming this EWS URL.
	EWSURL string
	// RedirectURL: answer a protocol-level URL redirect (SOAP RedirectUrl,
	// POX redirectUrl).
	RedirectURL string
	// RedirectAddr: answer an address redirect.
	RedirectAddr string
	// Location: answer HTTP 302 to this location.
	Location string
	// Status: answer this HTTP status (e.g. 401, 500).
	Status int
	// Hang: never answer (until the client gives up).
	Hang bool
}

// SetAutodiscover sets how host answers at path (e.g. "contoso.test",
// "/autodiscover/autodiscover.svc"). For the plain-http listener use the
// host prefixed with "http:". Endpoints not set answer 404.
func (s *Server) SetAutodiscover(host, path string, a Autodiscover) {
	s.mu.Lock()
	s.ad[strings.ToLower(host+path)] = a
	s.mu.Unlock()
}

func (s *Server) serveAutodiscover(w http.ResponseWriter, r *http.Request, path string) {
	key := hostOnly(r.Host) + path
	s.mu.Lock()
	s.stats.Autodiscover[key]++
	a, ok := s.ad[key]
	s.mu.Unlock()
	switch {
	case !ok:
		http.NotFound(w, r)
		return
	case a.Hang:
		s.wait(r)
		return
	case a.Location != "":
		http.Redirect(w, r, a.Location, http.StatusFound)
		return
	case a.Status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="autodiscover"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	case a.Status != 0:
		w.WriteHeader(a.Status)
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if s.authenticate(w, r) == nil {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	if strings.HasSuffix(path, ".svc") {
		io.WriteString(w, soapAutodiscover(a))
		return
	}
	var req struct {
		Email string `xml:"Request>EMailAddress"`
	}
	xml.Unmarshal(body, &req)
	io.WriteString(w, poxAutodiscover(a, req.Email))
}

func soapAutodiscover(a Autodiscover) string {
	var user string
	switch {
	case a.RedirectAddr != "":
		user = `<ErrorCode>RedirectAddress</ErrorCode><ErrorMessage>Redirection address.</ErrorMessage><RedirectTarget>` + x(a.RedirectAddr) + `</RedirectTarget><UserSettingErrors/><UserSettings/>`
	case a.RedirectURL != "":
		user = `<ErrorCode>RedirectUrl</ErrorCode><ErrorMessage>Redirection URL.</ErrorMessage><RedirectTarget>` + x(a.RedirectURL) + `</RedirectTarget><UserSettingErrors/><UserSettings/>`
	default:
		user = `<ErrorCode>NoError</ErrorCode><ErrorMessage>No error.</ErrorMessage><RedirectTarget i:nil="true"/><UserSettingErrors/><UserSettings>` +
			`<UserSetting i:type="StringSetting"><Name>InternalEwsUrl</Name><Value>` + x(a.EWSURL) + `</Value></UserSetting>` +
			`<UserSetting i:type="StringSetting"><Name>ExternalEwsUrl</Name><Value>` + x(a.EWSURL) + `</Value></UserSetting></UserSettings>`
	}
	return `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:a="http://www.w3.org/2005/08/addressing">` +
		`<s:Header><a:Action s:mustUnderstand="1">http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettingsResponse</a:Action>` +
		`<h:ServerVersionInfo xmlns:h="http://schemas.microsoft.com/exchange/2010/Autodiscover" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><h:MajorVersion>15</h:MajorVersion><h:MinorVersion>1</h:MinorVersion><h:MajorBuildNumber>2507</h:MajorBuildNumber><h:MinorBuildNumber>6</h:MinorBuildNumber><h:Version>Exchange2015</h:Version></h:ServerVersionInfo></s:Header>` +
		`<s:Body><GetUserSettingsResponseMessage xmlns="http://schemas.microsoft.com/exchange/2010/Autodiscover"><Response xmlns:i="http://www.w3.org/2001/XMLSchema-instance">` +
		`<ErrorCode>NoError</ErrorCode><ErrorMessage/><UserResponses><UserResponse>` + user + `</UserResponse></UserResponses></Response></GetUserSettingsResponseMessage></s:Body></s:Envelope>`
}

func poxAutodiscover(a Autodiscover, email string) string {
	var account string
	switch {
	case a.RedirectAddr != "":
		account = `<Account><Action>redirectAddr</Action><RedirectAddr>` + x(a.RedirectAddr) + `</RedirectAddr></Account>`
	case a.RedirectURL != "":
		account = `<Account><Action>redirectUrl</Action><RedirectUrl>` + x(a.RedirectURL) + `</RedirectUrl></Account>`
	default:
		account = `<Account><AccountType>email</AccountType><Action>settings</Action>` +
			`<Protocol><Type>EXCH</Type><Server>EXCH01.contoso.test</Server><ASUrl>https://mail.contoso.test/EWS/Exchange.asmx</ASUrl><EwsUrl>` + x(a.EWSURL) + `</EwsUrl></Protocol>` +
			`<Protocol><Type>EXPR</Type><Server>mail.contoso.test</Server><EwsUrl>` + x(a.EWSURL) + `</EwsUrl></Protocol></Account>`
	}
	return `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">` +
		`<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">` +
		`<User><DisplayName>Ann</DisplayName><AutoDiscoverSMTPAddress>` + x(email) + `</AutoDiscoverSMTPAddress></User>` + account + `</Response></Autodiscover>`
}

func x(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
