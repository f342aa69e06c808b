package main

import (
	"github.com/spf13/cobra"
)

func newTableCmnistCmd() *cobra.Command {
	return sweepCommand("table-cmnist", "table-cmnist",
		"The paper's Table 4: Colorful-Moving-MNIST views sharing each set of factors, and the supervised baseline",
		`Run the table-cmnist profile as a sweep: for each of the seven sets of factors
that v2 shares with the next frame (digit, background, position and their
combinations) and for the supervised baseline (f1 trained with the labels of the
next frame), train the encoders, freeze them and fit three linear heads on f1's
features: digit class, background class and digit position. Prints digit error %,
background error % and localisation error in pixels beside the paper's Table 4,
mean ± std over seeds, and writes the sweep's table files and report.html.
Every flag of learnviews sweep applies.`,
		`  learnviews table-cmnist --set scale=small --out runs/table4
  learnviews table-cmnist --resume runs/table4`)
}

func newTableLearnedViewsCmd() *cobra.Command {
	return sweepCommand("table-learned-views", "table-learned-views",
		"The paper's Table 5: unsupervised, supervised and semi-supervised view generators and raw views, RGB and YDbDr input",
		`Run the table-learned-views profile as a sweep: the unsupervised, supervised
and semi-supervised view generators (each learned, frozen, then fresh encoders
trained on its views: stage 2) and the raw views, each with RGB and with YDbDr
input, at three or more seeds. Prints linear-probe accuracy, mean ± std over
seeds, beside the paper's Table 5, and puts the learned colour space of each
generator in report.html. Runs on fashion-photos; on STL-10 with
--set data.name=stl10 --set data.dir=DIR (and sizes to match).
Every flag of learnviews sweep applies.`,
		`  learnviews table-learned-views --set scale=small --out runs/table5
  learnviews table-learned-views --set data.name=stl10 --set data.dir=stl10_binary --set data.size=64`)
}
