package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/inboxsync/inboxsync/sync/api"
)

// SettingCRMMap is the organisation setting holding the admin's mailbox →
// Salesforce username overrides, a JSON object keyed by lowercased
// address.
const SettingCRMMap = "crm.map"

// SetCRMMapping makes the mailbox address log as the Salesforce user
// username, whatever user has its address; an empty username removes the
// override. It changes one entry atomically (two admins mapping at once
// both keep theirs). The mailbox need not be added yet.
func (s *Store) SetCRMMapping(ctx context.Context, address, username string) error {
	a, err := checkAddress(address)
	if err != nil {
		return err
	}
	username = strings.TrimSpace(username)
	if len(username) > 80 {
		return fmt.Errorf("%w: %q is longer than a Salesforce username (80 characters)", api.ErrInvalid, username)
	}
	if username == "" {
		_, err = s.pool.Exec(ctx, `UPDATE settings SET value = (value::jsonb - $2::text)::text, updated_at = now() WHERE key = $1`, SettingCRMMap, a)
	} else {
		_, err = s.pool.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ($1, jsonb_build_object($2::text, $3::text)::text, now())
			ON CONFLICT (key) DO UPDATE SET value = (settings.value::jsonb || jsonb_build_object($2::text, $3::text))::text, updated_at = now()`,
			SettingCRMMap, a, username)
	}
	if err != nil {
		return fmt.Errorf("saving the Salesforce user of %s: %w", a, err)
	}
	return nil
}

// CRMMap returns the admin's overrides: lowercased address → Salesforce
// username.
func (s *Store) CRMMap(ctx context.Context) (map[string]string, error) {
	v, ok, err := s.Setting(ctx, SettingCRMMap)
	if err != nil || !ok {
		return map[string]string{}, err
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return nil, fmt.Errorf("reading the organisation setting %s: %w", SettingCRMMap, err)
	}
	return m, nil
}
