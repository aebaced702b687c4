package provider

import (
	"slices"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
)

// Categories cleans the category (Exchange, Office 365) or label (Gmail)
// names of an item for api.Item.Categories: a line break becomes a space
// (the stores join the names with "\n"), surrounding spaces go, and empty
// names and repeats are dropped; the mailbox's order is kept. It returns
// nil when no name is left.
func Categories(names []string) []string {
	var out []string
	for _, n := range names {
		n = strings.TrimSpace(strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, n))
		if n == "" || slices.Contains(out, n) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// Sensitivity maps a mailbox's sensitivity mark — Graph's enum (normal,
// personal, private, confidential) or EWS's SensitivityChoicesType (Normal,
// Personal, Private, Confidential), in any case — to api.Item.Sensitivity:
// api.SensitivityPersonal, SensitivityPrivate, SensitivityConfidential, or
// "" for normal, none, and any value Inbox Sync does not know.
func Sensitivity(s string) string {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case api.SensitivityPersonal, api.SensitivityPrivate, api.SensitivityConfidential:
		return v
	}
	return ""
}
