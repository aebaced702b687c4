package graphtest

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// The answers' JSON, written without reflection: serving is the
// emulator's main cost, and Microsoft's CPU is not on the worker's
// machine. The bytes are encoding/json's (keys sorted, HTML characters
// escaped), so that answers read the same as before.

// encoded returns the JSON of item it as a page of st lists it, from its
// cache when the item has not changed since; s.mu is held.
func (s *Server) encoded(it *item, st state) []byte {
	if it.deleted || !s.matches(it, st) {
		b, _ := json.Marshal(map[string]any{"@odata.type": "#microsoft.graph." + kind(it), "id": it.id, "@removed": map[string]string{"reason": reason(it)}})
		return b
	}
	if it.enc == nil || it.encRev != it.rev || it.encSel != st.Sel {
		it.enc, it.encRev, it.encSel = appendValue(nil, selected(render(it), st.Sel)), it.rev, st.Sel
	}
	return it.enc
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
		m := make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
		return appendValue(b, m)
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

// appendString appends s quoted; strings with characters encoding/json
// escapes go through it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			j, _ := json.Marshal(s)
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
