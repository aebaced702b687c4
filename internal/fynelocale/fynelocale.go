// Package fynelocale keeps Fyne from printing an error at start-up when the
// locale is C.UTF-8 (the default of many Linux servers, containers and SSH
// sessions).
//
// Fyne's lang package works out the user's language in its init function,
// through github.com/jeandeaual/go-locale, which treats "C" and "POSIX" as
// "no language" but passes "C.UTF-8" on as the language tag "C"; parsing
// that fails and Fyne logs three lines of "Fyne error: Error parsing user
// locale C" to stderr — on every run of every `inboxsync` command, since the
// one binary links Fyne for its windows.
//
// This package's init runs before go-locale's and Fyne's (Go initialises
// ready packages in import-path order, and this path sorts first). When the
// locale variable go-locale reads is C.<charset> or POSIX.<charset>, it sets
// that variable to plain "C" for the rest of initialisation; main calls
// Restore first thing, so the program and every process it starts see the
// environment exactly as it was. Fyne then falls back to English, which is
// what C.UTF-8 means.
package fynelocale

import (
	"os"
	"strings"
)

// held is the variable set to "C" during initialisation and its value.
var held struct {
	name, value string
}

func init() { hold() }

// hold sets the locale variable go-locale reads to "C" when its value is C
// or POSIX with a charset.
func hold() {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := os.Getenv(name)
		if v == "" {
			continue
		}
		if strings.HasPrefix(v, "C.") || strings.HasPrefix(v, "POSIX.") {
			held.name, held.value = name, v
			os.Setenv(name, "C")
		}
		return
	}
}

// Restore puts back the variable set during initialisation, if any. Call it
// first thing in main.
func Restore() {
	if held.name != "" {
		os.Setenv(held.name, held.value)
		held.name, held.value = "", ""
	}
}
