#!/usr/bin/env python3
"""The PyTorch twin of the Go reference step on a GPU (or any torch device).

The network, loss and optimiser are bench/refstep_torch.py's (imported from
it, so the two cannot drift apart): two ConvNet encoders on a 1- and a
2-channel view, symmetric InfoNCE with the cosine critic at tau = 0.07, Adam
with lr 2e-4 and betas (0.5, 0.999). Here the batch lives on --device and
each timed step ends with a device synchronisation. float32 throughout:
TF32 is off for both matmuls and convolutions unless --tf32, so that the
numbers compare with the Go step's float32 arithmetic; cuDNN picks its
fastest algorithms (benchmark mode), as a tuned PyTorch run would.

Prints "step <i> <seconds> loss=<l>" per timed step, like cmd/refstep, then
  torch_ref_step device=<d> name="<gpu>" batch=<n> size=<s> steps=<k>
      median_s=<t> min_s=<t> images_per_second=<x> tf32=<bool> torch=<version>
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refstep_torch import Model  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--tf32", action="store_true", help="allow TF32 in matmuls and convolutions")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("refstep_gpu_torch.py: torch %s sees no CUDA device" % torch.__version__)
    name = torch.cuda.get_device_name(dev) if cuda else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    f1, f2 = Model(1).to(dev), Model(2).to(dev)
    opt = torch.optim.Adam(list(f1.parameters()) + list(f2.parameters()), lr=2e-4, betas=(0.5, 0.999))
    labels = torch.arange(a.batch, device=dev)
    tau = 0.07
    gen = torch.Generator(device=dev).manual_seed(1)
    times = []
    for i in range(a.warmup + a.steps):
        v1 = torch.rand(a.batch, 1, a.size, a.size, device=dev, generator=gen)
        v2 = torch.rand(a.batch, 2, a.size, a.size, device=dev, generator=gen)
        if cuda:
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        z1, z2 = f1(v1), f2(v2)
        s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).t() / tau
        loss = F.cross_entropy(s, labels) + F.cross_entropy(s.t(), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if cuda:
            torch.cuda.synchronize(dev)
        dt = time.perf_counter() - start
        if i >= a.warmup:
            times.append(dt)
            print(f"step {i - a.warmup} {dt:.6f} loss={loss.item():.4f}", flush=True)
    if not times:
        sys.exit("refstep_gpu_torch.py: no timed steps")
    med = statistics.median(times)
    print(f'torch_ref_step device={dev} name="{name}" batch={a.batch} size={a.size} steps={len(times)} '
          f"median_s={med:.6f} min_s={min(times):.6f} images_per_second={a.batch / med:.1f} "
          f"tf32={a.tf32} torch={torch.__version__}", flush=True)


if __name__ == "__main__":
    main()
