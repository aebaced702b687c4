package api

// IndexProgress is how far the search index has come.
type IndexProgress struct {
	// Done counts the items the index build has indexed since the index
	// was added to the store; Left counts the items waiting for it.
	Done int `json:"done"`
	Left int `json:"left"`
}

// Ready reports whether every item is in the index.
func (p IndexProgress) Ready() bool { return p.Left == 0 }

// SearchHelp describes the search syntax in words, for --help and the
// README.
const SearchHelp = `Search finds items whose subject, sender, recipients, preview, location,
organizer or attendees contain what you type, ignoring the case of a-z:
  budget q3           both words, anywhere (each at least 3 characters, or
                      next to a longer one: "q3" alone is too short)
  "price list"        the words together, as written
  -draft              leave out items that contain "draft"
  from:alice          in the sender (or a meeting's organizer)
  to:bob              in the recipients, Cc or attendees
  subject:"q3 plan"   in the subject
Results are newest first.`

// MinSearchLen is the fewest characters a search word is looked up in the
// index with. A search needs at least one such word; shorter words only
// narrow what the longer ones found.
const MinSearchLen = 3
