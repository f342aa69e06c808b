package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/learnviews/learnviews/experiment"
	"github.com/learnviews/learnviews/rundir"
)

// logger writes a run's messages: a progress bar on a terminal, plain
// timestamped lines otherwise (a log file, CI).
type logger struct {
	w        io.Writer
	terminal bool
	quiet    bool
}

func newLogger(w io.Writer, quiet bool) *logger {
	l := &logger{w: w, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		l.terminal = term.IsTerminal(int(f.Fd()))
	}
	return l
}

// Printf writes one line.
func (l *logger) Printf(format string, args ...any) {
	if l.quiet {
		return
	}
	fmt.Fprintf(l.w, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// progress shows a stage's iterations: a bar with both players' I_NCE,
// images/s and ETA on a terminal, a line per logged step otherwise.
type progress struct {
	l     *logger
	stage string
	steps int
	bar   *progressbar.ProgressBar
	done  int
}

// progress follows a stage (experiment.Options.Progress).
func (l *logger) progress(stage string, steps, done int) experiment.Progress {
	p := &progress{l: l, stage: stage, steps: steps, done: done}
	if l.terminal && !l.quiet {
		p.bar = progressbar.NewOptions(steps,
			progressbar.OptionSetWriter(l.w),
			progressbar.OptionSetDescription(stage),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		p.bar.Set(p.done)
	}
	return p
}

// Update shows the rows of a logged iteration.
func (p *progress) Update(step int, rows []rundir.Row) {
	msg := fmt.Sprintf("%s %d/%d", p.stage, step+1, p.steps)
	for _, r := range rows {
		if v, ok := r[rundir.KeyINCE].(float64); ok && !math.IsNaN(v) {
			msg += fmt.Sprintf(" I_NCE[%s]=%.3f", r[rundir.KeyPlayer], v)
		}
		if v, ok := r[rundir.KeyAcc1].(float64); ok {
			msg += fmt.Sprintf(" acc1=%.2f", v)
		}
	}
	if len(rows) > 0 {
		if v, ok := rows[0][rundir.KeyImagesPerS].(float64); ok {
			msg += fmt.Sprintf(" %.0f img/s", v)
		}
	}
	if p.bar != nil {
		p.bar.Describe(msg)
		p.bar.Set(step + 1)
		return
	}
	p.l.Printf("%s", msg)
}

// Finish ends the stage's bar.
func (p *progress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.l.w)
	}
}
