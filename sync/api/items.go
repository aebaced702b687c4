package api

import "time"

// Counts are what a page or a session changed.
type Counts struct {
	// Added counts items stored for the first time.
	Added int `json:"added"`
	// Updated counts items whose content changed, or that came back after
	// being marked deleted.
	Updated int `json:"updated"`
	// Removed counts items marked deleted.
	Removed int `json:"removed"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Added += o.Added
	c.Updated += o.Updated
	c.Removed += o.Removed
}

// StoredItem is an item as the store holds it.
type StoredItem struct {
	Item
	// Account is the ID of the account the item belongs to.
	Account string `json:"account"`
	// Deleted is true once the mailbox reported the item removed.
	Deleted bool `json:"deleted"`
	// FirstSeen is when the item was first stored.
	FirstSeen time.Time `json:"first_seen"`
	// UpdatedAt is when the item was last changed or marked deleted.
	UpdatedAt time.Time `json:"updated_at"`
	// CRM is the item's CRM state; nil when it has none (no CRM
	// connection, or synced before it and outside its history window).
	CRM *CRMItem `json:"crm,omitempty"`
}
