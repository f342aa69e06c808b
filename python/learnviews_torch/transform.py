"""ViewTransform: an image in, the two views out, as a learnviews run made
them; a plain callable that fits in a transforms.Compose."""

import json
import os

import numpy as np
import torch

from .colorspace import canonical_space, from_rgb
from .encoders import META_VIEWS
from .flow import load_generator
from .safetensors import FormatError, read_safetensors

__all__ = ["ViewTransform", "to_rgb_tensor"]

GENERATOR_FILE = "generator.safetensors"
ENCODERS_FILE = "encoders.safetensors"


def to_rgb_tensor(image):
    """A float32 RGB tensor in [0, 1] of a PIL image (converted to RGB, as
    learnviews reads images: byte/255) or of a tensor: (3, H, W) or
    (N, 3, H, W), floats in [0, 1] or bytes."""
    if torch.is_tensor(image):
        x = image
    elif hasattr(image, "convert") and hasattr(image, "size"):  # a PIL image
        a = np.asarray(image.convert("RGB"), dtype=np.uint8)
        x = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))
    else:
        raise TypeError(f"want a PIL image or a tensor of shape (3, H, W) or (N, 3, H, W), got {type(image).__name__}")
    if x.dim() not in (3, 4) or x.shape[-3] != 3:
        raise ValueError(f"want an RGB image of shape (3, H, W) or (N, 3, H, W), got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.to(torch.float32) / 255
    return x.to(torch.float32)


class ViewTransform:
    """Makes the two views (v1, v2) of an image: the channels split[0] and
    split[1] of the learned generator's output g(x) (g reads the image
    converted to its colour space and standardised), or, without a
    generator, of the image converted to `space`. The image is a PIL image
    or an RGB tensor (3, H, W) or (N, 3, H, W) in [0, 1]; the views are
    float32 tensors of the same layout. It neither resizes nor augments: put
    those before it in a Compose.

    ViewTransform.from_dir(DIR) builds the transform of a run directory or
    of the folder `learnviews export` wrote: its generator.safetensors and
    the split recorded in its encoders.safetensors.
    """

    def __init__(self, generator=None, split=((0,), (1, 2)), space="rgb"):
        self.generator = generator
        self.split = (tuple(int(c) for c in split[0]), tuple(int(c) for c in split[1]))
        for c in self.split[0] + self.split[1]:
            if not 0 <= c < 3:
                raise ValueError(f"split {split}: channel {c} is not one of 0, 1, 2")
        self.space = canonical_space(space)

    @classmethod
    def from_dir(cls, path):
        gen_path = os.path.join(path, GENERATOR_FILE)
        enc_path = os.path.join(path, ENCODERS_FILE)
        generator = load_generator(gen_path) if os.path.exists(gen_path) else None
        split, space = ((0,), (1, 2)), "rgb"
        if os.path.exists(enc_path):
            _, meta = read_safetensors(enc_path)
            try:
                views = json.loads(meta[META_VIEWS])
                split = (views["v1"], views["v2"])
            except (KeyError, ValueError, TypeError) as e:
                raise FormatError(f"{enc_path}: metadata {META_VIEWS!r}: {e}") from None
            if views.get("paired"):
                raise ValueError(f"{enc_path}: the encoders saw the two frames of a paired data set, which no transform of one image makes")
            if views.get("patch"):
                raise ValueError(f"{enc_path}: the encoders saw two patches of each image (views.spec {views.get('spec')!r}); this transform makes views of the whole image")
            if views.get("generator"):
                if generator is None:
                    raise FormatError(f"{enc_path}: the encoders saw the generator's views, but {gen_path} is missing")
            else:
                generator, space = None, views.get("space", "rgb")
        elif generator is None:
            raise FileNotFoundError(f"{path}: neither {GENERATOR_FILE} nor {ENCODERS_FILE}")
        return cls(generator, split, space)

    def __call__(self, image):
        x = to_rgb_tensor(image)
        with torch.no_grad():
            if self.generator is not None:
                y = self.generator.apply_rgb(x.to(self.generator.mean.device))
            else:
                y = from_rgb(x, self.space)
        return y[..., list(self.split[0]), :, :], y[..., list(self.split[1]), :, :]

    def __repr__(self):
        src = f"generator {self.generator.config['kind']} reading {self.generator.space}" if self.generator is not None else f"space {self.space}"
        return f"ViewTransform({src}, v1={list(self.split[0])}, v2={list(self.split[1])})"
