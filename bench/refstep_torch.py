#!/usr/bin/python3
"""The PyTorch twin of the Go reference step (contrast.ReferenceConfig).

Two ConvNet encoders -- f1 on a 1-channel, f2 on a 2-channel 32x32 view --
each four 3x3 conv (no bias) + BatchNorm + ReLU stages of width 32, 64, 128,
128 with 2x2 max pooling after stages 1, 2 and 4, global average pooling, a
linear layer to 128 features and a linear 128-d head, L2-normalised; cosine
critic at tau = 0.07; symmetric InfoNCE (sum of both directions); Adam with
lr 2e-4 and betas (0.5, 0.999). Prints "step <i> <seconds> loss=<l>" per
timed step, like cmd/refstep.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvNet(nn.Module):
    def __init__(self, in_channels, width=32, feature_dim=None):
        super().__init__()
        w = width
        chans = [in_channels, w, 2 * w, 4 * w, 4 * w]
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 3, 1, 1, bias=False) for i in range(4))
        self.bns = nn.ModuleList(nn.BatchNorm2d(chans[i + 1]) for i in range(4))
        self.fc = nn.Linear(4 * w, feature_dim or 4 * w)

    def forward(self, x):
        for i in range(4):
            x = F.relu(self.bns[i](self.convs[i](x)))
            if i != 2 and x.shape[2] >= 2:
                x = F.max_pool2d(x, 2, 2)
        return self.fc(x.mean(dim=(2, 3)))


class Model(nn.Module):
    def __init__(self, in_channels, width=32, embed=128):
        super().__init__()
        self.encoder = ConvNet(in_channels, width)
        self.head = nn.Linear(4 * width, embed)

    def forward(self, x):
        return F.normalize(self.head(self.encoder(x)), dim=1, eps=1e-12)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    f1, f2 = Model(1), Model(2)
    opt = torch.optim.Adam(list(f1.parameters()) + list(f2.parameters()), lr=2e-4, betas=(0.5, 0.999))
    labels = torch.arange(a.batch)
    tau = 0.07
    for i in range(a.warmup + a.steps):
        v1 = torch.rand(a.batch, 1, a.size, a.size)
        v2 = torch.rand(a.batch, 2, a.size, a.size)
        start = time.perf_counter()
        z1, z2 = f1(v1), f2(v2)
        s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).t() / tau
        loss = F.cross_entropy(s, labels) + F.cross_entropy(s.t(), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        dt = time.perf_counter() - start
        if i >= a.warmup:
            print(f"step {i - a.warmup} {dt:.6f} loss={loss.item():.4f}", flush=True)


if __name__ == "__main__":
    main()
