package graph

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The seeds of the differential tests: Graph's shapes, and the JSON
// corners the decoder must treat as json.Unmarshal does.
var decodeSeeds = []string{
	`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(message)","@odata.nextLink":"https://graph.microsoft.com/v1.0/me/mailFolders/inbox/messages/delta?$skiptoken=x","value":[{"@odata.type":"#microsoft.graph.message","@odata.etag":"W/\"CQAAABYAAAB0\"","id":"AAMk1","receivedDateTime":"2026-11-20T11:00:00Z","sentDateTime":"2026-11-20T10:59:58Z","subject":"Hi","internetMessageId":"\u003cm1@x.test\u003e","conversationId":"AAQk=","from":{"emailAddress":{"name":"M","address":"m@x.test"}},"toRecipients":[{"emailAddress":{"address":"a@x.test"}},{"emailAddress":{"name":"B"}}],"ccRecipients":[],"bodyPreview":"text"},{"id":"AAMk2","@removed":{"reason":"deleted"}}]}`,
	`{"@odata.deltaLink":"https://graph.microsoft.com/v1.0/x?$deltatoken=y","value":[]}`,
	`{"value":[{"id":"x","receivedDateTime":"nope"},{"subject":"no id"}]}`,
	`{"value":[{"id":"x","from":null,"toRecipients":null,"sentDateTime":"2026-01-01T00:00:00.123+02:00"}]}`,
	`{"value":[null,{"ID":"upper","Subject":"case","FROM":{"EmailAddress":{"ADDRESS":"c@x.test"}}}]}`,
	`{"value":[{"id":"dup","subject":"one","subject":"two","from":{"emailAddress":{"name":"n"}},"from":{"emailAddress":{"address":"a"}}}]}`,
	` {"value" : [ {"id" : "sp" , "subject" : null , "bodyPreview":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00\ud800x\udc00"} ] } `,
	"{\"value\":[{\"id\":\"utf\",\"subject\":\"caf\xc3\xa9 \xff\xfe bad \xe2\x82\"}]}",
	`{"value":[{"id":"n","extra":{"a":[1,-2.5e+3,0,true,false,null,{"b":"c"}],"d":-0.0E1}}]}`,
	`{"value":[{"id":"t","subject":5}]}`,
	`{"value":[{"id":"t","from":"x"}]}`,
	`{"value":{}}`,
	`{"value":[1]}`,
	`null`,
	`[]`,
	``,
	`{"value":[]} x`,
	`{"value":[],}`,
	`{"value":[01]}`,
	`{"value":[{"id":"a\u00"}]}`,
	"{\"value\":[{\"id\":\"ctl\x01\"}]}",
	`{"value":[{"id":"x"}]`,
	`{"value":[{"id":"x","extra":[1,2,]}]}`,
	`{"value":[{"id":"x","extra":-}]}`,
	`{"value":[{"id":"x","extra":1.}]}`,
	`{"value":[{"id":"x","extra":tru}]}`,
	`{"value":[{"id":"e","start":{"dateTime":"2026-11-23T12:00:00.0000000","timeZone":"UTC"},"end":null,"location":{"displayName":"Room"},"organizer":{"emailAddress":{"address":"o@x.test"}},"attendees":[{"type":"required","status":{"response":"none"},"emailAddress":{"name":"A","address":"a@x.test"}},null],"iCalUId":"040000"}]}`,
	`{"value":[{"id":"e","location":null,"attendees":{}}]}`,
}

// decodeBoth decodes s with the decoder and with json.Unmarshal.
func decodeBoth[T any](t *testing.T, s string, read func(d *jsonDecoder, v *T) error) {
	t.Helper()
	var got, want T
	gerr := decodePage([]byte(s), func(d *jsonDecoder) error { return read(d, &got) })
	werr := json.Unmarshal([]byte(s), &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: decoder error %v, json.Unmarshal error %v", s, gerr, werr)
	}
	if gerr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\ndecoder        %+v\njson.Unmarshal %+v", s, got, want)
	}
}

func TestDecodeAsEncodingJSON(t *testing.T) {
	for _, s := range decodeSeeds {
		decodeBoth(t, s, readMailPage)
		decodeBoth(t, strings.ReplaceAll(s, `"value"`, `"Value"`), readMailPage)
		decodeBoth(t, s, readEventPage)
	}
}

func FuzzDecodeAsEncodingJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		decodeBoth(t, s, readMailPage)
		decodeBoth(t, s, readEventPage)
	})
}
