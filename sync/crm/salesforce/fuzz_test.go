package salesforce

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzAnswers feeds the parsers of Salesforce's answers whatever comes:
// they must not panic, and a usage they report must be within the limit's
// bounds as written.
func FuzzAnswers(f *testing.F) {
	f.Add("api-usage=18/5000", `[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`, "2026-11-20T09:30:00.000+0000")
	f.Add("api-usage=25/5000; per-app-api-usage=17/250(appName=x)", `{"message":"x"}`, "2026-11-20T09:30:00Z")
	f.Add("api-usage=/", `[]`, "")
	f.Fuzz(func(t *testing.T, limit, body, when string) {
		h := http.Header{}
		h.Set("Sforce-Limit-Info", limit)
		if used, max, ok := limitInfo(h); ok && (max <= 0 || !strings.Contains(limit, "api-usage=")) {
			t.Fatalf("limitInfo(%q) = %d/%d", limit, used, max)
		}
		e := parseErrors([]byte(body))
		if len(e.Message) > 203 {
			t.Fatalf("message not shortened: %d bytes", len(e.Message))
		}
		sfTime(when)
		for _, l := range inLists([]string{body, when, limit}, 2) {
			if !strings.HasPrefix(l, "(") || !strings.HasSuffix(l, ")") {
				t.Fatalf("IN list %q", l)
			}
		}
	})
}
