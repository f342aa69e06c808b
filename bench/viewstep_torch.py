#!/usr/bin/python3
"""The PyTorch twin of the Go view-learning iteration (cmd/refstep -game).

The encoders are those of refstep_torch.py (the reference step). The
generator g is the VP flow of viewgen: 4 additive coupling blocks on the 3
colour channels; block k couples channel a = k mod 3 (x1) with the other two
(x2) as y1 = x1 + F(x2), y2 = x2 + G(y1), where F and G are 1x1 convolution
MLPs (conv -> LeakyReLU(0.2) -> conv, hidden width 16). One iteration: an
estimator step (Adam lr 2e-4, betas 0.5/0.999) on g's detached views
v1 = g(x)_0, v2 = g(x)_{1,2} with symmetric InfoNCE, then a generator step
(Adam lr 1e-3) minimising I_NCE = log K - (L12 + L21)/2 through the encoders
(whose weight gradients are not computed), batch 128 of 32x32 images.

With --device cuda it runs on the GPU (float32 without TF32, cuDNN benchmark
mode, a device synchronisation ending each timed iteration) and ends with
  torch_view_iteration device=<d> batch=<n> size=<s> steps=<k> median_s=<t>
      min_s=<t> images_per_second=<x>
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refstep_torch import Model  # noqa: E402


class MLP(nn.Module):
    def __init__(self, cin, cout, hidden=16):
        super().__init__()
        self.a = nn.Conv2d(cin, hidden, 1)
        self.b = nn.Conv2d(hidden, cout, 1)

    def forward(self, x):
        return self.b(F.leaky_relu(self.a(x), 0.2))


class VPFlow(nn.Module):
    def __init__(self, blocks=4, hidden=16):
        super().__init__()
        self.f = nn.ModuleList(MLP(2, 1, hidden) for _ in range(blocks))
        self.g = nn.ModuleList(MLP(1, 2, hidden) for _ in range(blocks))

    def forward(self, x):
        for k in range(len(self.f)):
            a = k % 3
            rest = [(a + 1) % 3, (a + 2) % 3]
            x1, x2 = x[:, a:a + 1], x[:, rest]
            y1 = x1 + self.f[k](x2)
            y2 = x2 + self.g[k](y1)
            parts = [None, None, None]
            parts[a], parts[rest[0]], parts[rest[1]] = y1, y2[:, :1], y2[:, 1:]
            x = torch.cat(parts, dim=1)
        return x


def nce(f1, f2, v1, v2, labels, tau=0.07):
    z1, z2 = f1(v1), f2(v2)
    s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).t() / tau
    return F.cross_entropy(s, labels), F.cross_entropy(s.t(), labels)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    f1, f2, g = Model(1).to(dev), Model(2).to(dev), VPFlow().to(dev)
    enc = list(f1.parameters()) + list(f2.parameters())
    opt_f = torch.optim.Adam(enc, lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    labels = torch.arange(a.batch, device=dev)
    times = []
    for i in range(a.warmup + a.steps):
        x = torch.rand(a.batch, 3, a.size, a.size, device=dev)
        if cuda:
            torch.cuda.synchronize(dev)
        start = time.perf_counter()
        # estimator step on g's detached views
        with torch.no_grad():
            gx = g(x)
        l12, l21 = nce(f1, f2, gx[:, :1], gx[:, 1:], labels)
        opt_f.zero_grad()
        (l12 + l21).backward()
        opt_f.step()
        # generator step through the frozen encoders
        for q in enc:
            q.requires_grad_(False)
        gx = g(x)
        l12, l21 = nce(f1, f2, gx[:, :1], gx[:, 1:], labels)
        ince = math.log(a.batch) - (l12 + l21) / 2
        opt_g.zero_grad()
        ince.backward()
        opt_g.step()
        for q in enc:
            q.requires_grad_(True)
        if cuda:
            torch.cuda.synchronize(dev)
        dt = time.perf_counter() - start
        if i >= a.warmup:
            times.append(dt)
            print(f"step {i - a.warmup} {dt:.6f} loss={ince.item():.4f}", flush=True)
    if cuda and times:
        med = statistics.median(times)
        print(f"torch_view_iteration device={dev} batch={a.batch} size={a.size} steps={len(times)} "
              f"median_s={med:.6f} min_s={min(times):.6f} images_per_second={a.batch / med:.1f}", flush=True)


if __name__ == "__main__":
    main()
