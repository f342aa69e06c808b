// Package datatest holds helpers shared by the tests of the datasets
// packages: writing files in the published formats and deciding what to do
// when an installed data set is missing.
package datatest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/learnviews/learnviews/datasets"
)

// Require stops a test that needs an installed data set when find failed:
// it skips, or, when $CI is set, fails with the error, which names the
// command that installs the data set.
func Require(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI needs this data set installed: %v", err)
	}
	t.Skipf("data set not installed: %v", err)
}

// IDX encodes an unsigned-byte IDX array with the given dimensions.
func IDX(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

// Gzip compresses data as a .gz file does.
func Gzip(data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return b.Bytes()
}

// WriteFile writes data to path or fails the test.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkIterator reads b.N batches of batch items from ds through an
// iterator with the given workers (0: filled inside Next, no prefetch; else
// 2×workers batches prefetched) and reports images per second.
func BenchmarkIterator(b *testing.B, ds datasets.Dataset, batch, workers int) {
	it, err := datasets.NewIterator(ds, datasets.IteratorConfig{BatchSize: batch, Seed: 1, DropLast: batch <= ds.Len(), Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	b.ResetTimer()
	for range b.N {
		bt, err := it.Next()
		if err != nil {
			b.Fatal(err)
		}
		bt.Release()
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkIteratorWait simulates training: after each batch the caller is
// busy elsewhere for step (sleeping, so that the workers have the cores),
// then asks for the next batch. It reports the mean time spent waiting
// inside Next, which prefetch should bring to about zero once a batch takes
// less than a step to prepare.
func BenchmarkIteratorWait(b *testing.B, ds datasets.Dataset, batch, workers int, step time.Duration) {
	it, err := datasets.NewIterator(ds, datasets.IteratorConfig{BatchSize: batch, Seed: 1, Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	defer it.Close()
	var waited time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		bt, err := it.Next()
		waited += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		bt.Release()
		time.Sleep(step)
	}
	b.ReportMetric(float64(waited.Microseconds())/float64(b.N), "µs-waited/batch")
}
