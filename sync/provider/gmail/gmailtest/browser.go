package gmailtest

import "github.com/inboxsync/inboxsync/sync/auth/authtest"

// Browser is the test "browser" of authtest: Open follows an authorization
// link through Google's consent (the emulator's redirect) to the loopback
// listener of the app under test, as a user who signs in and presses
// Continue would.
type Browser = authtest.Browser

// Browser returns a browser that trusts the server's certificate.
func (s *Server) Browser() *Browser { return authtest.NewBrowser(s.Client()) }
