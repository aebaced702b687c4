package store

// Temporary aliases while the vocabulary moves to sync/api (go fix -inline).

import "github.com/inboxsync/inboxsync/sync/api"

//go:fix inline
type Account = api.Account

//go:fix inline
type Counts = api.Counts

//go:fix inline
type Item = api.StoredItem

//go:fix inline
type CRMState = api.CRMItem

//go:fix inline
type Session = api.Session

//go:fix inline
type SessionQuery = api.SessionQuery

//go:fix inline
type Issue = api.Issue

//go:fix inline
type ActivityQuery = api.ActivityQuery

//go:fix inline
type ActivityPage = api.ActivityPage

//go:fix inline
type ItemsQuery = api.ItemsQuery

//go:fix inline
type ItemsPage = api.ItemsPage

//go:fix inline
type IndexProgress = api.IndexProgress

//go:fix inline
const OutcomeRunning = api.OutcomeRunning

//go:fix inline
const OutcomeInterrupted = api.OutcomeInterrupted

//go:fix inline
const DefaultSessionLimit = api.DefaultSessionLimit

//go:fix inline
const DefaultIssueLimit = api.DefaultIssueLimit

//go:fix inline
const TotalCap = api.TotalCap

//go:fix inline
const DefaultActivityLimit = api.DefaultActivityLimit

//go:fix inline
const DefaultItemsLimit = api.DefaultItemsLimit

//go:fix inline
const MaxItemsLimit = api.MaxItemsLimit

//go:fix inline
const FormatCSV = api.FormatCSV

//go:fix inline
const FormatJSON = api.FormatJSON

//go:fix inline
const FormatICS = api.FormatICS

//go:fix inline
const SearchHelp = api.SearchHelp

//go:fix inline
const MinSearchLen = api.MinSearchLen

var ExportFormats = api.ExportFormats

var CSVColumns = api.CSVColumns
