package api

import "time"

// ItemsQuery selects stored items in the order they were stored, a page
// at a time, for an export. It travels over the control socket as JSON.
type ItemsQuery struct {
	// Account limits the items to one account; "" means all.
	Account string `json:"account,omitempty"`
	// Since and Until, if not zero, keep the items whose Time is at or
	// after Since and before Until.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Folders, if not empty, keeps the items of these folders.
	Folders []Folder `json:"folders,omitempty"`
	// Kind, if set, keeps the items of this kind (mail or event).
	Kind Kind `json:"kind,omitempty"`
	// After is the page's start: ItemsPage.Next of the page before (0 for
	// the first).
	After int64 `json:"after,omitempty"`
	// Limit is the most items of the page; 0 (or less) means
	// DefaultItemsLimit, and at most MaxItemsLimit.
	Limit int `json:"limit,omitempty"`
}

// ItemsPage is a page of Items.
type ItemsPage struct {
	Items []StoredItem `json:"items"`
	// Next is the After of the next page; 0 when this page is the last.
	Next int64 `json:"next,omitempty"`
}

// Page sizes of Items.
const (
	DefaultItemsLimit = 1000
	MaxItemsLimit     = 5000
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatICS  = "ics"
)

// ExportFormats lists the formats Export writes.
var ExportFormats = []string{FormatCSV, FormatJSON, FormatICS}

// CSVColumns are the columns of a CSV export, in order. Times are RFC 3339
// in UTC, empty when unknown; lists of addresses are joined with "; ".
var CSVColumns = []string{"account", "folder", "kind", "time", "from", "to", "cc", "subject", "preview",
	"start", "end", "location", "organizer", "attendees", "message_id", "conversation_id", "provider_id",
	"first_seen", "updated_at"}

// ExportRequest asks for the items Query selects (its After and Limit are
// ignored: every page is written) to be written to the file Path in
// Format. The agent writes the file itself, next to Path and renamed into
// place once complete, so a failed export leaves no half file and a
// window never opens the store.
type ExportRequest struct {
	Query ItemsQuery `json:"query"`
	// Format is FormatCSV, FormatJSON or FormatICS.
	Format string `json:"format"`
	// Path is the file to write, an absolute path; a file already there is
	// replaced once the export is complete.
	Path string `json:"path"`
}

// ExportProgress says how far an export has come.
type ExportProgress struct {
	// Items counts the items written so far.
	Items int `json:"items"`
}
