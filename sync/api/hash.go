package api

import "time"

// ContentHash is the hash of everything a store keeps of an item of
// folder (the folder it is stored under): a changed hash is what counts
// an item Updated. encTime encodes a time as the store keeps it (SQLite:
// clamped nanoseconds, PostgreSQL: microseconds), so that a time the store
// cannot tell apart hashes the same; it must encode the zero time as 0.
//
// It is FNV-1a over 64-bit words instead of bytes: eight times fewer
// multiplications. Every step (xor, then multiplication by an odd number)
// is a bijection of the state, so two inputs of the same length that
// differ anywhere always hash differently. Stored hashes depend on it:
// changing it makes every item of every store count Updated once.
func ContentHash(it *Item, folder Folder, encTime func(time.Time) int64) int64 {
	h := hasher(fnvOffset)
	h.str(string(folder))
	h.str(string(it.Kind))
	h.str(it.MessageID)
	h.str(it.ConversationID)
	h.str(it.Subject)
	h.str(it.From)
	h.list(it.To)
	h.list(it.Cc)
	h.word(uint64(encTime(it.Time)))
	h.str(it.Preview)
	h.word(uint64(encTime(it.Start)))
	h.word(uint64(encTime(it.End)))
	h.str(it.Location)
	h.str(it.Organizer)
	h.list(it.Attendees)
	// Added in schema 7 (issue 20): hashed only when set, so that the
	// items stored before keep their hashes.
	if it.Sensitivity != "" || len(it.Categories) > 0 {
		h.word(0x5e75)
		h.str(it.Sensitivity)
		h.list(it.Categories)
	}
	return int64(h)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

type hasher uint64

func (h *hasher) word(w uint64) { *h = hasher((uint64(*h) ^ w) * fnvPrime) }

func (h *hasher) str(s string) {
	h.word(uint64(len(s)))
	for len(s) >= 8 {
		h.word(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
		s = s[8:]
	}
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	h.word(w)
}

func (h *hasher) list(a []string) {
	h.word(uint64(len(a)))
	for _, s := range a {
		h.str(s)
	}
}
