package policy

// Temporary aliases while the vocabulary moves to sync/api (go fix -inline).

import "github.com/inboxsync/inboxsync/sync/api"

//go:fix inline
type Source = api.SettingSource

//go:fix inline
type Problem = api.PolicyProblem

//go:fix inline
type Policy = api.Policy

//go:fix inline
const SourceDefault = api.SourceDefault

//go:fix inline
const SourcePolicy = api.SourcePolicy

//go:fix inline
const SourceUser = api.SourceUser

//go:fix inline
const SourceFlag = api.SourceFlag

//go:fix inline
const SourceLocked = api.SourceLocked

//go:fix inline
const LockedWords = api.LockedWords
