#!/usr/bin/python3
"""Measures this machine's float32 matrix-multiplication peak with PyTorch
(Debian's python3-torch, its own BLAS): the best GFLOP/s of torch.mm on
square matrices over a few sizes and repeats, on --threads threads. The
reference step's "% of peak" in docs/BENCHMARKS.md divides by this figure.

Prints one line per size and ends with "sgemm_peak_gflops=<x>".
"""
import argparse
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sizes", default="512,1024,2048")
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    best = 0.0
    for n in (int(s) for s in a.sizes.split(",")):
        x = torch.rand(n, n)
        y = torch.rand(n, n)
        out = torch.empty(n, n)
        torch.mm(x, y, out=out)  # warm-up
        rates = []
        for _ in range(a.repeats):
            start = time.perf_counter()
            torch.mm(x, y, out=out)
            dt = time.perf_counter() - start
            rates.append(2 * n**3 / dt / 1e9)
        print(f"n={n}: best {max(rates):.1f} GFLOP/s, median {sorted(rates)[len(rates) // 2]:.1f}")
        best = max(best, max(rates))
    print(f"sgemm_peak_gflops={best:.1f}")


if __name__ == "__main__":
    main()
