package ews

import (
	"errors"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
)

// CheckRequest finds, without the network, the mistakes Connect would
// refuse first; a good request passes.
func TestCheckRequest(t *testing.T) {
	ok := api.ActivationRequest{Login: "ann@contoso.test", Password: "pw"}
	if err := CheckRequest(ok); err != nil {
		t.Fatalf("a good request: %v", err)
	}
	withURL := func(u string) api.ActivationRequest {
		r := ok
		r.Settings = map[string]string{SettingURL: u}
		return r
	}
	if err := CheckRequest(withURL("https://mail.contoso.test/EWS/Exchange.asmx")); err != nil {
		t.Fatalf("an https EWS URL: %v", err)
	}
	for _, tc := range []struct {
		name string
		req  api.ActivationRequest
		want string
	}{
		{"no login", api.ActivationRequest{Password: "pw"}, "needs a login"},
		{"bad DOMAIN\\user", api.ActivationRequest{Login: `CONTOSO\`, Password: "pw"}, `not of the form DOMAIN\user`},
		{"no password", api.ActivationRequest{Login: "ann@contoso.test"}, "needs a password"},
		{"http URL", withURL("http://mail.contoso.test/EWS/Exchange.asmx"), "must start with https://"},
		{"no address for Autodiscover", api.ActivationRequest{Login: `CONTOSO\ann`, Password: "pw"}, "needs your email address"},
	} {
		err := CheckRequest(tc.req)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid saying %q", tc.name, err, tc.want)
		}
	}
}
