package main

// `account add gmail` says that this build cannot connect Gmail yet; the
// Gmail connector's wiring replaces this with its flags.
func init() {
	addProviders["gmail"] = addProvider{
		unavailable: "Gmail is not available in this build yet: Inbox Sync can connect Microsoft\n" +
			"Exchange (`inboxsync account add exchange`) and Office 365\n" +
			"(`inboxsync account add office365`).",
	}
}
