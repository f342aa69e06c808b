package contrast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// RidgeError fits a linear regression with an intercept from standardised
// features to targets (ridge penalty lambda, in closed form) and returns
// the mean Euclidean error of its predictions on the test set — the digit
// localisation error of the Colorful-Moving-MNIST heads, in pixels when the
// targets are pixel coordinates.
func RidgeError(trainX, trainY, testX, testY [][]float64, lambda float64) (float64, error) {
	if len(trainX) == 0 || len(trainX) != len(trainY) || len(testX) != len(testY) {
		return 0, fmt.Errorf("contrast: ridge: %d train rows with %d targets, %d test rows with %d targets", len(trainX), len(trainY), len(testX), len(testY))
	}
	if len(testX) == 0 {
		return 0, fmt.Errorf("contrast: ridge: empty test set")
	}
	mean, std := standardiser(trainX)
	d, k := len(trainX[0])+1, len(trainY[0])
	design := func(x [][]float64) *mat.Dense {
		m := mat.NewDense(len(x), d, nil)
		for i, r := range standardise(x, mean, std) {
			m.Set(i, 0, 1)
			for j, v := range r {
				m.Set(i, j+1, v)
			}
		}
		return m
	}
	X := design(trainX)
	Y := mat.NewDense(len(trainY), k, nil)
	for i, r := range trainY {
		if len(r) != k {
			return 0, fmt.Errorf("contrast: ridge: target row %d has %d values, row 0 has %d", i, len(r), k)
		}
		Y.SetRow(i, r)
	}
	var xtx mat.Dense
	xtx.Mul(X.T(), X)
	for j := 1; j < d; j++ {
		xtx.Set(j, j, xtx.At(j, j)+lambda*float64(len(trainX)))
	}
	var xty, w mat.Dense
	xty.Mul(X.T(), Y)
	if err := w.Solve(&xtx, &xty); err != nil {
		return 0, fmt.Errorf("contrast: ridge: %w", err)
	}
	var pred mat.Dense
	pred.Mul(design(testX), &w)
	var sum float64
	for i, r := range testY {
		var s float64
		for j, v := range r {
			dv := pred.At(i, j) - v
			s += dv * dv
		}
		sum += math.Sqrt(s)
	}
	return sum / float64(len(testY)), nil
}
