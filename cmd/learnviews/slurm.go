package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

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

// emitJobs writes the cluster job of the sweep's unfinished tasks and says
// how to submit it.
func emitJobs(dir string, plan *sweep.Plan, f emitFlags, w io.Writer) error {
	bin := f.bin
	if bin == "" && f.kind == "slurm" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("finding this executable for the job script (set --slurm-bin): %w", err)
		}
	}
	job, err := sweep.Emit(dir, plan, sweep.EmitOptions{Kind: f.kind, Bin: bin, CPUs: f.cpus, Time: f.time, Mem: f.mem,
		Partition: f.partition, MaxParallel: f.maxParallel, Image: f.image, Claim: f.claim, SubPath: f.subPath})
	if err != nil {
		return err
	}
	done := len(plan.Tasks) - job.Runs
	if f.kind == "slurm" {
		fmt.Fprintf(w, "%s: a job array of %d runs (%d finished earlier)\nsubmit:  sbatch %s\nthen:    learnviews sweep --collect %s\n",
			job.Path, job.Runs, done, job.Path, job.Dir)
		return nil
	}
	fmt.Fprintf(w, "%s: an Indexed Job of %d runs (%d finished earlier, which exit at once)\napply:   kubectl apply -f %s\nthen:    learnviews sweep --collect <the sweep directory on the volume>\n",
		job.Path, len(plan.Tasks), done, job.Path)
	return nil
}
