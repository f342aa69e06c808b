//go:build ignore

// Command typecheck type-checks Go packages for a build configuration that
// this machine cannot compile, such as the cuda build without NVIDIA's
// headers: it asks `go list` for the packages and their dependencies under
// the given tags and module file, and runs go/types over their sources with
// every cgo reference (C.x) accepted unchecked. It catches what goes wrong
// at the Go level (unknown names, wrong arguments, missing methods) in the
// cuda-tagged code of this module and of gorgonia; the C side is checked
// only by a real cgo build (scripts/cuda/check.sh --full).
//
// Usage: go run scripts/cuda/typecheck.go [-modfile F] [-tags T] packages...
//
// Errors are reported for the named packages and for every dependency
// outside the standard library that has no cgo files; a dependency with cgo
// files (gorgonia.org/cu and its packages) is only read for its
// declarations, since without the C headers its C-typed code cannot be
// judged. It exits 1 if it reports an error.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type pkg struct {
	Dir, ImportPath, Name string
	Standard, DepOnly     bool
	GoFiles, CgoFiles     []string
	ImportMap             map[string]string
	Error                 *struct{ Err string }
	DepsErrors            []*struct{ Err string }

	types *types.Package
}

func main() {
	modfile := flag.String("modfile", "", "module file (go build -modfile)")
	tags := flag.String("tags", "cuda", "build tags")
	verbose := flag.Bool("v", false, "list the packages checked")
	flag.Parse()
	start := time.Now()
	args := []string{"list", "-e", "-deps", "-json", "-tags", *tags}
	if *modfile != "" {
		args = append(args, "-modfile", *modfile)
	}
	cmd := exec.Command("go", append(args, flag.Args()...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fail(fmt.Errorf("go list: %w", err))
	}
	var pkgs []*pkg
	byPath := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			fail(err)
		}
		pkgs = append(pkgs, p)
		byPath[p.ImportPath] = p
	}
	fset := token.NewFileSet()
	sizes := types.SizesFor("gc", "amd64")
	errs, checked := 0, 0
	for _, p := range pkgs {
		if p.ImportPath == "unsafe" {
			p.types = types.Unsafe
			continue
		}
		if p.Error != nil {
			fmt.Printf("%s: %s\n", p.ImportPath, p.Error.Err)
			errs++
		}
		// Report errors and check function bodies where they can be judged.
		report := !p.Standard && (!p.DepOnly || len(p.CgoFiles) == 0)
		var files []*ast.File
		for _, name := range append(append([]string(nil), p.GoFiles...), p.CgoFiles...) {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				fail(err)
			}
			files = append(files, f)
		}
		var first []string
		conf := types.Config{
			FakeImportC:      true,
			IgnoreFuncBodies: !report,
			Sizes:            sizes,
			Importer: importer(func(path string) (*types.Package, error) {
				if q, ok := p.ImportMap[path]; ok {
					path = q
				}
				d, ok := byPath[path]
				if !ok || d.types == nil {
					return nil, fmt.Errorf("package %s not loaded", path)
				}
				return d.types, nil
			}),
			Error: func(err error) {
				if report {
					first = append(first, err.Error())
				}
			},
		}
		p.types, _ = conf.Check(p.ImportPath, fset, files, nil)
		if report {
			checked++
			if *verbose {
				fmt.Fprintf(os.Stderr, "checked %s (%d files)\n", p.ImportPath, len(files))
			}
		}
		for _, e := range first {
			fmt.Println(e)
			errs++
		}
	}
	fmt.Fprintf(os.Stderr, "typecheck: %d packages under -tags %s (%d checked in full), %d errors, %.1fs\n",
		len(pkgs), *tags, checked, errs, time.Since(start).Seconds())
	if errs > 0 {
		os.Exit(1)
	}
}

type importer func(path string) (*types.Package, error)

func (f importer) Import(path string) (*types.Package, error) { return f(path) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "typecheck:", strings.TrimSpace(err.Error()))
	os.Exit(2)
}
