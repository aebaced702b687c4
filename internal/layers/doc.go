// Package layers states the import rules of Inbox Sync's layers and checks
// them, in its test, against what `go list -deps` says each package links,
// in the release build, the test build (-tags testprovider) and the
// Windows and macOS builds:
//
//   - nothing under sync/ links Fyne, go-gl, systray, ui/… or app: the sync
//     engine and everything below it can run in a host with no desktop;
//   - the window program links no SQLite, keyring, go-mail or systray of
//     its own, and of this module only ui/window, sync/api, sync/control,
//     assets and internal/…: the windows reach the agent through the
//     control API alone;
//   - providers, the store, CRM packages and the sync session link no
//     engine: the engine drives them, never the other way round;
//   - the sync session links no store implementation and no database
//     driver: a host brings its own store through session.Store;
//   - sync/api, the vocabulary every program shares, links only the
//     standard library;
//   - sync/control links nothing of this module but sync/api;
//   - the agent and command line (cmd/inboxsync) link no Fyne, go-gl or
//     ui/window, so every verb starts quickly.
//
// The rules are data (see rules in layers_test.go); each is also shown to
// fail on a graph with one forbidden edge, so none of them passes because
// it cannot see anything.
package layers
