package org

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/inboxsync/inboxsync/sync/api"
)

// TestCRMRulesOf: the defaults without a policy file, the file's
// [salesforce] keys once written, and a change seen at the next call.
func TestCRMRulesOf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.toml")
	rules := CRMRulesOf(path)
	if c := rules(); !c.Threads || c.ByHandOnly || c.Opportunity != api.OppSingleOpen || !slices.Equal(c.KeepOut, api.DefaultKeepOut) {
		t.Fatalf("without a policy: %+v", c)
	}
	if err := os.WriteFile(path, []byte("[salesforce]\nthreads = false\nauto_log = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := rules(); c.Threads || !c.ByHandOnly {
		t.Fatalf("after writing the policy: %+v", c)
	}
	if err := os.WriteFile(path, []byte("[salesforce]\nopportunity = \"off\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, time.Now().Add(time.Minute), time.Now().Add(time.Minute))
	if c := rules(); !c.Threads || c.Opportunity != api.OppOff {
		t.Fatalf("after changing the policy: %+v", c)
	}
}
