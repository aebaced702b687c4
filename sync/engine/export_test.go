package engine

import (
	"context"

	"github.com/inboxsync/inboxsync/sync/crm/crmlog"
)

// LogConfig is the logger configuration the next CRM run uses.
func (e *Engine) LogConfig(ctx context.Context) crmlog.Config { return e.crm.logConfig(ctx) }
