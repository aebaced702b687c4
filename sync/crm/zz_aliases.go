package crm

// Temporary aliases while the vocabulary moves to sync/api (go fix -inline).

import "github.com/inboxsync/inboxsync/sync/api"

//go:fix inline
type ConnState = api.ConnState

//go:fix inline
type Status = api.CRMStatus

//go:fix inline
type State = api.CRMState

//go:fix inline
const ConnNotConnected = api.ConnNotConnected

//go:fix inline
const ConnConnected = api.ConnConnected

//go:fix inline
const ConnLogging = api.ConnLogging

//go:fix inline
const ConnThrottled = api.ConnThrottled

//go:fix inline
const ConnNeedsReactivation = api.ConnNeedsReactivation

//go:fix inline
const ConnFailed = api.ConnFailed

//go:fix inline
const Pending = api.CRMPending

//go:fix inline
const Logged = api.CRMLogged

//go:fix inline
const Skipped = api.CRMSkipped

//go:fix inline
const Failed = api.CRMFailed

//go:fix inline
const ObjContact = api.ObjContact

//go:fix inline
const ObjLead = api.ObjLead

//go:fix inline
const ObjEmailMessage = api.ObjEmailMessage

//go:fix inline
const ObjRelation = api.ObjRelation

//go:fix inline
const ObjTask = api.ObjTask

//go:fix inline
const ObjEvent = api.ObjEvent

//go:fix inline
const AsEmailMessage = api.AsEmailMessage

//go:fix inline
const AsTask = api.AsTask
