"""The learned view generator g of learnviews (package flow) in torch.

Flow computes the function of flow.Flow: coupling blocks (additive for
"vp", affine with the bounded log-scale s = B·tanh(r/B) for "nvp"), with
the learned invertible 1×1 mixes of Glow's LU parameterisation between NVP
blocks, and its exact inverse. Generator adds what the flow reads: the
conversion of RGB to the colour space of the run and the per-channel
standardisation of that space, as recorded in generator.safetensors.
"""

import json

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .colorspace import canonical_space, from_rgb, to_rgb
from .safetensors import FormatError, read_safetensors

__all__ = ["Flow", "Generator", "load_generator", "flow_config"]

META_CONFIG = "viewgen.flow.config"
META_NAME = "viewgen.flow.name"
META_DTYPE = "viewgen.flow.dtype"
META_FORMAT = "viewgen.flow.format"
META_INPUT = "viewgen.flow.input"
FORMATS = ("1", "2")

_CONFIG_KEYS = {"kind", "blocks", "coupling", "hidden", "activation", "kernel3x3", "identity", "log_scale_bound"}
_LEAKY_SLOPE = 0.2


def flow_config(cfg):
    """A flow configuration (a dict with the keys of flow.Config's JSON) with
    every default filled in and checked, as flow.Config.WithDefaults and
    Validate do. Raises ValueError naming the field at fault."""
    unknown = set(cfg) - _CONFIG_KEYS
    if unknown:
        raise ValueError(f"unknown field {sorted(unknown)[0]!r}")
    c = dict(cfg)
    c["kind"] = c.get("kind") or "vp"
    c["blocks"] = c.get("blocks") or 4
    c["coupling"] = c.get("coupling") or "revnet"
    c["hidden"] = c.get("hidden") or 0
    if c["hidden"] == 0 and c["coupling"] == "rotate":
        c["hidden"] = 16
    c["activation"] = c.get("activation") or ("leaky" if c["coupling"] == "rotate" else "relu")
    c["kernel3x3"] = c.get("kernel3x3") or "none"
    c["log_scale_bound"] = float(c.get("log_scale_bound") or 0)
    if c["kind"] == "nvp" and c["log_scale_bound"] == 0:
        c["log_scale_bound"] = 2.0
    c["identity"] = bool(c.get("identity", False))
    if c["kind"] == "vp":
        if c["log_scale_bound"] != 0:
            raise ValueError(f"log_scale_bound {c['log_scale_bound']} given for a vp flow")
    elif c["kind"] == "nvp":
        if not (0 < c["log_scale_bound"] < float("inf")):
            raise ValueError(f"log_scale_bound {c['log_scale_bound']}, want a finite value > 0")
    else:
        raise ValueError(f"kind {c['kind']!r}, want 'vp' or 'nvp'")
    if not isinstance(c["blocks"], int) or not 1 <= c["blocks"] <= 256:
        raise ValueError(f"blocks {c['blocks']!r}, want 1 to 256")
    if c["coupling"] not in ("revnet", "rotate"):
        raise ValueError(f"coupling {c['coupling']!r}, want 'revnet' or 'rotate'")
    lo = 0 if c["coupling"] == "revnet" else 1
    if not isinstance(c["hidden"], int) or not lo <= c["hidden"] <= 4096:
        raise ValueError(f"hidden {c['hidden']!r}, want {lo} to 4096")
    if c["activation"] not in ("relu", "leaky"):
        raise ValueError(f"activation {c['activation']!r}, want 'relu' or 'leaky'")
    if c["kernel3x3"] not in ("none", "first", "last"):
        raise ValueError(f"kernel3x3 {c['kernel3x3']!r}, want 'none', 'first' or 'last'")
    return c


def _layout(cfg, k):
    """Block k's split: (a, rest, pair_first, n1, n2, hf, hg, preact), as
    flow.Config.layout."""
    a, rest, pair_first, n1, n2, preact = k % 3, ((k + 1) % 3, (k + 2) % 3), False, 1, 2, False
    if cfg["coupling"] == "revnet":
        a, rest, preact = 0, (1, 2), True
        if k % 2 == 1:
            a, rest, pair_first, n1, n2 = 2, (0, 1), True, 2, 1
    hf = hg = cfg["hidden"]
    if cfg["hidden"] == 0:
        hf, hg = n2, n1
    return a, rest, pair_first, n1, n2, hf, hg, preact


def _kernel(cfg, k):
    if (cfg["kernel3x3"] == "first" and k == 0) or (cfg["kernel3x3"] == "last" and k == cfg["blocks"] - 1):
        return 3
    return 1


class CouplingNet(nn.Module):
    """conv → act → conv (the shift t) and, for NVP, a second conv on the
    same hidden layer (the raw log-scale r); with preact the input goes
    through act first."""

    def __init__(self, cin, cout, hidden, k, nvp, preact, slope):
        super().__init__()
        self.hidden = nn.Conv2d(cin, hidden, k, padding=k // 2)
        self.shift = nn.Conv2d(hidden, cout, k, padding=k // 2)
        self.scale = nn.Conv2d(hidden, cout, k, padding=k // 2) if nvp else None
        self.preact = preact
        self.slope = slope

    def forward(self, x, bound):
        if self.preact:
            x = F.leaky_relu(x, self.slope)
        h = F.leaky_relu(self.hidden(x), self.slope)
        t = self.shift(h)
        s = None
        if self.scale is not None:
            s = bound * torch.tanh(self.scale(h) / bound)
        return t, s


class CouplingBlock(nn.Module):
    """One coupling block: y1 = x1·exp(s1(x2)) + t1(x2), y2 = x2·exp(s2(y1)) + t2(y1)
    (s = 0 for VP), with x1, x2 the single channel a and the pair rest in the
    order of the layout."""

    def __init__(self, cfg, k):
        super().__init__()
        self.a, self.rest, self.pair_first, n1, n2, hf, hg, preact = _layout(cfg, k)
        ks = _kernel(cfg, k)
        nvp = cfg["kind"] == "nvp"
        slope = _LEAKY_SLOPE if cfg["activation"] == "leaky" else 0.0
        self.f = CouplingNet(n2, n1, hf, ks, nvp, False, slope)
        self.g = CouplingNet(n1, n2, hg, ks, nvp, preact, slope)

    def _halves(self, x):
        single = x[:, self.a : self.a + 1]
        pair = x[:, list(self.rest)]
        return (pair, single) if self.pair_first else (single, pair)

    def _merge(self, h1, h2):
        pair, single = (h1, h2) if self.pair_first else (h2, h1)
        chans = [None, None, None]
        chans[self.a] = single
        chans[self.rest[0]] = pair[:, 0:1]
        chans[self.rest[1]] = pair[:, 1:2]
        return torch.cat(chans, dim=1)

    def forward(self, x, bound):
        x1, x2 = self._halves(x)
        t1, s1 = self.f(x2, bound)
        y1 = x1 * torch.exp(s1) + t1 if s1 is not None else x1 + t1
        t2, s2 = self.g(y1, bound)
        y2 = x2 * torch.exp(s2) + t2 if s2 is not None else x2 + t2
        logdet = None
        if s1 is not None:
            logdet = s1.sum(dim=1) + s2.sum(dim=1)
        return self._merge(y1, y2), logdet

    def inverse(self, y, bound):
        y1, y2 = self._halves(y)
        t2, s2 = self.g(y1, bound)
        x2 = (y2 - t2) * torch.exp(-s2) if s2 is not None else y2 - t2
        t1, s1 = self.f(x2, bound)
        x1 = (y1 - t1) * torch.exp(-s1) if s1 is not None else y1 - t1
        return self._merge(x1, x2)


class Mix(nn.Module):
    """A learned invertible 1×1 convolution, W = P·L·(U + diag(sign·exp(log_scale))),
    L unit lower triangular from the strictly lower part of `lower`, U from
    the strictly upper part of `upper` (the other entries are ignored)."""

    def __init__(self):
        super().__init__()
        self.lower = nn.Parameter(torch.zeros(3, 3))
        self.upper = nn.Parameter(torch.zeros(3, 3))
        self.log_scale = nn.Parameter(torch.zeros(3))
        self.register_buffer("perm", torch.eye(3))
        self.register_buffer("sign", torch.ones(3))

    def matrix(self):
        eye = torch.eye(3, dtype=self.lower.dtype, device=self.lower.device)
        lower = torch.tril(self.lower, -1) + eye
        upper = torch.triu(self.upper, 1) + torch.diag(self.sign * torch.exp(self.log_scale))
        return (self.perm @ lower) @ upper

    def forward(self, x):
        return torch.einsum("ij,njhw->nihw", self.matrix(), x)

    def inverse(self, y):
        return torch.einsum("ij,njhw->nihw", torch.linalg.inv(self.matrix()), y)


class Flow(nn.Module):
    """The flow g of a flow configuration (see flow_config): an invertible map
    of (N, 3, H, W) tensors. Its parameter names are those of the Go flow
    without the flow's name: blocks.K.f.hidden.weight, mixes.K.lower, ..."""

    def __init__(self, cfg):
        super().__init__()
        self.config = flow_config(cfg)
        self.bound = self.config["log_scale_bound"]
        self.blocks = nn.ModuleList(CouplingBlock(self.config, k) for k in range(self.config["blocks"]))
        nmix = self.config["blocks"] - 1 if self.config["kind"] == "nvp" else 0
        self.mixes = nn.ModuleList(Mix() for _ in range(nmix))

    def forward(self, x, logdet=False):
        """g(x); with logdet, also log|det ∂g/∂x| per pixel, of shape (N, H, W)."""
        _check_batch(x, "flow input")
        y = x
        ld = torch.zeros(x.shape[0], x.shape[2], x.shape[3], dtype=x.dtype, device=x.device) if logdet else None
        for k, block in enumerate(self.blocks):
            y, l = block(y, self.bound)
            if logdet and l is not None:
                ld = ld + l
            if k < len(self.mixes):
                y = self.mixes[k](y)
                if logdet:
                    ld = ld + self.mixes[k].log_scale.sum()
        return (y, ld) if logdet else y

    def inverse(self, y):
        """g⁻¹(y)."""
        _check_batch(y, "flow inverse input")
        x = y
        for k in range(len(self.blocks) - 1, -1, -1):
            if k < len(self.mixes):
                x = self.mixes[k].inverse(x)
            x = self.blocks[k].inverse(x, self.bound)
        return x


def _check_batch(x, what):
    if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] != 3:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{what}: want a tensor of shape (N, 3, H, W), got {shape}")


class Generator(nn.Module):
    """A learned view generator as a run saved it: the flow g and what it
    reads (RGB converted to `space`, then standardised channel by channel
    when `mean` and `std` are set).

    forward(x) and inverse(y) are g and g⁻¹ on the flow's input space, as
    Go's Flow.Apply and Flow.Inverse; they compute in the module's dtype
    (float64 after load_generator, as Go's Apply does) and return the
    input's dtype. prepare(rgb) makes the flow's input of RGB images,
    apply_rgb(rgb) = forward(prepare(rgb)) (Go's Flow.ApplyRGB), and
    views(rgb, split) splits g's output into the two views.
    """

    def __init__(self, flow, space="rgb", mean=None, std=None, name="g", file_format="2"):
        super().__init__()
        self.flow = flow
        self.space = canonical_space(space)
        self.name = name
        self.file_format = file_format
        self.standardised = mean is not None
        mean = mean if mean is not None else (0.0, 0.0, 0.0)
        std = std if std is not None else (1.0, 1.0, 1.0)
        # As viewgen.Stats.Normalize: in float32, (v − float32(mean))·float32(1/std).
        self.register_buffer("mean", torch.tensor(np.asarray(mean, dtype=np.float64).astype(np.float32)))
        self.register_buffer("inv_std", torch.tensor((1 / np.asarray(std, dtype=np.float64)).astype(np.float32)))
        self.register_buffer("std", torch.tensor(np.asarray(std, dtype=np.float64).astype(np.float32)))

    @property
    def config(self):
        return self.flow.config

    def _dtype(self):
        return next(self.flow.parameters()).dtype

    def forward(self, x, logdet=False):
        out = self.flow(x.to(self._dtype()), logdet=logdet)
        if logdet:
            return out[0].to(x.dtype), out[1]
        return out.to(x.dtype)

    def inverse(self, y):
        return self.flow.inverse(y.to(self._dtype())).to(y.dtype)

    def prepare(self, rgb):
        """The flow's input of RGB images in [0, 1], (3, H, W) or (N, 3, H, W):
        converted to the input space and standardised, in float32."""
        x = from_rgb(rgb.to(torch.float32), self.space)
        if self.standardised:
            x = (x - self.mean.float().view(3, 1, 1)) * self.inv_std.float().view(3, 1, 1)
        return x

    def unprepare(self, x):
        """RGB images of the flow's input: undoes prepare (clipping where the
        colour space's inverse does)."""
        x = x.to(torch.float32)
        if self.standardised:
            x = x * self.std.float().view(3, 1, 1) + self.mean.float().view(3, 1, 1)
        return to_rgb(x, self.space)

    def apply_rgb(self, rgb):
        """g of RGB images in [0, 1]: the learned colour space, float32."""
        x = self.prepare(rgb)
        batched = x.dim() == 4
        y = self(x if batched else x[None])
        return y if batched else y[0]

    def views(self, rgb, split=((0,), (1, 2))):
        """The two views of RGB images: the channels split[0] and split[1]
        of g's output."""
        y = self.apply_rgb(rgb)
        return y[..., list(split[0]), :, :], y[..., list(split[1]), :, :]


def load_generator(path, dtype=torch.float64, device=None):
    """Loads a generator.safetensors (flow files of format 1 and 2) into a
    Generator in eval mode, its parameters in dtype (float64 by default, as
    Go's Flow.Apply computes). Raises FormatError naming the file and the
    key or tensor at fault."""
    tensors, meta = read_safetensors(path)
    for key in (META_CONFIG, META_NAME, META_DTYPE):
        if key not in meta:
            raise FormatError(f"{path}: metadata key {key!r} missing (not a learnviews generator?)")
    fmt = meta.get(META_FORMAT, "1")
    if fmt not in FORMATS:
        raise FormatError(f"{path}: metadata {META_FORMAT!r} is {fmt!r}: this loader reads formats {', '.join(FORMATS)}")
    if meta[META_DTYPE] not in ("float32", "float64"):
        raise FormatError(f"{path}: metadata {META_DTYPE!r} is {meta[META_DTYPE]!r}, want 'float32' or 'float64'")
    try:
        saved = json.loads(meta[META_CONFIG])
        if not isinstance(saved, dict):
            raise ValueError("not a JSON object")
        # Files without the coupling or the activation (format 1) hold a
        # Rotate flow with LeakyReLU.
        cfg = {"coupling": "rotate", "activation": "leaky"}
        cfg.update(saved)
        cfg = flow_config(cfg)
    except ValueError as e:
        raise FormatError(f"{path}: metadata {META_CONFIG!r}: {e}") from None
    name = meta[META_NAME]
    space, mean, std = "rgb", None, None
    if META_INPUT in meta:
        try:
            inp = json.loads(meta[META_INPUT])
            space = canonical_space(inp["space"])
            mean = [float(v) for v in inp["mean"]]
            std = [float(v) for v in inp["std"]]
            if len(mean) != 3 or len(std) != 3 or not all(np.isfinite(mean)) or not all(s > 0 and np.isfinite(s) for s in std):
                raise ValueError(f"mean {mean} and std {std}: want three finite means and three positive finite stds")
        except (ValueError, KeyError, TypeError) as e:
            raise FormatError(f"{path}: metadata {META_INPUT!r}: {e}") from None
    flow = Flow(cfg).double()
    _load_named(path, flow, tensors, name + ".")
    for k, m in enumerate(flow.mixes):
        p = m.perm.numpy()
        if not (np.all((p == 0) | (p == 1)) and np.all(p.sum(0) == 1) and np.all(p.sum(1) == 1)):
            raise FormatError(f"{path}: tensor {name}.mixes.{k}.perm is not a permutation matrix: {p.tolist()}")
        if not np.all(np.abs(m.sign.numpy()) == 1):
            raise FormatError(f"{path}: tensor {name}.mixes.{k}.sign holds {m.sign.tolist()}, want only +1 and -1")
    gen = Generator(flow.to(dtype), space, mean, std, name=name, file_format=fmt)
    if device is not None:
        gen.to(device)
    return gen.eval()


def _load_named(path, module, tensors, prefix):
    """Copies the tensors named prefix+<state-dict key> into module: every
    key must be there with its shape and finite, and nothing else."""
    state = module.state_dict()
    used = set()
    for key, dst in state.items():
        name = prefix + key
        if name not in tensors:
            raise FormatError(f"{path}: missing tensor {name!r}")
        src = tensors[name]
        if tuple(src.shape) != tuple(dst.shape):
            raise FormatError(f"{path}: tensor {name!r} has shape {list(src.shape)}, want {list(dst.shape)}")
        if not np.all(np.isfinite(src)):
            raise FormatError(f"{path}: tensor {name!r} holds a value that is not finite")
        with torch.no_grad():
            dst.copy_(torch.from_numpy(src.astype(np.float64)))
        used.add(name)
    extra = sorted(set(tensors) - used)
    if extra:
        raise FormatError(f"{path}: unexpected tensor {extra[0]!r} (the flow has no parameter of that name)")
