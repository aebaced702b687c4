package auth

import "strings"

// MissingScopes returns the scopes of want that granted (a token answer's
// space-separated scope) lacks, in want's order. Authorization servers that
// let the user untick permissions on the consent screen (Google's granular
// consent) grant fewer scopes than asked for, and say so only there.
func MissingScopes(granted string, want []string) []string {
	have := map[string]bool{}
	for _, s := range strings.Fields(granted) {
		have[s] = true
	}
	var missing []string
	for _, s := range want {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	return missing
}
