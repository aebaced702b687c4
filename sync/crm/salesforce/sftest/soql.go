package sftest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The SOQL subset: SELECT f, … FROM Object [WHERE c AND c …] [LIMIT n],
// where c is Field = v, Field != v or Field IN (v, …), and v a quoted
// string (with \' and \\ escapes), true, false, null, a number, a date
// (2026-01-02) or a dateTime (2026-01-02T10:00:00Z). String comparisons
// are case-insensitive, as in SOQL; dateTimes compare as instants.

type cond struct {
	field  string
	negate bool
	values []string // nil entry value "" with isNull
	null   bool
	// lower holds values lowercased, for long IN lists (index).
	lower map[string]bool
}

// index prepares a long IN list for lookups by set.
func (c *cond) index() {
	if len(c.values) < 8 {
		return
	}
	c.lower = make(map[string]bool, len(c.values))
	for _, v := range c.values {
		c.lower[strings.ToLower(v)] = true
	}
}

type soql struct {
	count  bool // SELECT COUNT(): only totalSize
	fields []string
	object string
	where  []cond
	limit  int
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) space() {
	for l.pos < len(l.s) && strings.ContainsRune(" \t\r\n", rune(l.s[l.pos])) {
		l.pos++
	}
}

// word reads an identifier, number, date or keyword.
func (l *lexer) word() string {
	l.space()
	start := l.pos
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		if c == ',' || c == '(' || c == ')' || c == ' ' || c == '\'' || c == '=' || c == '!' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		l.pos++
	}
	return l.s[start:l.pos]
}

func (l *lexer) peek(c byte) bool {
	l.space()
	return l.pos < len(l.s) && l.s[l.pos] == c
}

func (l *lexer) value() (string, bool, error) {
	l.space()
	if l.peek('\'') {
		l.pos++
		var b strings.Builder
		for l.pos < len(l.s) {
			c := l.s[l.pos]
			switch {
			case c == '\\' && l.pos+1 < len(l.s):
				b.WriteByte(l.s[l.pos+1])
				l.pos += 2
			case c == '\'':
				l.pos++
				return b.String(), false, nil
			default:
				b.WriteByte(c)
				l.pos++
			}
		}
		return "", false, fmt.Errorf("unterminated string")
	}
	w := l.word()
	switch strings.ToLower(w) {
	case "":
		return "", false, fmt.Errorf("a value is missing")
	case "null":
		return "", true, nil
	}
	return w, false, nil
}

func parseSOQL(q string) (*soql, error) {
	l := &lexer{s: q}
	if !strings.EqualFold(l.word(), "SELECT") {
		return nil, fmt.Errorf("unexpected token: expecting SELECT")
	}
	var st soql
	for {
		f := l.word()
		if f == "" {
			return nil, fmt.Errorf("unexpected token in the field list")
		}
		if strings.EqualFold(f, "COUNT") && l.peek('(') {
			l.pos++
			if !l.peek(')') {
				return nil, fmt.Errorf("this emulator knows COUNT() alone")
			}
			l.pos++
			st.count = true
			break
		}
		st.fields = append(st.fields, f)
		if !l.peek(',') {
			break
		}
		l.pos++
	}
	if !strings.EqualFold(l.word(), "FROM") {
		return nil, fmt.Errorf("unexpected token: expecting FROM")
	}
	st.object = l.word()
	for {
		kw := l.word()
		switch {
		case kw == "":
			return &st, nil
		case strings.EqualFold(kw, "LIMIT"):
			n, err := strconv.Atoi(l.word())
			if err != nil {
				return nil, fmt.Errorf("bad LIMIT")
			}
			st.limit = n
		case strings.EqualFold(kw, "WHERE") || strings.EqualFold(kw, "AND"):
			c := cond{field: l.word()}
			l.space()
			switch {
			case strings.HasPrefix(l.s[l.pos:], "!="):
				l.pos += 2
				c.negate = true
				v, null, err := l.value()
				if err != nil {
					return nil, err
				}
				c.values, c.null = []string{v}, null
			case strings.HasPrefix(l.s[l.pos:], "="):
				l.pos++
				v, null, err := l.value()
				if err != nil {
					return nil, err
				}
				c.values, c.null = []string{v}, null
			default:
				if !strings.EqualFold(l.word(), "IN") || !l.peek('(') {
					return nil, fmt.Errorf("unexpected token after %s: expecting =, != or IN", c.field)
				}
				l.pos++
				for {
					v, _, err := l.value()
					if err != nil {
						return nil, err
					}
					c.values = append(c.values, v)
					if l.peek(',') {
						l.pos++
						continue
					}
					if !l.peek(')') {
						return nil, fmt.Errorf("expecting ) to end IN")
					}
					l.pos++
					break
				}
			}
			st.where = append(st.where, c)
		default:
			return nil, fmt.Errorf("unexpected token: %s", kw)
		}
	}
}

// sameValue compares a stored field value with a SOQL literal.
func sameValue(stored any, lit string) bool {
	switch v := stored.(type) {
	case nil:
		return false
	case bool:
		return strings.EqualFold(strconv.FormatBool(v), lit)
	case string:
		if a, err := time.Parse(sfDateTime, v); err == nil {
			if b, err := time.Parse(time.RFC3339, lit); err == nil {
				return a.Equal(b)
			}
		}
		return strings.EqualFold(v, lit)
	default:
		return strings.EqualFold(fmt.Sprint(v), lit)
	}
}

func (c cond) holds(fields map[string]any) bool {
	v, present := lookup(fields, c.field)
	if c.null {
		isNull := !present || v == nil
		return isNull != c.negate
	}
	if sv, ok := v.(string); ok && c.lower != nil {
		if _, err := time.Parse(sfDateTime, sv); err != nil {
			// Not a dateTime: compared as text, case-insensitively.
			return c.lower[strings.ToLower(sv)] != c.negate
		}
	}
	in := slices.ContainsFunc(c.values, func(l string) bool { return sameValue(v, l) })
	return in != c.negate
}

// lookup reads a field by name, case-insensitively as SOQL does.
func lookup(fields map[string]any, name string) (any, bool) {
	if v, ok := fields[name]; ok {
		return v, true
	}
	for k, v := range fields {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// maxURI is the longest request URI Salesforce accepts (about 16 KB).
const maxURI = 16384

func (s *Server) query(w http.ResponseWriter, r *http.Request, ver string) {
	if len(r.URL.RequestURI()) > maxURI {
		apiError(w, http.StatusRequestURITooLong, "URI_TOO_LONG", "The request URI is too long.")
		return
	}
	st, err := parseSOQL(r.URL.Query().Get("q"))
	if err != nil {
		apiError(w, http.StatusBadRequest, "MALFORMED_QUERY", err.Error())
		return
	}
	sch, ok := schema[st.object]
	if !ok {
		apiError(w, http.StatusBadRequest, "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported.", st.object))
		return
	}
	for _, f := range append(slices.Clone(st.fields), fieldsOf(st.where)...) {
		if _, ok := sch.field(f); !ok {
			apiError(w, http.StatusBadRequest, "INVALID_FIELD", fmt.Sprintf("No such column '%s' on entity '%s'.", f, st.object))
			return
		}
	}
	for i := range st.where {
		st.where[i].index()
	}
	var rows []map[string]any
	for _, id := range s.byObj[sch.name] {
		rec := s.records[id]
		if rec == nil || rec.object != sch.name {
			continue
		}
		if !all(st.where, rec.fields) {
			continue
		}
		row := map[string]any{"attributes": map[string]any{"type": sch.name, "url": "/services/data/" + ver + "/sobjects/" + sch.name + "/" + id}}
		for _, f := range st.fields {
			name, _ := sch.field(f)
			v, _ := lookup(rec.fields, name)
			row[name] = v
		}
		rows = append(rows, row)
		if st.limit > 0 && len(rows) == st.limit {
			break
		}
	}
	if st.count {
		writeJSON(w, http.StatusOK, map[string]any{"totalSize": len(rows), "done": true, "records": []any{}})
		return
	}
	size := s.batchSize
	if o := r.Header.Get("Sforce-Query-Options"); o != "" {
		if n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(o), "batchSize=")); err == nil && n >= 200 && n <= 2000 {
			size = n
		}
	}
	s.cursorSeq++
	s.answerBatch(w, ver, fmt.Sprintf("01gD%011d", s.cursorSeq), rows, 0, size, len(rows))
}

func fieldsOf(cs []cond) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.field)
	}
	return out
}

func all(cs []cond, fields map[string]any) bool {
	for _, c := range cs {
		if !c.holds(fields) {
			return false
		}
	}
	return true
}

func (s *Server) answerBatch(w http.ResponseWriter, ver, cursor string, rows []map[string]any, from, size, total int) {
	to := min(from+size, len(rows))
	ans := map[string]any{"totalSize": total, "done": to == len(rows), "records": rows[from:to]}
	if to < len(rows) {
		ans["nextRecordsUrl"] = fmt.Sprintf("/services/data/%s/query/%s-%d", ver, cursor, to)
		s.cursors[cursor] = cursorState{rows: rows, size: size}
	} else {
		delete(s.cursors, cursor)
	}
	if len(rows[from:to]) == 0 {
		ans["records"] = []any{}
	}
	writeJSON(w, http.StatusOK, ans)
}

// queryMore serves a nextRecordsUrl, whose last part is cursor-offset;
// the batch size stays that of the first batch.
type cursorState struct {
	rows []map[string]any
	size int
}

// queryMore serves a nextRecordsUrl, whose last part is cursor-offset.
func (s *Server) queryMore(w http.ResponseWriter, loc, ver string) {
	cursor, off, ok := strings.Cut(loc, "-")
	from, err := strconv.Atoi(off)
	c, known := s.cursors[cursor]
	if !ok || err != nil || !known || from <= 0 || from > len(c.rows) {
		apiError(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	s.answerBatch(w, ver, cursor, c.rows, from, c.size, len(c.rows))
}
