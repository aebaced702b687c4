package ews

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// XML namespaces of EWS (MS-OXWSCORE) and SOAP 1.1.
const (
	nsSOAP     = "http://schemas.xmlsoap.org/soap/envelope/"
	nsTypes    = "http://schemas.microsoft.com/exchange/services/2006/types"
	nsMessages = "http://schemas.microsoft.com/exchange/services/2006/messages"
)

// serverVersion is the schema version requested. Exchange 2013 is the
// oldest on-premises release still in use that knows MaximumBodySize; every
// later release (2016, 2019, SE) accepts it.
const serverVersion = "Exchange2013"

// Response codes the provider branches on.
const (
	codeNoError              = "NoError"
	codeServerBusy           = "ErrorServerBusy"
	codeInvalidSyncStateData = "ErrorInvalidSyncStateData"
	codeItemNotFound         = "ErrorItemNotFound"
	codeNameNoResults        = "ErrorNameResolutionNoResults"
	codeNameMultipleResults  = "ErrorNameResolutionMultipleResults"
)

// envelope wraps a request body in a SOAP envelope.
func envelope(body string) []byte {
	var b bytes.Buffer
	b.Grow(len(body) + 512)
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>`)
	b.WriteString(`<soap:Envelope xmlns:soap="` + nsSOAP + `" xmlns:t="` + nsTypes + `" xmlns:m="` + nsMessages + `">`)
	b.WriteString(`<soap:Header><t:RequestServerVersion Version="` + serverVersion + `"/></soap:Header>`)
	b.WriteString(`<soap:Body>`)
	b.WriteString(body)
	b.WriteString(`</soap:Body></soap:Envelope>`)
	return b.Bytes()
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func fieldURIs(b *strings.Builder, uris ...string) {
	for _, u := range uris {
		b.WriteString(`<t:FieldURI FieldURI="` + u + `"/>`)
	}
}

// syncFolderItemsRequest asks for the changes in a distinguished folder
// after syncState ("" for the first call). The shape carries only what the
// provider needs to filter before GetItem: the item class, the received
// time and, for calendars, start and end.
func syncFolderItemsRequest(folderID, syncState string, max int, calendar bool) []byte {
	var b strings.Builder
	b.WriteString(`<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>`)
	fieldURIs(&b, "item:ItemClass", "item:DateTimeReceived")
	if calendar {
		fieldURIs(&b, "calendar:Start", "calendar:End")
	}
	b.WriteString(`</t:AdditionalProperties></m:ItemShape>`)
	b.WriteString(`<m:SyncFolderId><t:DistinguishedFolderId Id="` + esc(folderID) + `"/></m:SyncFolderId>`)
	if syncState != "" {
		b.WriteString(`<m:SyncState>` + esc(syncState) + `</m:SyncState>`)
	}
	b.WriteString(`<m:MaxChangesReturned>` + strconv.Itoa(max) + `</m:MaxChangesReturned>`)
	b.WriteString(`<m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>`)
	return envelope(b.String())
}

// getItemRequest asks for the fields the store keeps of ids. The body comes
// as text, cut by the server to 1 KB (MaximumBodySize), for the preview.
// Sensitivity, Categories and ConversationId are what the CRM rules read
// (issue 20); they are item properties of every item type.
func getItemRequest(ids []string, calendar bool) []byte {
	var b strings.Builder
	b.WriteString(`<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>Text</t:BodyType>`)
	b.WriteString(`<t:MaximumBodySize>1</t:MaximumBodySize><t:AdditionalProperties>`)
	fieldURIs(&b, "item:Subject", "item:ItemClass", "item:DateTimeReceived", "item:DateTimeSent", "item:ConversationId", "item:Body",
		"item:Sensitivity", "item:Categories")
	if calendar {
		fieldURIs(&b, "calendar:Start", "calendar:End", "calendar:Location", "calendar:Organizer",
			"calendar:RequiredAttendees", "calendar:OptionalAttendees")
	} else {
		fieldURIs(&b, "message:InternetMessageId", "message:From", "message:ToRecipients", "message:CcRecipients")
	}
	b.WriteString(`</t:AdditionalProperties></m:ItemShape><m:ItemIds>`)
	for _, id := range ids {
		b.WriteString(`<t:ItemId Id="` + esc(id) + `"/>`)
	}
	b.WriteString(`</m:ItemIds></m:GetItem>`)
	return envelope(b.String())
}

// resolveNamesRequest resolves entry (a login or an address) against the
// directory; the answer carries the mailbox's primary SMTP address.
func resolveNamesRequest(entry string) []byte {
	return envelope(`<m:ResolveNames ReturnFullContactData="false" SearchScope="ActiveDirectory">` +
		`<m:UnresolvedEntry>` + esc(entry) + `</m:UnresolvedEntry></m:ResolveNames>`)
}

// The response shapes. encoding/xml matches on local names when a tag has
// no namespace, which is what we want: servers use differing prefixes.

type soapEnvelope struct {
	Body soapBody `xml:"Body"`
}

type soapBody struct {
	Fault        *soapFault       `xml:"Fault"`
	Sync         *syncResponse    `xml:"SyncFolderItemsResponse"`
	GetItem      *getItemResponse `xml:"GetItemResponse"`
	ResolveNames *resolveResponse `xml:"ResolveNamesResponse"`
}

type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		ResponseCode string     `xml:"ResponseCode"`
		Message      string     `xml:"Message"`
		MessageXML   messageXML `xml:"MessageXml"`
	} `xml:"detail"`
}

type messageXML struct {
	Values []struct {
		Name  string `xml:"Name,attr"`
		Value string `xml:",chardata"`
	} `xml:"Value"`
}

// backOff returns the BackOffMilliseconds value, or 0.
func (m messageXML) backOff() time.Duration {
	for _, v := range m.Values {
		if v.Name == "BackOffMilliseconds" {
			if n, err := strconv.ParseInt(strings.TrimSpace(v.Value), 10, 64); err == nil && n > 0 {
				return time.Duration(n) * time.Millisecond
			}
		}
	}
	return 0
}

type responseMessage struct {
	Class      string     `xml:"ResponseClass,attr"`
	Text       string     `xml:"MessageText"`
	Code       string     `xml:"ResponseCode"`
	MessageXML messageXML `xml:"MessageXml"`
}

type syncResponse struct {
	Messages []syncMessage `xml:"ResponseMessages>SyncFolderItemsResponseMessage"`
}

type syncMessage struct {
	responseMessage
	SyncState               string `xml:"SyncState"`
	IncludesLastItemInRange bool   `xml:"IncludesLastItemInRange"`
	Changes                 struct {
		List []syncChange `xml:",any"`
	} `xml:"Changes"`
}

// syncChange is a Create, Update, Delete or ReadFlagChange. Create and
// Update hold one item element (Message, CalendarItem, MeetingRequest …);
// Delete and ReadFlagChange hold an ItemId.
type syncChange struct {
	XMLName xml.Name
	ItemID  *itemID   `xml:"ItemId"`
	Items   []ewsItem `xml:",any"`
}

type itemID struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

type mailbox struct {
	Name    string `xml:"Name"`
	Address string `xml:"EmailAddress"`
}

// String formats a mailbox as "Name <address>", or whichever is known.
func (m mailbox) String() string {
	name, addr := strings.TrimSpace(m.Name), strings.TrimSpace(m.Address)
	switch {
	case addr == "":
		return name
	case name == "" || strings.EqualFold(name, addr):
		return addr
	}
	return name + " <" + addr + ">"
}

type ewsItem struct {
	XMLName           xml.Name
	ItemID            itemID    `xml:"ItemId"`
	ItemClass         string    `xml:"ItemClass"`
	Subject           string    `xml:"Subject"`
	DateTimeReceived  string    `xml:"DateTimeReceived"`
	DateTimeSent      string    `xml:"DateTimeSent"`
	Body              string    `xml:"Body"`
	InternetMessageID string    `xml:"InternetMessageId"`
	ConversationID    itemID    `xml:"ConversationId"`
	Sensitivity       string    `xml:"Sensitivity"`
	Categories        []string  `xml:"Categories>String"`
	From              mailbox   `xml:"From>Mailbox"`
	To                []mailbox `xml:"ToRecipients>Mailbox"`
	Cc                []mailbox `xml:"CcRecipients>Mailbox"`
	Start             string    `xml:"Start"`
	End               string    `xml:"End"`
	Location          string    `xml:"Location"`
	Organizer         mailbox   `xml:"Organizer>Mailbox"`
	Required          []mailbox `xml:"RequiredAttendees>Attendee>Mailbox"`
	Optional          []mailbox `xml:"OptionalAttendees>Attendee>Mailbox"`
}

type getItemResponse struct {
	Messages []getItemMessage `xml:"ResponseMessages>GetItemResponseMessage"`
}

type getItemMessage struct {
	responseMessage
	Items struct {
		List []ewsItem `xml:",any"`
	} `xml:"Items"`
}

type resolveResponse struct {
	Messages []resolveMessage `xml:"ResponseMessages>ResolveNamesResponseMessage"`
}

type resolveMessage struct {
	responseMessage
	Resolutions []struct {
		Mailbox struct {
			Name        string `xml:"Name"`
			Address     string `xml:"EmailAddress"`
			RoutingType string `xml:"RoutingType"`
		} `xml:"Mailbox"`
	} `xml:"ResolutionSet>Resolution"`
}

// errMalformed is returned for a response that is not the SOAP we expect.
var errMalformed = errors.New("the Exchange server's answer could not be read")

// parseEnvelope decodes a SOAP response. It never panics on any input (see
// FuzzParseEnvelope).
func parseEnvelope(data []byte) (*soapEnvelope, error) {
	var env soapEnvelope
	if err := xml.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	return &env, nil
}

// parseTime reads an xs:dateTime; EWS answers in UTC with a Z.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Some servers leave out the zone: the value is UTC then.
		if t, err = time.Parse("2006-01-02T15:04:05", s); err != nil {
			return time.Time{}
		}
	}
	return t.UTC()
}

// preview makes a short single-line preview of a text body.
func preview(body string, max int) string {
	f := strings.Fields(body)
	var b strings.Builder
	for _, w := range f {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		if b.Len() >= max {
			break
		}
	}
	s := b.String()
	if len(s) <= max {
		return s
	}
	// Cut at a rune boundary.
	r := []rune(s)
	if len(r) > max {
		r = r[:max]
	}
	return strings.TrimSpace(string(r)) + "…"
}
