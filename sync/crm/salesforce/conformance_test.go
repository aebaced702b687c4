package salesforce_test

import (
	"testing"

	"github.com/inboxsync/inboxsync/sync/crm/crmtest"
	"github.com/inboxsync/inboxsync/sync/crm/salesforce/sftest"
)

func TestRecorderConformance(t *testing.T) {
	crmtest.Run(t, func(t *testing.T) crmtest.Env {
		e := newEnv(t, sftest.Options{}, nil)
		return crmtest.Env{Recorder: e.connect(t), Backend: e.sf}
	})
}
