package layers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is this module's path; rules name its packages relative to it.
const module = "github.com/inboxsync/inboxsync"

// pkg is what the rules need of one package in `go list -deps -json`.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// graph is a build's packages by import path.
type graph map[string]*pkg

// rule is one import rule. A package matching one of subjects breaks it
// when, among the packages it links (itself included), one imports another
// and forbidden says that edge must not exist.
type rule struct {
	name string
	// words is the rule as a reader should understand it; a failure
	// prints it first.
	words string
	// subjects are patterns (see match) of the packages the rule is
	// about; in every build at least one package must match, or the rule
	// would check nothing.
	subjects  []string
	forbidden func(from, to *pkg) bool
}

// match reports whether import path p matches pattern: "x" matches x,
// "x/..." matches x and everything below it. A pattern that does not
// start with a domain is relative to this module.
func match(p, pattern string) bool {
	if first, _, _ := strings.Cut(pattern, "/"); !strings.Contains(first, ".") {
		pattern = module + "/" + pattern
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

func matchAny(p string, patterns ...string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool { return match(p, pat) })
}

// ours reports whether p is a package of this module.
func ours(p string) bool { return match(p, module+"/...") }

// links returns a forbidden func that refuses any edge to a package
// matching one of patterns.
func links(patterns ...string) func(from, to *pkg) bool {
	return func(_, to *pkg) bool { return matchAny(to.ImportPath, patterns...) }
}

// gui is every GUI toolkit package: Fyne and the GL and GLFW bindings it
// draws with, and the systray the agent's tray is built on.
var gui = []string{"fyne.io/fyne/v2/...", "github.com/go-gl/...", "fyne.io/systray/..."}

// rules are the import rules of the layers (see the package comment).
var rules = []rule{
	{
		name: "sync-no-desktop",
		words: "sync/… links no GUI toolkit (Fyne, go-gl, systray), nothing under ui/ and not app: " +
			"the engine and everything below it must run in a host with no desktop",
		subjects:  []string{"sync/..."},
		forbidden: links(append([]string{"ui/...", "app/..."}, gui...)...),
	},
	{
		name: "window-only-control",
		words: "the window program (cmd/inboxsync-window) links, of this module, only ui/window, " +
			"sync/api, sync/control, assets and internal/… — no engine, store, provider, CRM, session, " +
			"secret or notice package, not app and not ui/tray: the windows reach the agent through the control API alone",
		subjects: []string{"cmd/inboxsync-window"},
		forbidden: func(_, to *pkg) bool {
			return ours(to.ImportPath) && !matchAny(to.ImportPath,
				"cmd/inboxsync-window", "ui/window/...", "sync/api", "sync/control", "assets/...", "internal/...")
		},
	},
	{
		name: "window-no-agent-libraries",
		words: "the window program (cmd/inboxsync-window) links no SQLite (modernc.org/sqlite), " +
			"no keyring (github.com/zalando/go-keyring) and no mail sender (github.com/wneessen/go-mail): " +
			"those belong to the agent",
		subjects:  []string{"cmd/inboxsync-window"},
		forbidden: links("modernc.org/sqlite/...", "github.com/zalando/go-keyring/...", "github.com/wneessen/go-mail/..."),
	},
	{
		name: "window-no-systray",
		words: "in the window program (cmd/inboxsync-window) nothing imports fyne.io/systray but Fyne's own " +
			"GLFW driver (fyne.io/fyne/v2/internal/driver/glfw, which imports it on every desktop build): " +
			"the tray is the agent's",
		subjects: []string{"cmd/inboxsync-window"},
		forbidden: func(from, to *pkg) bool {
			return match(to.ImportPath, "fyne.io/systray/...") &&
				!matchAny(from.ImportPath, "fyne.io/systray/...", "fyne.io/fyne/v2/internal/driver/glfw")
		},
	},
	{
		name: "engine-on-top",
		words: "providers (sync/provider/…), the store (sync/store/…), CRM packages (sync/crm/…) and the " +
			"sync session (sync/session/…) link no sync/engine: the engine drives them, and another host " +
			"must be able to use them without it",
		subjects:  []string{"sync/provider/...", "sync/store/...", "sync/crm/...", "sync/session/..."},
		forbidden: links("sync/engine/..."),
	},
	{
		name: "org-headless",
		words: "organisation mode (sync/org/…) runs on servers: it links neither the desktop's engine " +
			"(sync/engine) nor its SQLite store (sync/store) nor the desktop keyring (sync/secret/keyring, " +
			"go-keyring, D-Bus)",
		subjects: []string{"sync/org/..."},
		forbidden: links("sync/engine/...", "sync/store/...", "modernc.org/sqlite/...", "sync/secret/keyring/...",
			"github.com/zalando/go-keyring/...", "github.com/godbus/dbus/..."),
	},
	{
		name: "session-any-host",
		words: "sync/session (one sync session, for any host) links no store implementation (sync/store) " +
			"and no database driver (database/sql, SQLite): a host brings its own store through the " +
			"session.Store contract; nor the desktop keyring (sync/secret/keyring, go-keyring, D-Bus), " +
			"which a server has not",
		subjects: []string{"sync/session/..."},
		forbidden: func(_, to *pkg) bool {
			return to.ImportPath == "database/sql" || matchAny(to.ImportPath, "sync/store/...", "modernc.org/sqlite/...",
				"sync/secret/keyring/...", "github.com/zalando/go-keyring/...", "github.com/godbus/dbus/...")
		},
	},
	{
		name:     "api-leaf",
		words:    "sync/api, the vocabulary every program shares, links only the standard library",
		subjects: []string{"sync/api/..."},
		forbidden: func(_, to *pkg) bool {
			return !to.Standard
		},
	},
	{
		name: "control-on-api",
		words: "sync/control (the socket server and client) links nothing of this module but sync/api, " +
			"so a client of the agent links nothing more",
		subjects: []string{"sync/control/..."},
		forbidden: func(_, to *pkg) bool {
			return ours(to.ImportPath) && !matchAny(to.ImportPath, "sync/control/...", "sync/api")
		},
	},
	{
		name: "cli-no-gui",
		words: "the agent and command line (cmd/inboxsync) link no Fyne, no go-gl and not ui/window: " +
			"every verb starts without a GUI toolkit (the windows are cmd/inboxsync-window)",
		subjects:  []string{"cmd/inboxsync"},
		forbidden: links("fyne.io/fyne/v2/...", "github.com/go-gl/...", "ui/window/..."),
	},
}

// violation is a rule broken by one subject: path leads from the subject
// to the package that must not be linked (or imported where it is).
type violation struct {
	rule *rule
	path []string
}

func (v violation) String() string {
	short := make([]string, len(v.path))
	for i, p := range v.path {
		short[i] = strings.TrimPrefix(p, module+"/")
	}
	return strings.Join(short, " → ")
}

// check returns every violation of rules in g, at most one per subject,
// rule and forbidden package (along a shortest import path, not through
// another forbidden package), and the number of subjects each rule found.
func check(g graph, rules []rule) (vs []violation, subjects map[string]int) {
	subjects = map[string]int{}
	names := make([]string, 0, len(g))
	for p := range g {
		names = append(names, p)
	}
	slices.Sort(names)
	for i := range rules {
		r := &rules[i]
		for _, s := range names {
			if !ours(s) || !matchAny(s, r.subjects...) {
				continue
			}
			subjects[r.name]++
			// Breadth first, so each path printed is a shortest one.
			from := map[string]string{s: ""}
			queue := []string{s}
			reported := map[string]bool{}
			for len(queue) > 0 {
				a := queue[0]
				queue = queue[1:]
				for _, b := range g[a].Imports {
					to := g[b]
					if to == nil {
						// "C" (cgo) is in Imports but is no package.
						to = &pkg{ImportPath: b, Standard: b == "C"}
					}
					if r.forbidden(g[a], to) {
						// Reported once, and not followed: what it
						// links in turn would only repeat the finding.
						if !reported[b] {
							reported[b] = true
							path := []string{b}
							for p := a; p != ""; p = from[p] {
								path = append(path, p)
							}
							slices.Reverse(path)
							vs = append(vs, violation{rule: r, path: path})
						}
						continue
					}
					if _, seen := from[b]; !seen && g[b] != nil {
						from[b] = a
						queue = append(queue, b)
					}
				}
			}
		}
	}
	return vs, subjects
}

// report writes vs grouped by rule, each rule in words before its paths.
func report(w io.Writer, vs []violation) {
	var last *rule
	for _, v := range vs {
		if v.rule != last {
			fmt.Fprintf(w, "\nrule %s: %s\n", v.rule.name, v.rule.words)
			last = v.rule
		}
		fmt.Fprintf(w, "  broken by %s\n", v)
	}
}

// builds are the configurations the rules hold in: the release build, the
// test build and the other systems' release builds. Cgo stays on for those,
// as their programs are built (Fyne needs it), so that go list picks the
// files that ship; listing needs no C compiler.
var builds = []struct {
	name string
	env  []string
	args []string
}{
	{name: "release"},
	{name: "testprovider", args: []string{"-tags", "testprovider"}},
	{name: "windows", env: []string{"GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=1"}},
	{name: "darwin", env: []string{"GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=1"}},
}

// TestImportRules checks every rule against what `go list -deps` reports
// for this module in each build.
func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list on the whole module")
	}
	root := moduleRoot(t)
	watchTree(t, root)
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			args := append([]string{"list", "-deps", "-json=ImportPath,Standard,Imports"}, b.args...)
			cmd := exec.Command("go", append(args, "./...")...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), b.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list in the %s build: %v\n%s", b.name, err, stderr.Bytes())
			}
			g, err := parseList(out)
			if err != nil {
				t.Fatal(err)
			}
			vs, subjects := check(g, rules)
			for _, r := range rules {
				if subjects[r.name] == 0 {
					t.Errorf("rule %s is about no package of this build (subjects %v): it checks nothing; "+
						"was a package renamed?", r.name, r.subjects)
				}
			}
			if len(vs) > 0 {
				var sb strings.Builder
				report(&sb, vs)
				t.Errorf("import rules broken:%s", sb.String())
			}
		})
	}
}

// parseList reads the stream of JSON objects `go list -json` writes.
func parseList(out []byte) (graph, error) {
	g := graph{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			return g, nil
		} else if err != nil {
			return nil, fmt.Errorf("reading go list's output: %w", err)
		}
		g[p.ImportPath] = &p
	}
}

// moduleRoot is the directory of this module's go.mod.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// watchTree opens every directory of the module that go list reads. The
// go command caches a passing test's result until a file or directory the
// test opened changes; go list runs in a child process, whose reads it
// does not see, so without this a cached pass would outlive an import
// added anywhere else.
func watchTree(t *testing.T, root string) {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") || d.Name() == "testdata") {
			return filepath.SkipDir // go list skips these too
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// edges builds a graph from lines "a -> b c …" (a imports b, c, …).
// Names without a domain are this module's; "std:" marks a standard
// package; "C" is cgo.
func edges(lines ...string) graph {
	g := graph{}
	node := func(name string) *pkg {
		std := strings.HasPrefix(name, "std:")
		name = strings.TrimPrefix(name, "std:")
		if first, _, _ := strings.Cut(name, "/"); !std && !strings.Contains(first, ".") {
			name = module + "/" + name
		}
		if g[name] == nil {
			g[name] = &pkg{ImportPath: name, Standard: std}
		}
		return g[name]
	}
	for _, l := range lines {
		from, to, _ := strings.Cut(l, "->")
		a := node(strings.TrimSpace(from))
		for _, b := range strings.Fields(to) {
			if b == "C" { // as go list has it: imported, not a package
				a.Imports = append(a.Imports, b)
				continue
			}
			a.Imports = append(a.Imports, node(b).ImportPath)
		}
	}
	return g
}

// layered is a small graph shaped like the real one, breaking no rule.
var layered = []string{
	"cmd/inboxsync-window -> ui/window internal/install internal/fynelocale std:fmt",
	"ui/window -> sync/api sync/control assets internal/autostart fyne.io/fyne/v2/app",
	"fyne.io/fyne/v2/app -> fyne.io/fyne/v2/internal/driver/glfw",
	"fyne.io/fyne/v2/internal/driver/glfw -> fyne.io/systray github.com/go-gl/glfw/v3.3/glfw C",
	"fyne.io/systray -> fyne.io/systray/internal/generated/menu github.com/godbus/dbus/v5",
	"sync/control -> sync/api golang.org/x/sys/unix std:net",
	"sync/api -> std:time std:fmt",
	"cmd/inboxsync -> app internal/install",
	"app -> sync/engine sync/control ui/tray sync/desktopnotice sync/emailnotice",
	"ui/tray -> fyne.io/systray sync/api",
	"sync/engine -> sync/store sync/provider sync/crm/crmlog sync/session",
	"sync/session -> sync/provider sync/api",
	"sync/store -> sync/crm modernc.org/sqlite",
	"sync/crm/crmlog -> sync/crm",
	"sync/crm/salesforce -> sync/crm sync/secret",
	"sync/session -> sync/secret",
	"sync/org -> sync/session sync/org/pgstore sync/provider/graph",
	"cmd/inboxsync -> sync/org",
	"sync/secret/keyring -> sync/secret github.com/zalando/go-keyring",
	"app -> sync/secret/keyring",
	"sync/emailnotice -> github.com/wneessen/go-mail sync/store",
	"sync/provider/ews -> sync/provider sync/provider/internal/httpapi",
}

// TestRulesCanFail shows each rule failing on the layered graph with one
// forbidden edge added, naming the path to it, and the layered graph
// itself breaking none. A rule no case breaks fails the test: a check that
// cannot fail proves nothing.
func TestRulesCanFail(t *testing.T) {
	if vs, subjects := check(edges(layered...), rules); len(vs) > 0 {
		var b strings.Builder
		report(&b, vs)
		t.Fatalf("the layered graph breaks rules:%s", b.String())
	} else {
		for _, r := range rules {
			if subjects[r.name] == 0 {
				t.Errorf("rule %s finds no subject in the layered graph", r.name)
			}
		}
	}
	cases := []struct {
		edge string
		want map[string][]string // rule → every path it must print
	}{
		{"sync/engine -> fyne.io/fyne/v2", map[string][]string{
			"sync-no-desktop": {"sync/engine → fyne.io/fyne/v2"},
			"cli-no-gui":      {"cmd/inboxsync → app → sync/engine → fyne.io/fyne/v2"}}},
		{"sync/policy -> app", map[string][]string{
			"sync-no-desktop": {"sync/policy → app"}}},
		{"sync/provider/ews -> ui/window", map[string][]string{
			"sync-no-desktop": {"sync/provider/ews → ui/window"}}},
		{"sync/secret/keyring -> fyne.io/systray", map[string][]string{
			"sync-no-desktop": {"sync/secret/keyring → fyne.io/systray"}}},
		{"ui/window -> sync/store", map[string][]string{
			"window-only-control":       {"cmd/inboxsync-window → ui/window → sync/store"},
			"window-no-agent-libraries": {"cmd/inboxsync-window → ui/window → sync/store → modernc.org/sqlite"}}},
		// A package renamed or added under sync/ is refused too.
		{"ui/window -> sync/emailnotice", map[string][]string{
			"window-only-control": {"cmd/inboxsync-window → ui/window → sync/emailnotice"},
			"window-no-agent-libraries": {
				"cmd/inboxsync-window → ui/window → sync/emailnotice → github.com/wneessen/go-mail",
				"cmd/inboxsync-window → ui/window → sync/emailnotice → sync/store → modernc.org/sqlite"}}},
		{"cmd/inboxsync-window -> ui/tray", map[string][]string{
			"window-only-control": {"cmd/inboxsync-window → ui/tray"},
			"window-no-systray":   {"cmd/inboxsync-window → ui/tray → fyne.io/systray"}}},
		{"internal/autostart -> github.com/zalando/go-keyring", map[string][]string{
			"window-no-agent-libraries": {"cmd/inboxsync-window → ui/window → internal/autostart → github.com/zalando/go-keyring"}}},
		{"ui/window -> fyne.io/systray/internal/generated/menu", map[string][]string{
			"window-no-systray": {"cmd/inboxsync-window → ui/window → fyne.io/systray/internal/generated/menu"}}},
		{"sync/provider/ews -> sync/engine", map[string][]string{
			"engine-on-top": {"sync/provider/ews → sync/engine"}}},
		{"sync/store -> sync/engine", map[string][]string{
			"engine-on-top": {"sync/store → sync/engine"}}},
		{"sync/crm/crmlog -> sync/engine", map[string][]string{
			"engine-on-top": {"sync/crm/crmlog → sync/engine"}}},
		{"sync/session -> sync/engine", map[string][]string{
			"engine-on-top":    {"sync/session → sync/engine"},
			"session-any-host": {"sync/session → sync/engine → sync/store"},
			"org-headless":     {"sync/org → sync/session → sync/engine"}}},
		{"sync/provider -> sync/secret/keyring", map[string][]string{
			"session-any-host": {"sync/session → sync/provider → sync/secret/keyring"},
			"org-headless":     {"sync/org → sync/session → sync/provider → sync/secret/keyring"}}},
		{"sync/org/pgstore -> sync/store", map[string][]string{
			"org-headless": {"sync/org → sync/org/pgstore → sync/store", "sync/org/pgstore → sync/store"}}},
		{"sync/session -> sync/store", map[string][]string{
			"session-any-host": {"sync/session → sync/store"},
			"org-headless":     {"sync/org → sync/session → sync/store"}}},
		{"sync/api -> golang.org/x/text", map[string][]string{
			"api-leaf": {"sync/api → golang.org/x/text"}}},
		{"sync/api -> sync/policy", map[string][]string{
			"api-leaf":            {"sync/api → sync/policy"},
			"control-on-api":      {"sync/control → sync/api → sync/policy"},
			"window-only-control": {"cmd/inboxsync-window → ui/window → sync/api → sync/policy"}}},
		{"sync/control -> internal/install", map[string][]string{
			"control-on-api": {"sync/control → internal/install"}}},
		{"cmd/inboxsync -> ui/window", map[string][]string{
			"cli-no-gui": {"cmd/inboxsync → ui/window"}}},
		{"app -> fyne.io/fyne/v2/app", map[string][]string{
			"cli-no-gui": {"cmd/inboxsync → app → fyne.io/fyne/v2/app"}}},
		{"ui/tray -> github.com/go-gl/gl", map[string][]string{
			"cli-no-gui": {"cmd/inboxsync → app → ui/tray → github.com/go-gl/gl"}}},
	}
	broken := map[string]bool{}
	for _, c := range cases {
		vs, _ := check(edges(append(slices.Clone(layered), c.edge)...), rules)
		got := map[string][]string{}
		for _, v := range vs {
			got[v.rule.name] = append(got[v.rule.name], v.String())
			broken[v.rule.name] = true
		}
		for name := range got {
			slices.Sort(got[name])
		}
		for name := range c.want {
			slices.Sort(c.want[name])
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("with the edge %s, the rules report\n%s\nwant\n%s", c.edge, show(got), show(c.want))
		}
	}
	for _, r := range rules {
		if !broken[r.name] {
			t.Errorf("no case breaks rule %s: show that it can fail", r.name)
		}
	}
}

// show writes what check reported, one rule and path a line.
func show(m map[string][]string) string {
	var b strings.Builder
	names := slices.Sorted(maps.Keys(m))
	for _, n := range names {
		for _, p := range m[n] {
			fmt.Fprintf(&b, "\t%s: %q,\n", n, p)
		}
	}
	return b.String()
}
