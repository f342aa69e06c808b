#!/usr/bin/python3
"""The PyTorch twin of the Go reference step with ResNet encoders
(cmd/refstep -arch resnet18 -width W).

Two ResNets as contrast.ResNet builds them -- f1 on a 1-channel, f2 on a
2-channel view: a 3x3 stem (conv without bias, BatchNorm, ReLU) without max
pooling, four stages of basic blocks (3x3 conv, BN, ReLU, 3x3 conv, BN, plus
the shortcut, ReLU) of widths w, 2w, 4w, 8w with strides 1, 2, 2, 2, the
shortcut a 1x1 convolution (stride 1 or 2, no bias) + BN where the stride or
the width changes and the identity elsewhere, global average pooling to 8w
features; then a linear 128-d head, L2-normalised. Cosine critic at
tau = 0.07, symmetric InfoNCE (sum of both directions), Adam with lr 2e-4
and betas (0.5, 0.999). Prints "step <i> <seconds> loss=<l>" per timed
step, like cmd/refstep.
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(y + sc)


class ResNet(nn.Module):
    def __init__(self, in_channels, width, blocks):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for s, n in enumerate(blocks):
            cout = width << s
            for b in range(n):
                layers.append(BasicBlock(cin, cout, 2 if s > 0 and b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*layers)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem_bn(self.stem(x))))
        return x.mean(dim=(2, 3))


class Model(nn.Module):
    def __init__(self, in_channels, width, blocks, embed=128):
        super().__init__()
        self.encoder = ResNet(in_channels, width, blocks)
        self.head = nn.Linear(8 * width, embed)

    def forward(self, x):
        return F.normalize(self.head(self.encoder(x)), dim=1, eps=1e-12)


ARCHS = {"resnet10": [1, 1, 1, 1], "resnet18": [2, 2, 2, 2]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--arch", choices=sorted(ARCHS), default="resnet18")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    blocks = ARCHS[a.arch]
    f1, f2 = Model(1, a.width, blocks), Model(2, a.width, blocks)
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
