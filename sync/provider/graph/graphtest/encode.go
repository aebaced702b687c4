package graphtest

import (
	"encoding/json"
	"slices"
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
	if !sn.removed && it.enc != nil && it.encRev == it.rev && it.encSel == st.Sel {
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
	return appendValue(nil, selected(render(&sn.it), sn.sel))
}

// keep stores the rendered JSON in it if it is still the revision
// rendered; s.mu is held.
func (sn *snapshot) keep(it *item) {
	if !sn.removed && it.rev == sn.it.rev && !it.deleted {
		it.enc, it.encRev, it.encSel = sn.enc, sn.it.rev, sn.sel
	}
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
