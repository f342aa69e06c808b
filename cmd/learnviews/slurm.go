package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/learnviews/learnviews/rundir"
	"github.com/learnviews/learnviews/sweep"
)

// emitFlags choose and shape the cluster job that --emit writes.
type emitFlags struct {
	kind string // slurm or k8s

	bin         string
	cpus        int
	time        string
	mem         string
	partition   string
	maxParallel int

	image       string
	claim       string
	subPath     string
	parallelism int
}

func (f *emitFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kind, "emit", "", "write a cluster job for the runs instead of running them: slurm (DIR/slurm.sbatch) or k8s (DIR/job.yaml)")
	fl.StringVar(&f.bin, "slurm-bin", "", "learnviews executable on the nodes (default: this one's absolute path)")
	fl.IntVar(&f.cpus, "cpus-per-task", 2, "cores per run on the cluster (Slurm --cpus-per-task, Kubernetes CPU request)")
	fl.StringVar(&f.time, "slurm-time", "", "Slurm --time limit of each run, e.g. 02:00:00")
	fl.StringVar(&f.mem, "slurm-mem", "", "Slurm --mem of each run, e.g. 4G")
	fl.StringVar(&f.partition, "slurm-partition", "", "Slurm partition")
	fl.IntVar(&f.maxParallel, "max-parallel", 0, "at most this many runs at once on the cluster (0: no limit)")
	fl.StringVar(&f.image, "k8s-image", "learnviews:latest", "container image with learnviews on its PATH")
	fl.StringVar(&f.claim, "k8s-claim", "learnviews-sweeps", "PersistentVolumeClaim that holds the sweep directory")
	fl.StringVar(&f.subPath, "k8s-subpath", "", "the sweep directory's path inside the claim (default: its root)")
}

// emitJobs writes the cluster job of the sweep's unfinished tasks.
func emitJobs(dir string, plan *sweep.Plan, f emitFlags, w io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var todo []int
	for _, t := range plan.Tasks {
		r, err := sweep.ReadResult(filepath.Join(dir, t.Dir))
		if err != nil {
			return err
		}
		if r == nil {
			todo = append(todo, t.Index)
		}
	}
	if len(todo) == 0 {
		return fmt.Errorf("every run of the sweep in %s has finished: gather them with learnviews sweep --collect %s", dir, dir)
	}
	if f.cpus <= 0 {
		return fmt.Errorf("--cpus-per-task %d: want at least 1", f.cpus)
	}
	var buf bytes.Buffer
	var path string
	switch f.kind {
	case "slurm":
		bin := f.bin
		if bin == "" {
			if bin, err = os.Executable(); err != nil {
				return fmt.Errorf("finding this executable for the job script (set --slurm-bin): %w", err)
			}
		}
		path = filepath.Join(abs, "slurm.sbatch")
		if err := os.MkdirAll(filepath.Join(abs, "logs"), 0o755); err != nil {
			return err
		}
		err = sweep.SlurmScript(&buf, path, sweep.SlurmOptions{Dir: abs, Bin: bin, Tasks: todo, JobName: "learnviews-" + plan.Profile,
			CPUs: f.cpus, Time: f.time, Mem: f.mem, Partition: f.partition, MaxParallel: f.maxParallel})
	case "k8s", "kubernetes":
		path = filepath.Join(abs, "job.yaml")
		err = sweep.KubernetesJob(&buf, sweep.KubernetesOptions{Name: "learnviews-" + plan.Profile + "-" + filepath.Base(abs),
			Image: f.image, Claim: f.claim, SubPath: f.subPath, Tasks: len(plan.Tasks), Parallelism: f.maxParallel, CPUs: f.cpus})
	default:
		return fmt.Errorf("--emit %q: want slurm or k8s", f.kind)
	}
	if err != nil {
		return err
	}
	if err := rundir.WriteBytesAtomic(path, buf.Bytes()); err != nil {
		return err
	}
	if f.kind == "slurm" {
		os.Chmod(path, 0o755)
		fmt.Fprintf(w, "%s: a job array of %d runs (%d finished earlier)\nsubmit:  sbatch %s\nthen:    learnviews sweep --collect %s\n",
			path, len(todo), len(plan.Tasks)-len(todo), path, abs)
		return nil
	}
	fmt.Fprintf(w, "%s: an Indexed Job of %d runs (%d finished earlier, which exit at once)\napply:   kubectl apply -f %s\nthen:    learnviews sweep --collect <the sweep directory on the volume>\n",
		path, len(plan.Tasks), len(plan.Tasks)-len(todo), path)
	return nil
}
