package gmail

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// The CRM rules (issue 20) read a message's user labels by name ("Private",
// "Salesforce"): api.Item.Categories. A message carries label ids
// ("Label_12"); users.labels.list, which the gmail.metadata scope allows,
// names them. The list is read once per session, and only when a message
// of the session carries a label that is not a system label: a mailbox
// without user labels costs no request. Close forgets it, so a label
// renamed is named anew next session; a label id the list does not know
// (a label created during the session) reads the list once more.

// systemLabel reports whether id is one of Gmail's system labels (INBOX,
// SENT, UNREAD, IMPORTANT, STARRED, CATEGORY_SOCIAL, …), which are folders
// and flags rather than the user's categories. User labels have ids of
// their own ("Label_12").
func systemLabel(id string) bool {
	switch id {
	case "INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT", "CHAT":
		return true
	}
	return strings.HasPrefix(id, "CATEGORY_")
}

// gmailLabel is one label of users.labels.list (which gives only id, name,
// type and the two visibilities).
type gmailLabel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"` // "system" or "user"
}

// parseLabels decodes users.labels.list into the names of the labels by
// id; system labels map to "".
func parseLabels(body []byte) (map[string]string, error) {
	var l struct {
		Labels []gmailLabel `json:"labels"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("reading the Gmail label list: %w", err)
	}
	names := make(map[string]string, len(l.Labels))
	for _, lb := range l.Labels {
		if lb.ID == "" {
			continue
		}
		name := lb.Name
		if lb.Type != "user" {
			name = ""
		}
		names[lb.ID] = name
	}
	return names, nil
}

// labelNames returns the names of the labels of msgs (nil entries are
// skipped) by id, reading users.labels.list when a message carries a
// label the session has not named yet. It returns nil when no message
// carries a label other than a system label.
func (p *Provider) labelNames(ctx context.Context, msgs []*message) (map[string]string, error) {
	p.labelsMu.Lock()
	defer p.labelsMu.Unlock()
	need, unknown := false, false
	for _, m := range msgs {
		if m == nil {
			continue
		}
		for _, id := range m.LabelIDs {
			if systemLabel(id) {
				continue
			}
			need = true
			if _, ok := p.labels[id]; !ok {
				unknown = true
			}
		}
	}
	if !need || !unknown || (p.labels != nil && p.relisted) {
		return p.labels, nil
	}
	body, err := p.get(ctx, p.gmail+"/users/me/labels", 1, callLabels)
	if err != nil {
		return nil, err
	}
	names, err := parseLabels(body)
	if err != nil {
		return nil, err
	}
	if p.labels != nil {
		p.relisted = true
	}
	p.labels = names
	return names, nil
}

// forgetLabels drops the session's label names (Close).
func (p *Provider) forgetLabels() {
	p.labelsMu.Lock()
	p.labels, p.relisted = nil, false
	p.labelsMu.Unlock()
}

// categories returns the names of the user labels among ids, in their
// order; a label the list does not name is left out.
func categories(ids []string, names map[string]string) []string {
	var out []string
	for _, id := range ids {
		if systemLabel(id) {
			continue
		}
		if n := names[id]; n != "" {
			out = append(out, n)
		}
	}
	return out
}
