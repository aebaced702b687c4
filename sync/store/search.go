package store

// Searching the activity: the full-text index (SQLite FTS5 with the
// trigram tokenizer), the search syntax people type, and the background
// build of the index for the items stored before it existed.

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/inboxsync/inboxsync/sync/api"
)

// The index is a contentless FTS5 table, "search", of the trigrams of
// the searchable columns of items (detail=none: which rows hold a trigram,
// not where, so that it costs about 200 bytes an item instead of 1,000).
// A search asks it for the rows holding every trigram of its words and
// checks each such row with LIKE, so the index only narrows the rows
// read: its answers are exactly those of a scan.
//
// Its rowid is not the item's id but a key that sorts like the activity
// (newest first): the item's time in whole seconds since 1970 (0 for none
// or earlier, at most 2^32-1) in the high 32 bits and the item's id in the
// low 31. Walking the index backwards in rowid order therefore yields the
// matches newest first, and a search stops after the page it was asked for
// instead of sorting every match. The item's id comes back as rowid &
// searchIDMask (ids stay below 2^31: two billion items).
//
// The items whose id is below search_state.upto are in the index; the
// others (a store's items from before the index existed, and the pages
// stored since the last build step) are not yet, and a search scans them:
// however far the index has come, a search sees every committed item.
// BuildSearchIndex indexes the next items in batches, raising upto in the
// same transaction, so a build that was killed goes on where it stopped.
// Triggers keep the indexed items in step in the transaction of every
// write: a changed item is indexed again, a removed one (a pruning, an
// account removed) leaves the index. Storing the trigrams of a page in
// its own transaction would make a first sync several times slower (the
// trigram index costs more than the row itself), so new items wait for
// the next build step, which the engine runs after each sync.
const (
	searchIDMask = 1<<31 - 1
	// searchKeySQL is the index key of the items row r ("new" or "old" in
	// a trigger, a table alias in a query).
	searchKeySQL = `((max(0, min(4294967295, coalesce(%[1]s.time, 0) / 1000000000)) << 31) | %[1]s.id)`
	// searchCols are the indexed columns of items, in the index's order.
	searchCols = `subject, from_addr, to_addrs, cc_addrs, preview, location, organizer, attendees`
	// searchUptoSQL is the id from which items wait for the builder.
	searchUptoSQL = `(SELECT upto FROM search_state)`
)

func searchKey(row string) string { return fmt.Sprintf(searchKeySQL, row) }

// searchValues is the list of the indexed columns of row.
func searchValues(row string) string {
	return row + "." + strings.ReplaceAll(searchCols, ", ", ", "+row+".")
}

// searchMigration is the schema step that adds the index. It does not
// depend on its position among the steps.
var searchMigration = []string{
	`CREATE VIRTUAL TABLE search USING fts5(` + searchCols + `,
		content='', contentless_delete=1, tokenize='trigram', detail=none)`,
	// upto: the items with a smaller id are indexed; done counts the
	// items the builder indexed.
	`CREATE TABLE search_state (
		id   INTEGER PRIMARY KEY CHECK (id = 1),
		upto INTEGER NOT NULL,
		done INTEGER NOT NULL DEFAULT 0
	)`,
	`INSERT INTO search_state(id, upto) VALUES (1, 0)`,
	// Merge segments 16 at a time rather than FTS5's 4: the build of a
	// million items goes from 62,000 to 86,000 items/s, and a search,
	// which asks for two rare trigrams, takes as long (0.3 ms either way).
	`INSERT INTO search(search, rank) VALUES ('automerge', 16)`,
	// An item stored below upto (its id was freed by a removal) is
	// indexed at once.
	`CREATE TRIGGER items_search_insert AFTER INSERT ON items WHEN new.id < ` + searchUptoSQL + ` BEGIN
		INSERT INTO search(rowid, ` + searchCols + `) VALUES (` + searchKey("new") + `, ` + searchValues("new") + `);
	END`,
	`CREATE TRIGGER items_search_delete AFTER DELETE ON items WHEN old.id < ` + searchUptoSQL + ` BEGIN
		DELETE FROM search WHERE rowid = ` + searchKey("old") + `;
	END`,
	`CREATE TRIGGER items_search_update AFTER UPDATE OF time, ` + searchCols + ` ON items
		WHEN old.id < ` + searchUptoSQL + ` BEGIN
		DELETE FROM search WHERE rowid = ` + searchKey("old") + `;
		INSERT INTO search(rowid, ` + searchCols + `) VALUES (` + searchKey("new") + `, ` + searchValues("new") + `);
	END`,
}

// By default FTS5 rewrites a segment of the index (a b-tree of up to all
// the items) in the transaction where deleted rows reach deletemerge
// (10 %) of it: when an account's 100,000 items of a 300,000-item store
// are removed, a 500-item batch that crosses that line takes seconds
// instead of 0.1 s. DeleteAccount turns that off in its first transaction
// and back on in its last, and Reclaim does the rewriting in short merge
// steps (mergeSearchIndex). The setting is stored in the index, so a
// removal a killed process left keeps it off until the removal is
// finished.
const (
	searchDeleteMergeOff = `INSERT INTO search(search, rank) VALUES ('deletemerge', 0)`
	searchDeleteMergeOn  = `INSERT INTO search(search, rank) VALUES ('deletemerge', 10)` // FTS5's default
	// searchMergeStep is the number of pages (4 KB) of the index one
	// merge step writes: a write transaction of about 0.1 s.
	searchMergeStep = 200
)

// mergeSearchIndex merges the index's segments, and rewrites those with
// many deleted rows, searchMergeStep pages per write transaction, until
// there is nothing left to merge.
func (s *Store) mergeSearchIndex(ctx context.Context) error {
	for {
		worked, err := s.mergeSearchStep(ctx)
		if err != nil || !worked {
			return err
		}
	}
}

// mergeSearchStep runs one merge step and reports whether it did any work.
func (s *Store) mergeSearchStep(ctx context.Context) (bool, error) {
	if s.readOnly {
		return false, errReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// total_changes is per connection: one connection runs the three.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var before, after int64
	if err := conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
		return false, err
	}
	// PRAGMA-like command: searchMergeStep is a constant.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`INSERT INTO search(search, rank) VALUES ('merge', %d)`, searchMergeStep)); err != nil {
		return false, fmt.Errorf("merging the search index: %w", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT total_changes()").Scan(&after); err != nil {
		return false, err
	}
	// The FTS5 documentation: less than 2 changes means no work was done.
	return after-before >= 2, nil
}

// SearchIndexProgress returns how far the search index has come. It reads
// only the items waiting for the index.
func (s *Store) SearchIndexProgress(ctx context.Context) (api.IndexProgress, error) {
	var p api.IndexProgress
	err := s.db.QueryRowContext(ctx, `SELECT done, (SELECT count(*) FROM items WHERE id >= upto) FROM search_state`).Scan(&p.Done, &p.Left)
	return p, err
}

// BuildSearchIndex indexes up to batch items that wait for the index
// (oldest id first) in one short write transaction, and returns the
// progress after it. Call it until Ready: the build survives the process
// being killed between (or during) calls, and searches find every item
// meanwhile.
func (s *Store) BuildSearchIndex(ctx context.Context, batch int) (api.IndexProgress, error) {
	if s.readOnly {
		return api.IndexProgress{}, errReadOnly
	}
	batch = max(batch, 1)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var upto int64
		if err := tx.QueryRowContext(ctx, "SELECT upto FROM search_state").Scan(&upto); err != nil {
			return err
		}
		// hi is the greatest id of this batch.
		var hi sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT id FROM items WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?", upto, batch-1).Scan(&hi)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, "SELECT max(id) FROM items WHERE id >= ?", upto).Scan(&hi)
		}
		if err != nil || !hi.Valid {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO search(rowid, `+searchCols+`)
			SELECT `+searchKey("items")+`, `+searchValues("items")+` FROM items WHERE id >= ? AND id <= ?`, upto, hi.Int64)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if testHookBuildBatch != nil {
			if err := testHookBuildBatch(ctx); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE search_state SET upto = ?, done = done + ?", hi.Int64+1, n)
		return err
	})
	if err != nil {
		return api.IndexProgress{}, fmt.Errorf("building the search index: %w", err)
	}
	return s.SearchIndexProgress(ctx)
}

// testHookBuildBatch, when set by a test, runs inside BuildSearchIndex's
// transaction after a batch was indexed and before the progress is stored.
var testHookBuildBatch func(ctx context.Context) error

// The search syntax (see SearchHelp).

// searchTerm is one word or quoted phrase of a search.
type searchTerm struct {
	text   string
	cols   []string // the items columns it must be in; nil: any of searchCols
	negate bool
}

// fields maps the field prefixes of the syntax to items columns.
var fields = map[string][]string{
	"from":    {"from_addr", "organizer"},
	"to":      {"to_addrs", "cc_addrs", "attendees"},
	"subject": {"subject"},
}

// errSearch returns an error that a search could not be understood; it
// matches api.ErrInvalid, so that the control API reports it as
// invalid input with its words.
func errSearch(format string, args ...any) error {
	return newError(api.ErrInvalid, nil, fmt.Sprintf(format, args...))
}

// parseSearch splits a search into its terms.
func parseSearch(q string) ([]searchTerm, error) {
	var terms []searchTerm
	long := false
	rest := strings.TrimSpace(q)
	for rest != "" {
		var t searchTerm
		if rest[0] == '-' && len(rest) > 1 && rest[1] != ' ' {
			t.negate, rest = true, rest[1:]
		}
		if i := strings.IndexAny(rest, ": \""); i > 0 && rest[i] == ':' {
			if cols, ok := fields[strings.ToLower(rest[:i])]; ok {
				t.cols, rest = cols, rest[i+1:]
			}
		}
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return nil, errSearch("the search %s has a quote (\") that is not closed", q)
			}
			t.text, rest = rest[1:1+end], rest[2+end:]
		} else {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			t.text, rest = rest[:end], rest[end:]
		}
		rest = strings.TrimSpace(rest)
		if t.text == "" {
			continue
		}
		if !t.negate && utf8.RuneCountInString(t.text) >= api.MinSearchLen {
			long = true
		}
		terms = append(terms, t)
	}
	if len(terms) == 0 {
		return nil, nil
	}
	if !long {
		return nil, errSearch("type at least %d characters to search (a word like %q is too short to look up on its own, and words after a minus only leave items out)", api.MinSearchLen, terms[0].text)
	}
	return terms, nil
}

// indexed reports whether t is looked up in the index rather than checked
// on the rows the index found.
func (t searchTerm) indexed() bool { return utf8.RuneCountInString(t.text) >= api.MinSearchLen }

// searchGrams returns the trigrams that tile every word looked up in the
// index (from its start, every third one, and the last: "numbers" asks for
// "num", "ber" and "ers"), each once, lower-cased. The trigrams between add
// nothing the check of each row (likeConds) does not decide anyway.
// Exclusions and fields are left to that check too.
func searchGrams(terms []searchTerm) []string {
	var (
		grams []string
		seen  = map[string]bool{}
	)
	add := func(g []rune) {
		if q := string(g); !seen[q] {
			seen[q] = true
			grams = append(grams, q)
		}
	}
	for _, t := range terms {
		if t.negate || !t.indexed() {
			continue
		}
		r := []rune(strings.ToLower(t.text))
		for i := 0; i+api.MinSearchLen <= len(r); i += api.MinSearchLen {
			add(r[i : i+api.MinSearchLen])
		}
		if len(r)%api.MinSearchLen != 0 {
			add(r[len(r)-api.MinSearchLen:])
		}
	}
	return grams
}

// ftsQuery returns the FTS5 query for the rows holding every one of grams.
func ftsQuery(grams []string) string {
	quoted := make([]string, len(grams))
	for i, g := range grams {
		quoted[i] = `"` + strings.ReplaceAll(g, `"`, `""`) + `"`
	}
	return strings.Join(quoted, " AND ")
}

// The trigrams a search asks the index for. Every trigram asked for costs
// a walk of its list of rows, and a common one ("ite" of "item", in every
// row) costs far more than it narrows: "inbox item 123457" took 14 ms with
// its six trigrams and 0.3 ms with its two rarest, at a million items. So
// a search first probes each trigram for its newest probeDepth rows (a
// few microseconds each) and asks for the rarest: those with fewer rows
// than that, or else the ones whose probeDepth-th newest row lies furthest
// back (the index's keys are times, so a rarer trigram reaches further
// back for as many rows). Any choice finds the same items — the check of
// each row decides — so the probe only decides the speed.
const (
	probeDepth = 50
	maxGrams   = 2
)

// rareGrams returns at most maxGrams of grams, the rarest by the probe.
func (s *Store) rareGrams(ctx context.Context, grams []string) []string {
	if len(grams) <= maxGrams {
		return grams
	}
	type probed struct {
		gram  string
		n     int
		reach int64 // the key of the probeDepth-th newest row
	}
	ps := make([]probed, len(grams))
	for i, g := range grams {
		ps[i].gram = g
		err := s.db.QueryRowContext(ctx, fmt.Sprintf(
			"SELECT count(*), coalesce(min(rowid), 0) FROM (SELECT rowid FROM search WHERE search MATCH ? ORDER BY rowid DESC LIMIT %d)", probeDepth),
			ftsQuery([]string{g})).Scan(&ps[i].n, &ps[i].reach)
		if err != nil {
			return grams // the search itself reports what went wrong
		}
	}
	slices.SortStableFunc(ps, func(a, b probed) int {
		if c := cmp.Compare(a.n, b.n); c != 0 {
			return c
		}
		return cmp.Compare(a.reach, b.reach)
	})
	out := make([]string, maxGrams)
	for i := range out {
		out[i] = ps[i].gram
	}
	return out
}

// likeConds returns the SQL conditions on the items columns of the table
// aliased as alias (with its dot) that decide whether a row matches terms.
// arg adds a parameter and returns its placeholder.
func likeConds(terms []searchTerm, alias string, arg func(any) string) []string {
	var conds []string
	for _, t := range terms {
		cols := t.cols
		if cols == nil {
			cols = strings.Split(searchCols, ", ")
		}
		p := arg("%" + escapeLike(t.text) + "%")
		ors := make([]string, len(cols))
		for i, c := range cols {
			ors[i] = alias + c + " LIKE " + p + ` ESCAPE '\'`
		}
		cond := "(" + strings.Join(ors, " OR ") + ")"
		if t.negate {
			cond = "NOT " + cond
		}
		conds = append(conds, cond)
	}
	return conds
}
