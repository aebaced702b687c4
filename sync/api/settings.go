package api

import "time"

// Settings are the user's preferences.
type Settings struct {
	// Interval between syncs (default 30 minutes).
	Interval Duration `json:"interval"`
	// HistoryDays is the first sync's history window (default 30).
	HistoryDays int `json:"history_days"`
	// Folders to sync (default Inbox, Sent, Calendar).
	Folders []Folder `json:"folders"`
	// Notifications turns desktop notifications on or off.
	Notifications bool `json:"notifications"`
	// Sources says where each setting's value comes from ("default",
	// "user", "policy", "locked"), by its policy name (sync_interval,
	// history_days, folders, notifications). The engine fills it in;
	// UpdateSettings ignores it. A "locked" setting cannot be changed.
	Sources map[string]SettingSource `json:"sources,omitempty"`
	// KeepDays is how long items stay in the store (mail by its time,
	// meetings by their end); 0 keeps them all. Default 365.
	KeepDays int `json:"keep_days"`
}

// DefaultSettings are the settings of a new installation.
func DefaultSettings() Settings {
	return Settings{
		Interval:      Duration(30 * time.Minute),
		HistoryDays:   30,
		Folders:       append([]Folder(nil), AllFolders...),
		Notifications: true,
		KeepDays:      365,
	}
}

// NoticeDelivery is the outcome of a test notice for one address: Error
// says in words why it failed, "" when the relay took it.
type NoticeDelivery struct {
	To    string `json:"to"`
	Error string `json:"error,omitempty"`
}

// PauseRequest pauses the whole agent (Account "") or one account, for a
// while (For > 0) or until resumed (For == 0).
type PauseRequest struct {
	Account string   `json:"account,omitempty"`
	For     Duration `json:"for,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as "30m0s".
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText encodes as time.Duration.String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText decodes time.ParseDuration's format.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
