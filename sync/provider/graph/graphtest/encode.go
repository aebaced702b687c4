package graphtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The answers' JSON, written without reflection and outside the server's
// lock, and kept per item until it changes: serving is the emulator's
// main cost, and Microsoft's CPU is not on the worker's machine. The bytes
// are encoding/json's (keys sorted, HTML characters escaped), so that
// answers read the same as before.

// snapshot is what a page needs of an item, copied under s.mu and
// rendered outside it.
type snapshot struct {
	it      item // a copy, without its kept JSON
	removed bool // listed as @removed
	sel     string
	enc     []byte // the JSON; nil until rendered
}

// snapshot copies it as a page of st lists it, with its kept JSON if it
// has not changed since; s.mu is held.
func (s *Server) snapshot(it *item, st state) snapshot {
	sn := snapshot{it: *it, removed: it.deleted || !s.matches(it, st), sel: st.Sel}
	sn.it.enc = nil
	if !sn.removed && it.enc != nil && it.encRev == version(it) && it.encSel == st.Sel {
		sn.enc = it.enc
	}
	return sn
}

// encode renders the item's JSON.
func (sn *snapshot) encode() []byte {
	if sn.removed {
		b, _ := json.Marshal(map[string]any{"@odata.type": "#microsoft.graph." + kind(&sn.it), "id": sn.it.id, "@removed": map[string]string{"reason": reason(&sn.it)}})
		return b
	}
	return renderJSON(make([]byte, 0, 1024), &sn.it, sn.sel)
}

// renderJSON appends the JSON of render(it) with the properties of $select
// sel (see selected), written directly: the same bytes as
// appendValue(b, selected(render(it), sel)) (TestRenderJSON), without the
// maps.
func renderJSON(b []byte, it *item, sel string) []byte {
	if it.msg != nil {
		// Composed by a test: rare, the general way.
		v := render(it)
		if it.folder != Calendar && sel != "" {
			v = selected(v, sel)
		}
		return appendValue(b, v)
	}
	n := int(it.idx)
	etag := strconv.Itoa(version(it))
	sensitivity := it.sensitivity
	if sensitivity == "" {
		sensitivity = "normal"
	}
	keep := func(k string) bool { return true }
	if it.folder != Calendar && sel != "" {
		keep = func(k string) bool { return k == "id" || strings.HasPrefix(k, "@odata.") || keepSelected(k, sel) }
	}
	first := true
	field := func(k string) bool {
		if !keep(k) {
			return false
		}
		if first {
			b = append(b, '{')
			first = false
		} else {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		return true
	}
	addr := func(name, a string) {
		b = append(b, `{"emailAddress":{"address":`...)
		b = appendString(b, a)
		b = append(b, `,"name":`...)
		b = appendString(b, name)
		b = append(b, "}}"...)
	}
	subject := "Quarterly review " + strconv.Itoa(n)
	if it.rev > 0 {
		subject += " (rev " + strconv.Itoa(it.rev) + ")"
	}
	if it.folder == Calendar {
		dt := func(t time.Time) {
			b = append(b, `{"dateTime":`...)
			b = appendString(b, t.UTC().Format("2006-01-02T15:04:05.0000000"))
			b = append(b, `,"timeZone":"UTC"}`...)
		}
		field("@odata.etag")
		b = appendString(b, "W/\"DwAAABYAAAB"+etag+"\"")
		field("@odata.type")
		b = append(b, `"#microsoft.graph.event"`...)
		field("attendees")
		b = append(b, `[{"emailAddress":{"address":"ann@contoso.test","name":"Ann"},"status":{"response":"none"},"type":"required"},{"emailAddress":{"address":"alex@fabrikam.test","name":"Alex"},"status":{"response":"accepted"},"type":"optional"}]`...)
		field("bodyPreview")
		b = append(b, `"Agenda: numbers, plans and next steps."`...)
		field("categories")
		b = appendStrings(b, it.categories)
		field("end")
		dt(it.at.Add(time.Hour))
		field("iCalUId")
		b = appendString(b, fmt.Sprintf("040000008200E00074C5B7101A82E0080000000%07d", n))
		field("id")
		b = appendString(b, it.id)
		field("location")
		b = append(b, `{"displayName":"Conf Room 4"}`...)
		field("organizer")
		addr("Megan Bowen", "megan@contoso.test")
		field("sensitivity")
		b = appendString(b, sensitivity)
		field("start")
		dt(it.at)
		field("subject")
		b = appendString(b, subject)
		return append(b, '}')
	}
	t := it.at.UTC().Format(time.RFC3339)
	if field("@odata.etag") {
		b = appendString(b, "W/\"CQAAABYAAAB"+etag+"\"")
	}
	if field("@odata.type") {
		b = append(b, `"#microsoft.graph.message"`...)
	}
	if field("bodyPreview") {
		b = append(b, `"Hi Ann, please find the figures for this quarter attached. Kind regards, Megan"`...)
	}
	if field("categories") {
		b = appendStrings(b, it.categories)
	}
	if field("ccRecipients") {
		b = append(b, '[')
		addr("Alex Wilber", "alex@fabrikam.test")
		b = append(b, ']')
	}
	if field("conversationId") {
		b = appendString(b, fmt.Sprintf("AAQkAGI2TG93AAA%07d=", n/3))
	}
	if field("from") {
		addr("Megan Bowen", "megan"+strconv.Itoa(n%50)+"@contoso.test")
	}
	if field("id") {
		b = appendString(b, it.id)
	}
	if field("internetMessageId") {
		b = appendString(b, messageID(it))
	}
	if field("receivedDateTime") {
		b = appendString(b, t)
	}
	if field("sensitivity") {
		b = appendString(b, sensitivity)
	}
	if field("sentDateTime") {
		b = appendString(b, t)
	}
	if field("subject") {
		b = appendString(b, subject)
	}
	if field("toRecipients") {
		b = append(b, '[')
		addr("Ann Example", "ann@contoso.test")
		b = append(b, ']')
	}
	if first {
		b = append(b, '{')
	}
	return append(b, '}')
}

// keep stores the rendered JSON in it if it is still the revision
// rendered; s.mu is held.
func (sn *snapshot) keep(it *item) {
	if !sn.removed && version(it) == version(&sn.it) && !it.deleted {
		it.enc, it.encRev, it.encSel = sn.enc, version(&sn.it), sn.sel
	}
}

// version is what an item's kept JSON depends on: its revision and its
// marks (the etag).
func version(it *item) int { return it.rev*1000 + it.marks }

// appendStrings appends a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendValue appends v's JSON as encoding/json writes it, for the types
// render builds (anything else goes through encoding/json).
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			b = appendValue(b, v[k])
		}
		return append(b, '}')
	case map[string]string:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			b = appendString(b, v[k])
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case []map[string]any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	j, _ := json.Marshal(v)
	return append(b, j...)
}

// appendString appends s quoted and escaped as encoding/json does it
// (HTML characters too); strings with other than ASCII go through it.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	mark := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			j, _ := json.Marshal(s)
			return append(b[:mark], j...)
		}
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
