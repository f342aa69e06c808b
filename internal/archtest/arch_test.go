// Package archtest checks the import rules of docs/ARCHITECTURE.md.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/learnviews/learnviews"

// deps lists the packages that pkg imports, directly or not.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// imports lists the packages that pkg imports directly.
func imports(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestGorgoniaFreePackages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, pkg := range []string{"rundir", "registry", "chw", "config", "datasets", "datasets/cmnist",
		"datasets/fashionphotos", "datasets/preview", "viewgen", "plots", "sweep"} {
		for _, d := range deps(t, pkg) {
			if strings.HasPrefix(d, "gorgonia.org/") {
				t.Errorf("%s imports %s", pkg, d)
			}
		}
	}
}

func TestOnlyConfigAndCommandsImportViper(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", module+"/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
		if rel == "config" || strings.HasPrefix(rel, "cmd/") {
			continue
		}
		for _, d := range imports(t, rel) {
			if strings.HasPrefix(d, "github.com/spf13/") {
				t.Errorf("%s imports %s", rel, d)
			}
		}
	}
}

func TestPlotsNeverImportsTheEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, d := range deps(t, "plots") {
		for _, engine := range []string{"/games", "/experiment", "/contrast", "/flow", "/nn"} {
			if d == module+engine {
				t.Errorf("plots imports %s", d)
			}
		}
	}
}
