package experiment

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/learnviews/learnviews/config"
	"github.com/learnviews/learnviews/rundir"
)

// writeManifest records what a run needs to be reproduced: the resolved
// configuration, seeds, code version and machine.
func writeManifest(dir string, cfg config.Config) error {
	b, err := cfg.YAML()
	if err != nil {
		return err
	}
	var asMap map[string]any
	if err := yaml.Unmarshal(b, &asMap); err != nil {
		return err
	}
	host, _ := os.Hostname()
	man := map[string]any{
		"config":     asMap,
		"seeds":      map[string]any{"seed": cfg.Seed},
		"git_commit": gitCommit(),
		"go_version": runtime.Version(),
		"host":       host,
		"os_arch":    runtime.GOOS + "/" + runtime.GOARCH,
		"cpus":       runtime.NumCPU(),
		"start_time": time.Now().UTC().Format(time.RFC3339),
		"command":    strings.Join(os.Args, " "),
		"profile":    cfg.Profile,
	}
	out, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return rundir.WriteBytesAtomic(filepath.Join(dir, rundir.ManifestFile), out)
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	commit := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		commit += "-dirty"
	}
	return commit
}
