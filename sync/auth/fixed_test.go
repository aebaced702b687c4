package auth_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/auth"
)

func TestTokenAnswerExtraFields(t *testing.T) {
	body := `{"access_token":"AT","refresh_token":"RT","signature":"SIG","token_type":"Bearer","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00D/005","issued_at":"1700000000000"}`
	tok, te, err := auth.ParseTokenResponse(200, "application/json", []byte(body))
	if err != nil || te != nil {
		t.Fatal(err, te)
	}
	if tok.Extra["instance_url"] != "https://acme.my.salesforce.com" || tok.Extra["id"] != "https://login.salesforce.com/id/00D/005" || tok.Extra["issued_at"] != "1700000000000" {
		t.Fatalf("Extra = %v", tok.Extra)
	}
	for k, v := range tok.Extra {
		if v == "AT" || v == "RT" || v == "SIG" {
			t.Fatalf("Extra keeps the secret %s", k)
		}
	}
	if !tok.Expiry.IsZero() {
		t.Fatal("an answer without expires_in has an expiry")
	}
}

func TestFixedRedirectPortInUse(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cfg := &auth.Config{ClientID: "x", Endpoint: auth.Endpoint{AuthURL: "http://127.0.0.1:1/authorize"}, RedirectPort: port, RedirectPath: "/callback"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = cfg.SignInBrowser(ctx, auth.SignInOptions{NoBrowser: true})
	if err == nil || !strings.Contains(err.Error(), "in use by another program") {
		t.Fatalf("err = %v", err)
	}
}

func TestFixedRedirectPortAndPath(t *testing.T) {
	l, _ := net.Listen("tcp4", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := &auth.Config{ClientID: "x", Endpoint: auth.Endpoint{AuthURL: "http://127.0.0.1:1/authorize"}, RedirectPort: port, RedirectPath: "/callback"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var link string
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfg.SignInBrowser(ctx, auth.SignInOptions{NoBrowser: true, Progress: func(p auth.Prompt) { link = p.URL; cancel() }})
	}()
	<-done
	if !strings.Contains(link, "redirect_uri=http%3A%2F%2Flocalhost%3A"+strconv.Itoa(port)+"%2Fcallback") {
		t.Fatalf("link %s does not carry the fixed callback", link)
	}
}
