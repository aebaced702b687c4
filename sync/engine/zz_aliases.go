package engine

// Temporary aliases while the vocabulary moves to sync/api (go fix -inline).

import "github.com/inboxsync/inboxsync/sync/api"

//go:fix inline
type State = api.State

//go:fix inline
type Status = api.Status

//go:fix inline
type AccountStatus = api.AccountStatus

//go:fix inline
type Progress = api.Progress

//go:fix inline
type EventType = api.EventType

//go:fix inline
type Event = api.Event

//go:fix inline
type WindowRequest = api.WindowRequest

//go:fix inline
type Settings = api.Settings

//go:fix inline
type PauseRequest = api.PauseRequest

//go:fix inline
type Duration = api.Duration

//go:fix inline
type NoticeDelivery = api.NoticeDelivery

//go:fix inline
type MailboxMismatchError = api.MailboxMismatchError

//go:fix inline
type TooSoonError = api.TooSoonError

//go:fix inline
type CRMSettings = api.CRMSettings

//go:fix inline
type CRMConnectRequest = api.CRMConnectRequest

//go:fix inline
const NotActivated = api.NotActivated

//go:fix inline
const Idle = api.Idle

//go:fix inline
const Syncing = api.Syncing

//go:fix inline
const Paused = api.Paused

//go:fix inline
const Offline = api.Offline

//go:fix inline
const Throttled = api.Throttled

//go:fix inline
const NeedsReactivation = api.NeedsReactivation

//go:fix inline
const Suspended = api.Suspended

//go:fix inline
const EventState = api.EventState

//go:fix inline
const EventSessionStarted = api.EventSessionStarted

//go:fix inline
const EventSessionProgress = api.EventSessionProgress

//go:fix inline
const EventSessionEnded = api.EventSessionEnded

//go:fix inline
const EventAccounts = api.EventAccounts

//go:fix inline
const EventPause = api.EventPause

//go:fix inline
const EventSettings = api.EventSettings

//go:fix inline
const EventOpenWindow = api.EventOpenWindow

//go:fix inline
const EventNotice = api.EventNotice

//go:fix inline
const EventCRM = api.EventCRM

//go:fix inline
const WindowCRMConnect = api.WindowCRMConnect

//go:fix inline
const CRMSalesforce = api.CRMSalesforce

//go:fix inline
const MaxRejections = api.MaxRejections

//go:fix inline
const MaxFailures = api.MaxFailures

var ErrUnknownAccount = api.ErrUnknownAccount

var ErrInvalid = api.ErrInvalid

var ErrUnsupported = api.ErrUnsupported

var ErrTooSoon = api.ErrTooSoon

var ErrNotRunning = api.ErrNotRunning

var ErrMailboxMismatch = api.ErrMailboxMismatch

var ErrLocked = api.ErrLocked

//go:fix inline
func ParseState(name string) (api.State, error) { return api.ParseState(name) }

//go:fix inline
func DefaultSettings() api.Settings { return api.DefaultSettings() }

//go:fix inline
func ProviderWords(p string) string { return api.ProviderWords(p) }
