package keyring

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// manifestPrefix starts the main entry of a chunked value. Any value that
// itself starts with it is stored chunked, so a main entry that starts with
// it is always a manifest.
const manifestPrefix = "inboxsync-chunked:"

// manifestVersion is the only manifest format: "v1:<chunks>:<sha256 hex>".
const manifestVersion = "v1"

// manifest describes a chunked value.
type manifest struct {
	chunks int    // number of chunks, from 1
	sum    string // lowercase hex SHA-256 of the whole value
}

// makeManifest returns the main entry for value stored in n chunks.
func makeManifest(value string, n int) string {
	sum := sha256.Sum256([]byte(value))
	return manifestPrefix + manifestVersion + ":" + strconv.Itoa(n) + ":" + hex.EncodeToString(sum[:])
}

// parseManifest parses a main entry that starts with manifestPrefix. Its
// errors describe the format only: they never quote the entry.
func parseManifest(s string) (manifest, error) {
	rest, ok := strings.CutPrefix(s, manifestPrefix)
	if !ok {
		return manifest{}, errors.New("not a chunk manifest")
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 || parts[0] != manifestVersion {
		return manifest{}, errors.New("unknown chunk manifest format")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 1 || n > maxChunks || parts[1] != strconv.Itoa(n) {
		return manifest{}, errors.New("bad chunk count in manifest")
	}
	if len(parts[2]) != 2*sha256.Size || strings.ToLower(parts[2]) != parts[2] {
		return manifest{}, errors.New("bad checksum in manifest")
	}
	if _, err := hex.DecodeString(parts[2]); err != nil {
		return manifest{}, errors.New("bad checksum in manifest")
	}
	return manifest{chunks: n, sum: parts[2]}, nil
}

// split cuts s into pieces of at most size bytes (size >= utf8.UTFMax). It
// cuts between UTF-8 characters where it can, so each piece of a valid
// UTF-8 string is valid UTF-8 too (keyrings that treat secrets as text
// then see no broken characters). An empty s gives one empty piece.
func split(s string, size int) []string {
	if size < utf8.UTFMax {
		panic(fmt.Sprintf("secret: chunk size %d too small", size))
	}
	var out []string
	for len(s) > size {
		end := size
		for end > size-(utf8.UTFMax-1) && !utf8.RuneStart(s[end]) {
			end--
		}
		if !utf8.RuneStart(s[end]) {
			end = size // not UTF-8 here: cut anywhere
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return append(out, s)
}
