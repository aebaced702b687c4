package ewstest

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/Azure/go-ntlmssp"
)

func TestMD4Vectors(t *testing.T) {
	for in, want := range map[string]string{
		"":    "31d6cfe0d16ae931b73c59d7e0c089c0",
		"abc": "a448017aaf21d8525fc10ae87aa6729d",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890": "e33b4ddc9c38f2199c3e7b164fcc0536",
	} {
		if got := md4Sum([]byte(in)); hex.EncodeToString(got[:]) != want {
			t.Errorf("MD4(%q) = %x, want %s", in, got, want)
		}
	}
}

func TestNTLMv2Verification(t *testing.T) {
	var sc [8]byte
	copy(sc[:], "chal1234")
	challenge := challengeMessage(sc, "CONTOSO", "EXCH01", time.Now())
	for _, login := range []string{`CONTOSO\ann`, "ann@contoso.test"} {
		msg, err := ntlmssp.NewAuthenticateMessage(challenge, login, "S3cret!", nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseAuthenticate(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !verifyNTLMv2(m, "S3cret!", sc) {
			t.Errorf("%s: the right password was refused", login)
		}
		if verifyNTLMv2(m, "s3cret!", sc) {
			t.Errorf("%s: a wrong password was accepted", login)
		}
		other := sc
		other[0] ^= 1
		if verifyNTLMv2(m, "S3cret!", other) {
			t.Errorf("%s: a response to another challenge was accepted", login)
		}
	}
	if _, err := parseAuthenticate([]byte("NTLMSSP\x00\x03\x00\x00\x00short")); err == nil {
		t.Error("a truncated message was parsed")
	}
}
