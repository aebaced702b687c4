package engine

import (
	"context"

	"github.com/inboxsync/inboxsync/sync/api"
)

// This file holds the values the engine exchanges with its clients (the
// tray, the windows and the CLI, through sync/control). None of them may
// carry a secret, except ActivationRequest.Password on its way in.

// NoticeTester sends test notices (sync/notices.Service in the agent).
type NoticeTester interface {
	Test(ctx context.Context) ([]api.NoticeDelivery, error)
}
