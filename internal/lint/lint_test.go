package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// listedPackage is the part of `go list -json` output the rules need.
type listedPackage struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	CgoFiles     []string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// loadPackages lists every package of the module (with -e, so a package that
// does not compile yet is still listed with what could be determined).
func loadPackages(t *testing.T) (module string, pkgs []listedPackage) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	module = strings.TrimSpace(string(out))
	cmd := exec.Command("go", "list", "-e", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list found no packages in %s", module)
	}
	return module, pkgs
}

// rel returns path relative to the module ("" for the root), or ok=false
// for a path outside the module.
func rel(module, path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// under reports whether a module-relative package path is pkg or inside it.
func under(relPath, pkg string) bool {
	return relPath == pkg || strings.HasPrefix(relPath, pkg+"/")
}

// importRule restricts the project packages that the packages under From
// may import. Allowed lists module-relative prefixes; Transitive applies the
// rule to all dependencies, not just direct imports.
type importRule struct {
	From       string
	Allowed    []string // nil: nothing from the project
	Forbidden  []string // checked against all (transitive) dependencies
	Why        string
	TestsToo   bool // also check the package's test imports
	Transitive bool
}

var importRules = []importRule{
	{From: "segment", Allowed: []string{"internal/invariants"}, TestsToo: true, Transitive: true,
		Why: "segment knows nothing of queues, streams or the index (DESIGN: segment and index import nothing from the project)"},
	{From: "index", Allowed: []string{"internal/invariants"}, TestsToo: true, Transitive: true,
		Why: "index is a leaf over pebble (DESIGN: segment and index import nothing from the project)"},
	{From: "engine", Allowed: []string{"segment", "index", "internal"},
		Why: "imports flow cmd → server → engine → {index, segment}; engine never sees HTTP or AWS wire formats"},
	{From: "engine", Forbidden: []string{"server", "cmd", "bench"}, Transitive: true,
		Why: "engine never depends on server, cmd or bench"},
	{From: "bench", Forbidden: []string{"engine"}, Transitive: true,
		Why: "bench talks to a server only over the wire (AWS SDK clients), never to engine"},
	{From: "server", Forbidden: []string{"segment", "index", "bench", "cmd"},
		Why: "server uses engine's public API only; no back doors into segment/ or index/"},
}

// TestForbiddenImports enforces the import direction of DESIGN.md and
// STYLE.md §1.1 over every package in the module, using go list.
func TestForbiddenImports(t *testing.T) {
	module, pkgs := loadPackages(t)
	found := map[string]bool{}
	for _, p := range pkgs {
		if r, ok := rel(module, p.ImportPath); ok {
			found[r] = true
		}
	}
	for _, must := range []string{"engine", "segment", "index"} {
		if !found[must] {
			t.Errorf("package %s not found by go list; the rules would check nothing", must)
		}
	}
	for _, p := range pkgs {
		from, ok := rel(module, p.ImportPath)
		if !ok {
			continue
		}
		for _, rule := range importRules {
			if !under(from, rule.From) {
				continue
			}
			imports := p.Imports
			if rule.Transitive {
				imports = p.Deps
			}
			if rule.TestsToo {
				imports = append(slices.Clone(imports), p.TestImports...)
				imports = append(imports, p.XTestImports...)
			}
			for _, imp := range imports {
				to, ok := rel(module, imp)
				if !ok || under(to, rule.From) {
					continue
				}
				if msg := checkImport(rule, to); msg != "" {
					t.Errorf("%s imports %s: %s (%s)", from, to, msg, rule.Why)
				}
			}
		}
	}
}

// checkImport returns why importing module-relative path to breaks rule, or
// "" if it does not.
func checkImport(rule importRule, to string) string {
	for _, f := range rule.Forbidden {
		if under(to, f) {
			return "forbidden"
		}
	}
	if rule.Forbidden != nil {
		return ""
	}
	for _, a := range rule.Allowed {
		if under(to, a) {
			return ""
		}
	}
	return "not in the allowed list " + fmt.Sprint(rule.Allowed)
}

// parsedFile is one non-test Go file of a package.
type parsedFile struct {
	path string
	fset *token.FileSet
	file *ast.File
}

// parseNonTestFiles parses the non-test Go files of every package under pkg.
func parseNonTestFiles(t *testing.T, module string, pkgs []listedPackage, pkg string) []parsedFile {
	t.Helper()
	var files []parsedFile
	for _, p := range pkgs {
		r, ok := rel(module, p.ImportPath)
		if !ok || !under(r, pkg) {
			continue
		}
		for _, name := range append(slices.Clone(p.GoFiles), p.CgoFiles...) {
			path := filepath.Join(p.Dir, name)
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Errorf("parse %s: %v", path, err)
				continue
			}
			files = append(files, parsedFile{path: path, fset: fset, file: f})
		}
	}
	return files
}

// importName returns the name under which file imports path, or "".
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || p != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return filepath.Base(path)
	}
	return ""
}

// selectorUses calls fn for every pkgName.Sel expression in f, with the
// innermost enclosing function declaration (nil at top level).
func selectorUses(f *ast.File, pkgName string, fn func(sel *ast.SelectorExpr, fd *ast.FuncDecl)) {
	if pkgName == "" || pkgName == "_" {
		return
	}
	for _, decl := range f.Decls {
		fd, _ := decl.(*ast.FuncDecl)
		ast.Inspect(decl, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == pkgName {
				fn(sel, fd)
			}
			return true
		})
	}
}

// osAllowed are the identifiers of package os that do not touch files:
// types, constants and error values that vfs.FS APIs also use.
var osAllowed = map[string]bool{
	"FileMode": true, "FileInfo": true, "ModePerm": true, "ModeDir": true,
	"ErrNotExist": true, "ErrExist": true, "ErrClosed": true, "ErrDeadlineExceeded": true,
	"IsNotExist": true, "IsExist": true, "PathError": true, "LinkError": true, "SyscallError": true,
	"O_RDONLY": true, "O_WRONLY": true, "O_RDWR": true, "O_CREATE": true, "O_TRUNC": true,
	"O_APPEND": true, "O_EXCL": true, "O_SYNC": true, "Getpagesize": true, "Getpid": true,
}

// TestNoOSFileCalls checks that segment/ and index/ reach files only
// through pebble's vfs.FS (STYLE §2): any use of package os beyond its
// types, flags and error values is reported. Test files are exempt (they
// may corrupt real files on purpose).
func TestNoOSFileCalls(t *testing.T) {
	module, pkgs := loadPackages(t)
	for _, pkg := range []string{"segment", "index"} {
		files := parseNonTestFiles(t, module, pkgs, pkg)
		if len(files) == 0 {
			t.Errorf("no %s files found", pkg)
		}
		for _, pf := range files {
			for _, v := range osViolations(pf) {
				t.Error(v)
			}
		}
	}
}

func osViolations(pf parsedFile) []string {
	var out []string
	selectorUses(pf.file, importName(pf.file, "os"), func(sel *ast.SelectorExpr, _ *ast.FuncDecl) {
		if !osAllowed[sel.Sel.Name] {
			out = append(out, fmt.Sprintf("%s: os.%s: use the vfs.FS passed in Options instead (STYLE §2)", pf.fset.Position(sel.Pos()), sel.Sel.Name))
		}
	})
	return out
}

// wallClockReads are the functions of package time that read the wall
// clock.
var wallClockReads = map[string]bool{"Now": true, "Since": true, "Until": true}

// TestNoTimeNowInEngine checks that engine's non-test code reads time only
// through its Clock (STYLE §6 "Time"), so tests can control it. The one
// exemption is SystemClock.Now, the Clock that wraps time.Now.
func TestNoTimeNowInEngine(t *testing.T) {
	module, pkgs := loadPackages(t)
	files := parseNonTestFiles(t, module, pkgs, "engine")
	if len(files) == 0 {
		t.Fatalf("no engine files found")
	}
	for _, pf := range files {
		for _, v := range clockViolations(pf) {
			t.Error(v)
		}
	}
}

func clockViolations(pf parsedFile) []string {
	var out []string
	selectorUses(pf.file, importName(pf.file, "time"), func(sel *ast.SelectorExpr, fd *ast.FuncDecl) {
		if wallClockReads[sel.Sel.Name] && !isSystemClockNow(fd) {
			out = append(out, fmt.Sprintf("%s: time.%s: use db.Clock() (STYLE §6)", pf.fset.Position(sel.Pos()), sel.Sel.Name))
		}
	})
	return out
}

func isSystemClockNow(fd *ast.FuncDecl) bool {
	if fd == nil || fd.Recv == nil || len(fd.Recv.List) != 1 || fd.Name.Name != "Now" {
		return false
	}
	typ := fd.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.Name == "SystemClock"
}
