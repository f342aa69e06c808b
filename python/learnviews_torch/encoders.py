"""The encoders f1, f2 of learnviews (package contrast) in torch.

ConvNet and ResNet mirror contrast.ConvNet and contrast.ResNet layer for
layer (batch norm with ε = 1e-5 and momentum 0.1, as package nn), Head
mirrors contrast.Head. A Model is an encoder with its head: features(v) is
the encoder's output, what learnviews' linear probe and kNN see, and
embed(v) the L2-normalised head output that the contrastive loss compares.
load_encoders reads an encoders.safetensors into the pair (f1, f2) in eval
mode, batch norm using its running statistics.
"""

import json

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .safetensors import FormatError, read_safetensors

__all__ = ["ConvNet", "ResNet", "Head", "Model", "EncoderPair", "load_encoders", "build_model"]

META_FORMAT = "learnviews.encoders.format"
META_DTYPE = "learnviews.encoders.dtype"
META_F1 = "learnviews.encoders.f1"
META_F2 = "learnviews.encoders.f2"
META_VIEWS = "learnviews.encoders.views"
FORMATS = ("1",)

BN_EPS = 1e-5
BN_MOMENTUM = 0.1
L2_EPS = 1e-12


def _bn(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class ConvNet(nn.Module):
    """Four 3×3 conv-BN-ReLU stages of width w, 2w, 4w, 4w, 2×2 max pooling
    after the first, second and fourth (while the maps are at least 2 high),
    global average pooling and a linear layer to feature_dim."""

    def __init__(self, in_channels, width=32, feature_dim=None):
        super().__init__()
        w = width
        chans = [in_channels, w, 2 * w, 4 * w, 4 * w]
        for i in range(4):
            setattr(self, f"conv{i + 1}", nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False))
            setattr(self, f"bn{i + 1}", _bn(chans[i + 1]))
        self.fc = nn.Linear(4 * w, feature_dim or 4 * w)

    def forward(self, x):
        h = x
        for i in range(4):
            h = F.relu(getattr(self, f"bn{i + 1}")(getattr(self, f"conv{i + 1}")(h)))
            if i != 2 and h.shape[2] >= 2:
                h = F.max_pool2d(h, 2, 2)
        return self.fc(h.mean(dim=(2, 3)))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = _bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = _bn(cout)
        self.downsample = self.downsample_bn = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.downsample_bn = _bn(cout)

    def forward(self, h):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(h)))))
        sc = h if self.downsample is None else self.downsample_bn(self.downsample(h))
        return F.relu(y + sc)


class ResNet(nn.Module):
    """A 3×3 stem with batch norm and ReLU (no max pooling), four stages of
    basic blocks of widths w, 2w, 4w, 8w with strides 1, 2, 2, 2, and global
    average pooling: features of size 8w. blocks (1, 1, 1, 1) is ResNet-10,
    (2, 2, 2, 2) ResNet-18."""

    def __init__(self, in_channels, width=16, blocks=(1, 1, 1, 1)):
        super().__init__()
        w = width
        self.stem = nn.Conv2d(in_channels, w, 3, padding=1, bias=False)
        self.stem_bn = _bn(w)
        cin = w
        for s, n in enumerate(blocks):
            cout = w << s
            layer = nn.ModuleList()
            for b in range(n):
                layer.append(BasicBlock(cin, cout, 2 if s > 0 and b == 0 else 1))
                cin = cout
            setattr(self, f"layer{s + 1}", layer)
        self.stages = len(blocks)

    def forward(self, x):
        h = F.relu(self.stem_bn(self.stem(x)))
        for s in range(self.stages):
            for block in getattr(self, f"layer{s + 1}"):
                h = block(h)
        return h.mean(dim=(2, 3))


class Head(nn.Module):
    """The projection head: one linear layer (fc), or linear, ReLU, linear
    (fc1, fc2) when hidden > 0; its output is L2-normalised."""

    def __init__(self, in_features, hidden, dim):
        super().__init__()
        if hidden > 0:
            self.fc1 = nn.Linear(in_features, hidden)
            self.fc2 = nn.Linear(hidden, dim)
        else:
            self.fc = nn.Linear(in_features, dim)
        self.hidden = hidden

    def forward(self, x):
        if self.hidden > 0:
            x = self.fc2(F.relu(self.fc1(x)))
        else:
            x = self.fc(x)
        # As nn.L2Normalize: x / sqrt(Σ x² + ε).
        return x / torch.sqrt((x * x).sum(dim=1, keepdim=True) + L2_EPS)


class Model(nn.Module):
    """An encoder with its head: f1 or f2. forward(v) and features(v) are the
    encoder's output (the linear probe's features); embed(v) the normalised
    embedding."""

    def __init__(self, encoder, head, info=None):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.info = dict(info or {})

    def forward(self, v):
        return self.encoder(v)

    def features(self, v):
        return self.encoder(v)

    def embed(self, v):
        return self.head(self.encoder(v))


_ARCHS = {"convnet": None, "resnet10": (1, 1, 1, 1), "resnet18": (2, 2, 2, 2)}


def build_model(info):
    """A Model of the description that encoders.safetensors holds for f1 or
    f2 (arch, in_channels, width, feature_dim, embed_dim, head_hidden)."""
    arch = info["arch"]
    if arch not in _ARCHS:
        raise ValueError(f"arch {arch!r}: this loader builds {', '.join(_ARCHS)}")
    for key in ("in_channels", "width", "feature_dim", "embed_dim", "head_hidden"):
        v = info.get(key)
        if not isinstance(v, int) or v < (0 if key == "head_hidden" else 1):
            raise ValueError(f"{key} {v!r}, want a {'non-negative' if key == 'head_hidden' else 'positive'} integer")
    if arch == "convnet":
        enc = ConvNet(info["in_channels"], info["width"], info["feature_dim"])
        dim = info["feature_dim"]
    else:
        enc = ResNet(info["in_channels"], info["width"], _ARCHS[arch])
        dim = 8 * info["width"]
        if info["feature_dim"] != dim:
            raise ValueError(f"feature_dim {info['feature_dim']}, but a {arch} of width {info['width']} has {dim} features")
    return Model(enc, Head(dim, info["head_hidden"], info["embed_dim"]), info)


class EncoderPair(nn.Module):
    """f1 and f2 as a run trained them. features(v1, v2) is what learnviews'
    evaluation gives the linear probe: f1's features of v1 and f2's of v2,
    concatenated (f1's alone when the views are a paired data set's frames).
    views describes the views they saw (see docs/FORMATS.md)."""

    def __init__(self, f1, f2, views):
        super().__init__()
        self.f1 = f1
        self.f2 = f2
        self.views = dict(views)

    def forward(self, v1, v2=None):
        return self.features(v1, v2)

    def features(self, v1, v2=None):
        if self.views.get("paired"):
            return self.f1.features(v1)
        if v2 is None:
            raise ValueError("features(v1, v2): v2 is missing (f2 sees it)")
        return torch.cat((self.f1.features(v1), self.f2.features(v2)), dim=1)

    def embed(self, v1, v2):
        return self.f1.embed(v1), self.f2.embed(v2)


def load_encoders(path, dtype=None, device=None):
    """Loads an encoders.safetensors into an EncoderPair in eval mode, in the
    file's dtype unless dtype is given. Raises FormatError naming the file
    and the key or tensor at fault."""
    tensors, meta = read_safetensors(path)
    for key in (META_FORMAT, META_DTYPE, META_F1, META_F2, META_VIEWS):
        if key not in meta:
            raise FormatError(f"{path}: metadata key {key!r} missing (not a learnviews encoders file?)")
    if meta[META_FORMAT] not in FORMATS:
        raise FormatError(f"{path}: metadata {META_FORMAT!r} is {meta[META_FORMAT]!r}: this loader reads format {', '.join(FORMATS)}")
    file_dtype = {"float32": torch.float32, "float64": torch.float64}.get(meta[META_DTYPE])
    if file_dtype is None:
        raise FormatError(f"{path}: metadata {META_DTYPE!r} is {meta[META_DTYPE]!r}, want 'float32' or 'float64'")
    try:
        views = json.loads(meta[META_VIEWS])
        if not isinstance(views, dict):
            raise ValueError("not a JSON object")
    except ValueError as e:
        raise FormatError(f"{path}: metadata {META_VIEWS!r}: {e}") from None
    models = []
    used = set()
    for name, key in (("f1", META_F1), ("f2", META_F2)):
        try:
            info = json.loads(meta[key])
            if not isinstance(info, dict):
                raise ValueError("not a JSON object")
            m = build_model(info)
        except (ValueError, KeyError) as e:
            raise FormatError(f"{path}: metadata {key!r}: {e}") from None
        m = m.to(torch.float64)
        used |= _load_model(path, m, tensors, name)
        models.append(m.to(dtype or file_dtype))
    extra = sorted(set(tensors) - used)
    if extra:
        raise FormatError(f"{path}: unexpected tensor {extra[0]!r} (f1 and f2 have no parameter of that name)")
    pair = EncoderPair(models[0], models[1], views)
    if device is not None:
        pair.to(device)
    return pair.eval()


def _load_model(path, model, tensors, name):
    """Copies the tensors of model `name` (f1 or f2) into model. The file
    keeps learnviews' names ("f1.conv1.weight", "f1.head.fc.bias") and
    layouts: convolution weights (out, in, k, k) as PyTorch, linear weights
    (in, out), the transpose of PyTorch's."""
    linear = {n + ".weight" for n, mod in model.named_modules() if isinstance(mod, nn.Linear)}
    used = set()
    for key, dst in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if key.startswith("encoder."):
            fname = name + "." + key[len("encoder."):]
        else:
            fname = name + "." + key  # head.*
        if fname not in tensors:
            raise FormatError(f"{path}: missing tensor {fname!r}")
        src = tensors[fname]
        if key in linear:
            src = src.T
        if tuple(src.shape) != tuple(dst.shape):
            want = list(dst.shape)[::-1] if key in linear else list(dst.shape)
            raise FormatError(f"{path}: tensor {fname!r} has shape {list(tensors[fname].shape)}, want {want}")
        if not np.all(np.isfinite(src)):
            raise FormatError(f"{path}: tensor {fname!r} holds a value that is not finite")
        with torch.no_grad():
            dst.copy_(torch.from_numpy(np.ascontiguousarray(src, dtype=np.float64)))
        used.add(fname)
    return used
