package provider

// Temporary aliases while the vocabulary moves to sync/api (go fix -inline).

import "github.com/inboxsync/inboxsync/sync/api"

//go:fix inline
type Folder = api.Folder

//go:fix inline
type Kind = api.Kind

//go:fix inline
type Item = api.Item

//go:fix inline
type ItemIssue = api.ItemIssue

//go:fix inline
type ActivationRequest = api.ActivationRequest

//go:fix inline
type ActivationProgress = api.ActivationProgress

//go:fix inline
const Inbox = api.Inbox

//go:fix inline
const Sent = api.Sent

//go:fix inline
const Calendar = api.Calendar

//go:fix inline
const Mail = api.KindMail

//go:fix inline
const Event = api.KindEvent

var AllFolders = api.AllFolders

var ErrInvalid = api.ErrInvalid
