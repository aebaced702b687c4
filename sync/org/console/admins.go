package console

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Admins are the console's admin accounts: a file of "name:bcrypt-hash"
// lines (the htpasswd bcrypt form; '#' starts a comment), readable by its
// owner only. The console keeps no password, only these hashes.
type Admins struct {
	path   string
	hashes map[string][]byte
}

// bcryptCost is the cost of new hashes: about 100 ms a check here, slow
// for a guesser, quick enough for a sign-in. (Tests lower it.)
var bcryptCost = 11

// dummyHash is compared against for unknown names, so that a sign-in takes
// as long whether or not the name exists; made at the first need.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), bcryptCost)
	return h
})

// checkPrivate refuses a file others may read or write: it holds the
// admins' password hashes.
func checkPrivate(path string, info os.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("the admins file %s can be read or changed by other users (mode %04o): run chmod 600 %s", path, perm, path)
	}
	return nil
}

// LoadAdmins reads the admins file at path.
func LoadAdmins(path string) (*Admins, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("the admins file %s does not exist: add an admin with inboxsync org console --admins %s --add-admin NAME", path, path)
		}
		return nil, fmt.Errorf("reading the admins file: %w", err)
	}
	if err := checkPrivate(path, info); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the admins file: %w", err)
	}
	a, err := parseAdmins(path, b)
	if err != nil {
		return nil, err
	}
	if len(a.hashes) == 0 {
		return nil, fmt.Errorf("the admins file %s names no admin: add one with inboxsync org console --admins %s --add-admin NAME", path, path)
	}
	return a, nil
}

func parseAdmins(path string, b []byte) (*Admins, error) {
	a := &Admins{path: path, hashes: map[string][]byte{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || checkName(name) != nil {
			return nil, fmt.Errorf("the admins file %s, line %d: want NAME:HASH", path, n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("the admins file %s, line %d: %s's password hash is not a bcrypt hash", path, n, name)
		}
		a.hashes[name] = []byte(hash)
	}
	return a, sc.Err()
}

// checkName refuses names that cannot be a line's first field or would
// read badly in the log.
func checkName(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, ": \t\r\n") {
		return errors.New("an admin name is 1 to 64 characters without spaces or colons")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errors.New("an admin name has no control characters")
		}
	}
	return nil
}

// Names returns the admins' names, sorted.
func (a *Admins) Names() []string {
	var out []string
	for n := range a.hashes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Check reports whether password is name's.
func (a *Admins) Check(name, password string) bool {
	hash, ok := a.hashes[name]
	if !ok {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// SetAdmin adds the admin name to the file at path, or changes their
// password; the file is created owner-only if missing, and replaced
// atomically.
func SetAdmin(path, name, password string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if len(password) < 12 {
		return errors.New("the password must have at least 12 characters")
	}
	if len(password) > 72 {
		return errors.New("the password must have at most 72 bytes (bcrypt's limit)")
	}
	var old []byte
	if info, err := os.Stat(path); err == nil {
		if err := checkPrivate(path, info); err != nil {
			return err
		}
		if old, err = os.ReadFile(path); err != nil {
			return fmt.Errorf("reading the admins file: %w", err)
		}
		if _, err := parseAdmins(path, old); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("reading the admins file: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	replaced := false
	for _, line := range strings.SplitAfter(string(old), "\n") {
		if n, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && n == name {
			fmt.Fprintf(&out, "%s:%s\n", name, hash)
			replaced = true
			continue
		}
		out.WriteString(line)
	}
	if !replaced {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		fmt.Fprintf(&out, "%s:%s\n", name, hash)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".admins-*")
	if err != nil {
		return fmt.Errorf("writing the admins file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the admins file: %w", err)
	}
	if _, err := tmp.Write(out.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the admins file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the admins file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the admins file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing the admins file: %w", err)
	}
	return nil
}
