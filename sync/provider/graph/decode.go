package graph

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A decoder of the delta pages into mailPage and eventPage, without
// reflection: encoding/json's Unmarshal was a third of an organisation
// worker's CPU. It decodes as json.Unmarshal does into the same types —
// the whole answer must be valid JSON (RFC 8259), keys match a field
// exactly or else case-insensitively, unknown keys are skipped, null
// leaves a string as it is and sets a pointer or a slice to nil, a later
// duplicate key wins (an object is decoded into the one before), invalid
// UTF-8 becomes U+FFFD — and fails where it fails, on a value of the wrong
// type too (where json.Unmarshal would go on reading and fail at the end,
// it fails at once; decode_test.go compares the two).

// errSyntax is the error of an answer that is not JSON.
var errSyntax = errors.New("invalid JSON")

type jsonDecoder struct {
	b []byte
	i int
}

// decodePage decodes a whole answer with value, which reads the page's
// top-level object.
func decodePage(b []byte, value func(d *jsonDecoder) error) error {
	d := &jsonDecoder{b: b}
	if d.null() {
		// json.Unmarshal leaves the page as it is.
	} else if err := value(d); err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.b) {
		return d.syntax("after the top-level value")
	}
	return nil
}

func (d *jsonDecoder) syntax(where string) error {
	return fmt.Errorf("%w at offset %d (%s)", errSyntax, d.i, where)
}

func (d *jsonDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (d *jsonDecoder) peek() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// null consumes a null literal if one comes next.
func (d *jsonDecoder) null() bool {
	if d.peek() == 'n' && strings.HasPrefix(string(d.b[d.i:min(d.i+4, len(d.b))]), "null") {
		d.i += 4
		return true
	}
	return false
}

// typeError is a value of the wrong type for its field: json.Unmarshal
// fails then too (after reading the rest).
func (d *jsonDecoder) typeError(want string) error {
	return fmt.Errorf("the JSON value at offset %d is not %s", d.i, want)
}

// object reads an object, calling field for each key; field reads the
// value.
func (d *jsonDecoder) object(field func(key string) error) error {
	if d.peek() != '{' {
		return d.typeError("an object")
	}
	d.i++
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.syntax("an object's key")
		}
		key, err := d.key()
		if err != nil {
			return err
		}
		if d.peek() != ':' {
			return d.syntax("after an object's key")
		}
		d.i++
		if err := field(key); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.syntax("in an object")
		}
	}
}

// array reads an array, calling elem for each element.
func (d *jsonDecoder) array(elem func() error) error {
	if d.peek() != '[' {
		return d.typeError("an array")
	}
	d.i++
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.syntax("in an array")
		}
	}
}

// keys are the keys of Graph's answers, so that reading one allocates
// nothing.
var keys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"@odata.context", "@odata.nextLink", "@odata.deltaLink", "@odata.type", "@odata.etag",
		"value", "id", "@removed", "reason", "internetMessageId", "conversationId", "subject", "from", "toRecipients",
		"ccRecipients", "receivedDateTime", "sentDateTime", "bodyPreview", "emailAddress", "name", "address",
		"iCalUId", "start", "end", "dateTime", "timeZone", "location", "displayName", "organizer", "attendees",
		"type", "status", "response"} {
		m[k] = k
	}
	return m
}()

// key reads an object's key.
func (d *jsonDecoder) key() (string, error) {
	if end := d.i + 1 + indexQuoteOrEscape(d.b[d.i+1:]); end < len(d.b) && d.b[end] == '"' {
		if k, ok := keys[string(d.b[d.i+1:end])]; ok {
			d.i = end + 1
			return k, nil
		}
	}
	return d.rawString()
}

// indexQuoteOrEscape returns the index of the first '"' or '\\' of b, or
// len(b).
func indexQuoteOrEscape(b []byte) int {
	for i, c := range b {
		if c == '"' || c == '\\' {
			return i
		}
	}
	return len(b)
}

// str reads a string value into s; null leaves s as it is.
func (d *jsonDecoder) str(s *string) error {
	if d.null() {
		return nil
	}
	if d.peek() != '"' {
		return d.typeError("a string")
	}
	v, err := d.rawString()
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// rawString reads a string at d.i (its opening quote).
func (d *jsonDecoder) rawString() (string, error) {
	d.i++ // the opening quote
	start := d.i
	// The common case: nothing to unescape or replace.
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '"' {
			s := string(d.b[start:d.i])
			d.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		d.i++
	}
	buf := append([]byte(nil), d.b[start:d.i]...)
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return string(buf), nil
		case c < 0x20:
			return "", d.syntax("a control character in a string")
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return "", d.syntax("an escape")
			}
			e := d.b[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.syntax("a \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair, or U+FFFD for a lone half (as encoding/json).
					r2 := rune(-1)
					if d.i+1 < len(d.b) && d.b[d.i] == '\\' && d.b[d.i+1] == 'u' {
						save := d.i
						d.i += 2
						var ok2 bool
						if r2, ok2 = d.hex4(); !ok2 {
							return "", d.syntax("a \\u escape")
						}
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
						d.i = save // the second is read on its own
					}
					r = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", d.syntax("an escape")
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.i++
		default:
			r, size := utf8.DecodeRune(d.b[d.i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, d.b[d.i:d.i+size]...)
			}
			d.i += size
		}
	}
	return "", d.syntax("an unterminated string")
}

// hex4 reads the four hex digits of a \u escape.
func (d *jsonDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.b) {
		return 0, false
	}
	var r rune
	for _, c := range d.b[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}

// skip reads any value, checking that it is valid JSON.
func (d *jsonDecoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func(string) error { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, err := d.rawString()
		return err
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return d.syntax("a value")
}

func (d *jsonDecoder) literal(word string) error {
	if !strings.HasPrefix(string(d.b[d.i:min(d.i+len(word), len(d.b))]), word) {
		return d.syntax("a literal")
	}
	d.i += len(word)
	return nil
}

// number reads a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonDecoder) number() error {
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	switch {
	case d.i < len(d.b) && d.b[d.i] == '0':
		d.i++
	case digits() == 0:
		return d.syntax("a number")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return d.syntax("a number")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return d.syntax("a number")
		}
	}
	return nil
}

// is reports whether key names the field name: exactly, or else
// case-insensitively.
func is(key, name string) bool {
	return key == name || strings.EqualFold(key, name)
}

// ptr reads an object into *p (allocated when nil, kept when there is one
// already: a duplicate key adds to it); null sets *p to nil.
func ptr[T any](d *jsonDecoder, p **T, read func(d *jsonDecoder, v *T) error) error {
	if d.null() {
		*p = nil
		return nil
	}
	if d.peek() != '{' {
		return d.typeError("an object")
	}
	if *p == nil {
		*p = new(T)
	}
	return read(d, *p)
}

// list reads an array into *s (its elements replaced); null sets *s to
// nil.
func list[T any](d *jsonDecoder, s *[]T, read func(d *jsonDecoder, v *T) error) error {
	if d.null() {
		*s = nil
		return nil
	}
	if d.peek() != '[' {
		return d.typeError("an array")
	}
	if *s == nil {
		*s = []T{}
	}
	*s = (*s)[:0]
	return d.array(func() error {
		var zero T
		*s = append(*s, zero)
		return read(d, &(*s)[len(*s)-1])
	})
}

// elem reads an element of a list: an object, or null (the zero value).
func elem[T any](read func(d *jsonDecoder, v *T) error) func(d *jsonDecoder, v *T) error {
	return func(d *jsonDecoder, v *T) error {
		if d.null() {
			return nil
		}
		return read(d, v)
	}
}

// readStringElem reads a string element of a list; null is "".
func readStringElem(d *jsonDecoder, v *string) error {
	if d.null() {
		*v = ""
		return nil
	}
	return d.str(v)
}

func readEmailAddress(d *jsonDecoder, v *emailAddress) error {
	return d.object(func(k string) error {
		switch {
		case is(k, "name"):
			return d.str(&v.Name)
		case is(k, "address"):
			return d.str(&v.Address)
		}
		return d.skip()
	})
}

func readRecipient(d *jsonDecoder, v *recipient) error {
	return d.object(func(k string) error {
		if is(k, "emailAddress") {
			if d.null() {
				return nil
			}
			return readEmailAddress(d, &v.EmailAddress)
		}
		return d.skip()
	})
}

func readRemoved(d *jsonDecoder, v *removed) error {
	return d.object(func(k string) error {
		if is(k, "reason") {
			return d.str(&v.Reason)
		}
		return d.skip()
	})
}

func readMessage(d *jsonDecoder, m *message) error {
	return d.object(func(k string) error {
		switch {
		case is(k, "id"):
			return d.str(&m.ID)
		case is(k, "@removed"):
			return ptr(d, &m.Removed, readRemoved)
		case is(k, "internetMessageId"):
			return d.str(&m.InternetMessageID)
		case is(k, "conversationId"):
			return d.str(&m.ConversationID)
		case is(k, "subject"):
			return d.str(&m.Subject)
		case is(k, "from"):
			return ptr(d, &m.From, readRecipient)
		case is(k, "toRecipients"):
			return list(d, &m.ToRecipients, elem(readRecipient))
		case is(k, "ccRecipients"):
			return list(d, &m.CcRecipients, elem(readRecipient))
		case is(k, "receivedDateTime"):
			return d.str(&m.ReceivedDateTime)
		case is(k, "sentDateTime"):
			return d.str(&m.SentDateTime)
		case is(k, "bodyPreview"):
			return d.str(&m.BodyPreview)
		case is(k, "sensitivity"):
			return d.str(&m.Sensitivity)
		case is(k, "categories"):
			return list(d, &m.Categories, readStringElem)
		}
		return d.skip()
	})
}

func readMailPage(d *jsonDecoder, p *mailPage) error {
	return d.object(func(k string) error {
		switch {
		case is(k, "@odata.nextLink"):
			return d.str(&p.NextLink)
		case is(k, "@odata.deltaLink"):
			return d.str(&p.DeltaLink)
		case is(k, "value"):
			return list(d, &p.Value, elem(readMessage))
		}
		return d.skip()
	})
}

func readDateTimeZone(d *jsonDecoder, v *dateTimeZone) error {
	return d.object(func(k string) error {
		switch {
		case is(k, "dateTime"):
			return d.str(&v.DateTime)
		case is(k, "timeZone"):
			return d.str(&v.TimeZone)
		}
		return d.skip()
	})
}

type location = struct {
	DisplayName string `json:"displayName"`
}

func readLocation(d *jsonDecoder, v *location) error {
	return d.object(func(k string) error {
		if is(k, "displayName") {
			return d.str(&v.DisplayName)
		}
		return d.skip()
	})
}

func readAttendee(d *jsonDecoder, v *attendee) error {
	return readRecipient(d, (*recipient)(v))
}

func readEvent(d *jsonDecoder, e *event) error {
	return d.object(func(k string) error {
		switch {
		case is(k, "id"):
			return d.str(&e.ID)
		case is(k, "@removed"):
			return ptr(d, &e.Removed, readRemoved)
		case is(k, "iCalUId"):
			return d.str(&e.ICalUID)
		case is(k, "subject"):
			return d.str(&e.Subject)
		case is(k, "bodyPreview"):
			return d.str(&e.BodyPreview)
		case is(k, "start"):
			return ptr(d, &e.Start, readDateTimeZone)
		case is(k, "end"):
			return ptr(d, &e.End, readDateTimeZone)
		case is(k, "location"):
			return ptr(d, &e.Location, readLocation)
		case is(k, "organizer"):
			return ptr(d, &e.Organizer, readRecipient)
		case is(k, "attendees"):
			return list(d, &e.Attendees, elem(readAttendee))
		case is(k, "sensitivity"):
			return d.str(&e.Sensitivity)
		case is(k, "categories"):
			return list(d, &e.Categories, readStringElem)
		}
		return d.skip()
	})
}

func readEventPage(d *jsonDecoder, p *eventPage) error {
	return d.object(func(k string) error {
		switch {
		case is(k, "@odata.nextLink"):
			return d.str(&p.NextLink)
		case is(k, "@odata.deltaLink"):
			return d.str(&p.DeltaLink)
		case is(k, "value"):
			return list(d, &p.Value, elem(readEvent))
		}
		return d.skip()
	})
}
