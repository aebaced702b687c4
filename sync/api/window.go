package api

// WindowCRMConnect is the window that signs in to the CRM ("Sign in to
// Salesforce again" when WindowRequest.Reason says why).
const WindowCRMConnect = "crm-connect"

// WindowRequest asks the agent to show a window.
type WindowRequest struct {
	Window  string `json:"window"` // "dashboard", "activate", "settings", "crm-connect"
	Account string `json:"account,omitempty"`
	Reason  string `json:"reason,omitempty"`
}
