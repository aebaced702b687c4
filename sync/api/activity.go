package api

import "time"

// ActivityQuery selects items for Activity. It travels over the control
// socket as JSON.
type ActivityQuery struct {
	// Account limits the items to one account; "" means all accounts.
	Account string `json:"account,omitempty"`
	// Since, if not zero, limits the items to those with Time at or after
	// it.
	Since time.Time `json:"since,omitzero"`
	// Limit is the most items returned; 0 (or less) means 100.
	Limit int `json:"limit,omitempty"`
	// Offset skips that many items of the result, for paging.
	Offset int `json:"offset,omitempty"`
	// Search, if not empty, keeps the items that match it: words, quoted
	// phrases, -exclusions and from:/to:/subject: fields (SearchHelp),
	// case-insensitively, over the subject, sender, recipients, preview,
	// location, organizer and attendees.
	Search string `json:"search,omitempty"`
	// IncludeDeleted includes the items marked deleted.
	IncludeDeleted bool `json:"include_deleted,omitempty"`
}

// ActivityPage is a page of Activity's result.
type ActivityPage struct {
	// Items are the page's items, newest first.
	Items []StoredItem `json:"items"`
	// Offset is the query's Offset.
	Offset int `json:"offset"`
	// Total is the number of items the query selects, counted up to
	// TotalCap; TotalCapped is true when there are more.
	Total       int  `json:"total"`
	TotalCapped bool `json:"total_capped,omitempty"`
}

// TotalCap is the most items Activity counts for ActivityPage.Total:
// counting every match of a common word in a large store would cost more
// than showing them.
const TotalCap = 1000

// DefaultActivityLimit is the number of items Activity returns when the
// query has no Limit.
const DefaultActivityLimit = 100
