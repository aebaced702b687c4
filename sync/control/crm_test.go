package control

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// The CRM methods cross the socket with their parameters, results, errors
// and, for crm-connect, the sign-in's progress; a client that stops
// waiting for crm-sync cancels it.
func TestCRMMethods(t *testing.T) {
	want := api.CRMStatus{State: api.ConnLogging, Instance: "https://acme.my.salesforce.com", User: "005x", APIUsed: 12, APILimit: 15000,
		Counts: map[api.CRMState]int{api.CRMLogged: 3, api.CRMSkipped: 1}, Requests: 4, LastRun: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	settings := api.CRMSettings{LoginURL: "https://test.salesforce.com", InternalDomains: []string{"partner.example"},
		Blocklist: []string{}, LogEmailAs: api.AsTask, RemoveDeletedEvents: true, Budget: 0.8,
		// The CRM rules, an empty list ("none") included.
		KeepOut: []string{"Private", "Don't log"}, LogByHand: []string{}, Auto: true, Threads: true, Opportunity: api.OppMostRecent, CreateLeads: true}
	var (
		gotConnect api.CRMConnectRequest
		gotWait    []bool
		cancelled  = make(chan error, 1)
		gotUpdate  api.CRMSettings
	)
	f := &fake{
		crmConnect: func(ctx context.Context, req api.CRMConnectRequest, progress func(api.ActivationProgress)) (api.CRMStatus, error) {
			gotConnect = req
			progress(api.ActivationProgress{Message: "Finish signing in to Salesforce in your browser", URL: "https://login.salesforce.com/x"})
			if req.ClientID == "" {
				return api.CRMStatus{}, provider.Failed("Your Salesforce administrator must install the Inbox Sync app in your org", nil)
			}
			return want, nil
		},
		crmStatus: func(context.Context) (api.CRMStatus, error) { return want, nil },
		crmSync: func(ctx context.Context, wait bool) (api.CRMStatus, error) {
			gotWait = append(gotWait, wait)
			if wait {
				<-ctx.Done()
				cancelled <- ctx.Err()
				return api.CRMStatus{}, ctx.Err()
			}
			return api.CRMStatus{}, errors.Join(api.ErrInvalid, errors.New("no CRM is connected"))
		},
		crmDisconnect: func(context.Context) error { return nil },
		crmSettings:   func(context.Context) (api.CRMSettings, error) { return settings, nil },
		updateCRM: func(_ context.Context, s api.CRMSettings) (api.CRMSettings, error) {
			gotUpdate = s
			return s, nil
		},
	}
	a := startAgent(t, f)
	c := dial(t, a.path)
	ctx := context.Background()

	var prompts []api.ActivationProgress
	req := api.CRMConnectRequest{CRM: "salesforce", LoginURL: "https://test.salesforce.com", ClientID: "3MVG", RedirectPort: 1717, NoBrowser: true}
	st, err := c.CRMConnect(ctx, req, func(p api.ActivationProgress) { prompts = append(prompts, p) })
	if err != nil || !reflect.DeepEqual(st, want) || !reflect.DeepEqual(gotConnect, req) || len(prompts) != 1 || prompts[0].URL == "" {
		t.Fatalf("CRMConnect = %+v, %v; request %+v; prompts %+v", st, err, gotConnect, prompts)
	}
	if _, err := c.CRMConnect(ctx, api.CRMConnectRequest{CRM: "salesforce"}, nil); err == nil || err.Error() != "Your Salesforce administrator must install the Inbox Sync app in your org" {
		t.Errorf("CRMConnect's error: %v", err)
	}
	if st, err := c.CRMStatus(ctx); err != nil || !reflect.DeepEqual(st, want) {
		t.Errorf("CRMStatus = %+v, %v", st, err)
	}
	if _, err := c.CRMSync(ctx, false); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("CRMSync's error: %v, want ErrInvalid", err)
	}
	if err := c.CRMDisconnect(ctx); err != nil {
		t.Errorf("CRMDisconnect: %v", err)
	}
	if s, err := c.CRMSettings(ctx); err != nil || !reflect.DeepEqual(s, settings) {
		t.Errorf("CRMSettings = %+v, %v", s, err)
	}
	if s, err := c.UpdateCRMSettings(ctx, settings); err != nil || !reflect.DeepEqual(s, settings) || !reflect.DeepEqual(gotUpdate, settings) {
		t.Errorf("UpdateCRMSettings = %+v, %v (agent got %+v)", s, err, gotUpdate)
	}

	// crm sync --wait, given up by the client.
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := c.CRMSync(wctx, true); err == nil {
		t.Error("a CRMSync given up returned no error")
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("server-side ctx: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent's CRMSync was not cancelled when the client hung up")
	}
	if !reflect.DeepEqual(gotWait, []bool{false, true}) {
		t.Errorf("waits = %v", gotWait)
	}
}
