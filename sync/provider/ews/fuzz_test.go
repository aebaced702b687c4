package ews

import (
	"net/http"
	"strings"
	"testing"

	"github.com/inboxsync/inboxsync/sync/api"
	"github.com/inboxsync/inboxsync/sync/provider"
)

// Seeds in the shapes of Microsoft's published EWS examples.
var fuzzSeeds = []string{
	`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0CIBgEyTYkEAQ7MGIzeaS7B1pRyMpqyqBymVWZV1mFkDM7Z28995777333nvvvfe6O51OJ/ff/z9cZmQBbPbOStrJniGAqsgfP358Hz8ip8ge0rr/i/EtT37Ji/dd/rvz7+6mW/6/sX39m/+21tFEenfrr0a1+r1w4fRW7tuWx9qNXe+pdqLbTqNJhkIHgn3/6S97/f+kP8H</m:SyncState><m:IncludesLastItemInRange>false</m:IncludesLastItemInRange><m:Changes><t:Create><t:Message><t:ItemId Id="AAMkAGI2TG93AAA=" ChangeKey="CQAAABYAAAA"/><t:ItemClass>IPM.Note</t:ItemClass><t:DateTimeReceived>2026-11-20T10:00:00Z</t:DateTimeReceived></t:Message></t:Create><t:Update><t:CalendarItem><t:ItemId Id="AAMkAGI2TG94AAA=" ChangeKey="DwAAABYAAAA"/><t:Start>2026-11-21T10:00:00Z</t:Start><t:End>2026-11-21T11:00:00Z</t:End></t:CalendarItem></t:Update><t:Delete><t:ItemId Id="AAMkAGI2TG95AAA=" ChangeKey="CQAAABYAAAA"/></t:Delete><t:ReadFlagChange><t:ItemId Id="AAMkAGI2TG96AAA="/><t:IsRead>true</t:IsRead></t:ReadFlagChange></m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>`,
	`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="AAMkAGI2TG93AAA=" ChangeKey="CQAAABYAAAA"/><t:Subject>Quarterly</t:Subject><t:Body BodyType="Text">Hello   there</t:Body><t:DateTimeReceived>2026-11-20T10:00:00Z</t:DateTimeReceived><t:ConversationId Id="AAQkAGI2"/><t:ToRecipients><t:Mailbox><t:Name>Ann</t:Name><t:EmailAddress>ann@contoso.com</t:EmailAddress></t:Mailbox></t:ToRecipients><t:From><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox></t:From><t:InternetMessageId>&lt;1@contoso.com&gt;</t:InternetMessageId></t:Message></m:Items></m:GetItemResponseMessage><m:GetItemResponseMessage ResponseClass="Error"><m:MessageText>The specified object was not found in the store.</m:MessageText><m:ResponseCode>ErrorItemNotFound</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`,
	`<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">297749</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`,
	`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SyncFolderItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Error"><m:MessageText>Synchronization state data is corrupt or otherwise invalid.</m:MessageText><m:ResponseCode>ErrorInvalidSyncStateData</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse></s:Body></s:Envelope>`,
	`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:ResolveNamesResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:ResolveNamesResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:ResolutionSet TotalItemsInView="1" IncludesLastItemInRange="true"><t:Resolution><t:Mailbox><t:Name>Ann</t:Name><t:EmailAddress>ann@contoso.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Resolution></m:ResolutionSet></m:ResolveNamesResponseMessage></m:ResponseMessages></m:ResolveNamesResponse></s:Body></s:Envelope>`,
	``,
	`<s:Envelope><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><detail><t:MessageXml><t:Value Name="BackOffMilliseconds">-5</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`,
}

// FuzzParseEnvelope feeds arbitrary bytes through everything that reads a
// server's answer: the envelope, faults, response codes, item conversion
// and the Autodiscover parsers. None of it may panic. Run it locally with
//
//	go test -run '^$' -fuzz FuzzParseEnvelope -fuzztime 30s ./sync/provider/ews/
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseGetUserSettings(data)
		parsePOX(data)
		env, err := parseEnvelope(data)
		if err != nil {
			return
		}
		c := newClient("https://mail.contoso.test/EWS/Exchange.asmx", "a", "secret-pw", AuthNTLM, http.DefaultTransport)
		for _, status := range []int{200, 500, 503} {
			resp := &http.Response{StatusCode: status, Header: http.Header{}}
			if _, err := c.interpret(resp, data); err != nil {
				if strings.Contains(err.Error(), "secret-pw") {
					t.Fatal("an error holds the password")
				}
				if provider.Classify(err) == provider.ClassThrottled && provider.RetryAfter(err) <= 0 {
					t.Fatalf("throttled without a wait: %v", err)
				}
			}
		}
		if f := env.Body.Fault; f != nil {
			faultError(f, 500)
		}
		if s := env.Body.Sync; s != nil {
			for _, m := range s.Messages {
				codeError(m.Code, m.Text, m.MessageXML, 200)
				for _, ch := range m.Changes.List {
					for i := range ch.Items {
						toItem(api.Inbox, &ch.Items[i])
						toItem(api.Calendar, &ch.Items[i])
					}
				}
			}
		}
		if g := env.Body.GetItem; g != nil {
			for _, m := range g.Messages {
				for i := range m.Items.List {
					it := toItem(api.Sent, &m.Items.List[i])
					if len([]rune(it.Preview)) > previewLength+1 {
						t.Fatalf("preview of %d runes", len([]rune(it.Preview)))
					}
				}
			}
		}
	})
}
