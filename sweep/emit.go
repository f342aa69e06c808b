package sweep

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/learnviews/learnviews/rundir"
)

// ArraySpec writes task indices as a Slurm --array list of ranges, e.g.
// "0-3,5,7-9". The indices need not be sorted; duplicates are dropped.
func ArraySpec(indices []int) string {
	idx := append([]int(nil), indices...)
	sort.Ints(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] <= idx[j]+1 {
			j++
		}
		if idx[i] == idx[j] {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// ParseArraySpec reads a Slurm --array list ("0-3,5,7-9", an optional
// "%N" throttle ignored) back into indices.
func ParseArraySpec(s string) ([]int, error) {
	s, _, _ = strings.Cut(s, "%")
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("sweep: array list %q: %q is not an index", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("sweep: array list %q: %q is not a range", s, part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// SlurmOptions shape the job-array script.
type SlurmOptions struct {
	Dir         string // the sweep directory, on a disk every node sees
	Bin         string // the learnviews executable on the nodes
	Tasks       []int  // the task indices to run (the unfinished ones)
	JobName     string
	CPUs        int    // --cpus-per-task; also the threads of each task
	Time        string // --time limit per task, e.g. 02:00:00; "" for the partition's default
	Mem         string // --mem per task, e.g. 4G; "" for the default
	Partition   string // "" for the default partition
	MaxParallel int    // at most this many tasks at once (%N); 0 for no limit
}

var slurmTemplate = template.Must(template.New("slurm").Parse(`#!/bin/bash
# Slurm job array of the learnviews sweep in {{.Dir}}
# Array index i runs task i of the sweep (one point at one seed) into its run
# directory; a finished task is skipped, a stopped one resumes. Submit with
#   sbatch {{.Script}}
# and gather the table when the array has finished with
#   learnviews sweep --collect {{.Dir}}
#SBATCH --job-name={{.JobName}}
#SBATCH --array={{.Array}}
#SBATCH --cpus-per-task={{.CPUs}}
#SBATCH --ntasks=1
#SBATCH --output={{.Dir}}/logs/slurm-%A_%a.log
{{- if .Time}}
#SBATCH --time={{.Time}}{{end}}
{{- if .Mem}}
#SBATCH --mem={{.Mem}}{{end}}
{{- if .Partition}}
#SBATCH --partition={{.Partition}}{{end}}
set -euo pipefail
export GOMAXPROCS="${SLURM_CPUS_PER_TASK:-{{.CPUs}}}"
exec {{.QBin}} run --sweep {{.QDir}} --sweep-point "${SLURM_ARRAY_TASK_ID}"
`))

// SlurmScript writes the job-array script: one array index per task.
func SlurmScript(w io.Writer, script string, o SlurmOptions) error {
	if len(o.Tasks) == 0 {
		return fmt.Errorf("sweep: no task to put in a job array")
	}
	if o.CPUs <= 0 {
		o.CPUs = 1
	}
	if strings.ContainsAny(o.Dir, " \t\n'\"$%") {
		return fmt.Errorf("sweep: the sweep directory %q holds a space, quote, $ or %%, which Slurm's #SBATCH lines cannot carry", o.Dir)
	}
	array := ArraySpec(o.Tasks)
	if o.MaxParallel > 0 {
		array += "%" + strconv.Itoa(o.MaxParallel)
	}
	return slurmTemplate.Execute(w, map[string]any{
		"Dir": o.Dir, "Script": script, "JobName": o.JobName, "Array": array, "CPUs": o.CPUs,
		"Time": o.Time, "Mem": o.Mem, "Partition": o.Partition, "QBin": shellQuote(o.Bin), "QDir": shellQuote(o.Dir),
	})
}

// KubernetesOptions shape the Indexed Job manifest.
type KubernetesOptions struct {
	Name        string // the Job's name
	Image       string // a container image with learnviews on its PATH
	Claim       string // the PersistentVolumeClaim that holds the sweep directory
	MountPath   string // where the claim is mounted; the sweep directory is its root
	SubPath     string // the sweep directory inside the claim ("" for its root)
	Tasks       int    // completions: one index per task
	Parallelism int    // pods at once
	CPUs        int    // CPU request per pod, and its threads
	Memory      string // memory request, e.g. 4Gi; "" for none
}

var kubeTemplate = template.Must(template.New("k8s").Parse(`# Kubernetes Indexed Job of a learnviews sweep: completion index i runs task i
# of the sweep (one point at one seed). The sweep directory (sweep.json,
# tasks/) lives on the volume claim {{.Claim}}{{if .SubPath}} under {{.SubPath}}{{end}}; a finished task is
# skipped, a stopped one resumes. Apply with
#   kubectl apply -f job.yaml
# and, once it has completed, gather the table from the volume with
#   learnviews sweep --collect DIR
apiVersion: batch/v1
kind: Job
metadata:
  name: {{.Name}}
spec:
  completionMode: Indexed
  completions: {{.Tasks}}
  parallelism: {{.Parallelism}}
  backoffLimitPerIndex: 2
  maxFailedIndexes: {{.Tasks}}
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: learnviews
          image: {{.Image}}
          command: ["learnviews", "run", "--sweep", "{{.MountPath}}", "--sweep-point", "$(JOB_COMPLETION_INDEX)"]
          env:
            - name: GOMAXPROCS
              value: "{{.CPUs}}"
          resources:
            requests:
              cpu: "{{.CPUs}}"{{if .Memory}}
              memory: "{{.Memory}}"{{end}}
          volumeMounts:
            - name: sweep
              mountPath: {{.MountPath}}{{if .SubPath}}
              subPath: {{.SubPath}}{{end}}
      volumes:
        - name: sweep
          persistentVolumeClaim:
            claimName: {{.Claim}}
`))

// KubernetesJob writes the Indexed Job manifest: one completion index per
// task.
func KubernetesJob(w io.Writer, o KubernetesOptions) error {
	if o.Tasks <= 0 {
		return fmt.Errorf("sweep: no task to put in a Job")
	}
	if o.CPUs <= 0 {
		o.CPUs = 1
	}
	if o.Parallelism <= 0 {
		o.Parallelism = o.Tasks
	}
	if o.MountPath == "" {
		o.MountPath = "/sweep"
	}
	o.Name = dnsLabel(o.Name)
	return kubeTemplate.Execute(w, o)
}

// dnsLabel makes a Kubernetes object name: lower-case letters, digits and
// hyphens, at most 63 characters.
func dnsLabel(s string) string {
	s = strings.ReplaceAll(Slug(s), ".", "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// EmitOptions choose and shape the cluster job that Emit writes.
type EmitOptions struct {
	Kind string // "slurm" or "k8s"
	// Slurm: the learnviews executable on the nodes and the resources of
	// each run.
	Bin                  string
	CPUs                 int
	Time, Mem, Partition string
	MaxParallel          int // at most this many runs at once (0: no limit)
	// Kubernetes: the container image and the volume claim (and path in
	// it) that hold the sweep directory.
	Image, Claim, SubPath string
}

// Job is a written cluster job.
type Job struct {
	Path string // the job file
	Dir  string // the sweep directory, absolute
	Runs int    // the unfinished runs it covers
}

// Emit writes the cluster job for the unfinished tasks of the sweep in
// dir: DIR/slurm.sbatch (a job array) or DIR/job.yaml (a Kubernetes
// Indexed Job).
func Emit(dir string, plan *Plan, o EmitOptions) (Job, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Job{}, err
	}
	var todo []int
	for _, t := range plan.Tasks {
		r, err := ReadResult(filepath.Join(dir, t.Dir))
		if err != nil {
			return Job{}, err
		}
		if r == nil {
			todo = append(todo, t.Index)
		}
	}
	if len(todo) == 0 {
		return Job{}, fmt.Errorf("every run of the sweep in %s has finished: gather them with learnviews sweep --collect %s", dir, dir)
	}
	if o.CPUs <= 0 {
		return Job{}, fmt.Errorf("--cpus-per-task %d: want at least 1", o.CPUs)
	}
	var buf bytes.Buffer
	job := Job{Dir: abs, Runs: len(todo)}
	switch o.Kind {
	case "slurm":
		job.Path = filepath.Join(abs, "slurm.sbatch")
		if err := os.MkdirAll(filepath.Join(abs, "logs"), 0o755); err != nil {
			return Job{}, err
		}
		err = SlurmScript(&buf, job.Path, SlurmOptions{Dir: abs, Bin: o.Bin, Tasks: todo, JobName: "learnviews-" + plan.Profile,
			CPUs: o.CPUs, Time: o.Time, Mem: o.Mem, Partition: o.Partition, MaxParallel: o.MaxParallel})
	case "k8s", "kubernetes":
		job.Path = filepath.Join(abs, "job.yaml")
		err = KubernetesJob(&buf, KubernetesOptions{Name: "learnviews-" + plan.Profile + "-" + filepath.Base(abs),
			Image: o.Image, Claim: o.Claim, SubPath: o.SubPath, Tasks: len(plan.Tasks), Parallelism: o.MaxParallel, CPUs: o.CPUs})
	default:
		return Job{}, fmt.Errorf("--emit %q: want slurm or k8s", o.Kind)
	}
	if err != nil {
		return Job{}, err
	}
	if err := rundir.WriteBytesAtomic(job.Path, buf.Bytes()); err != nil {
		return Job{}, err
	}
	if o.Kind == "slurm" {
		os.Chmod(job.Path, 0o755)
	}
	return job, nil
}
