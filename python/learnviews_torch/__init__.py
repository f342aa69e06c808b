"""learnviews_torch: the views and encoders that learnviews learned, in PyTorch.

    from learnviews_torch import ViewTransform, load_encoders, load_generator

    views = ViewTransform.from_dir("export")     # image -> (v1, v2), as the run made them
    encoders = load_encoders("export/encoders.safetensors")
    g = load_generator("export/generator.safetensors")   # g, g.inverse, g.prepare, ...

Only the standard library, numpy and torch are needed. The file formats are
described in docs/FORMATS.md of the learnviews repository; python/tests
checks this package against the Go implementation.
"""

from .colorspace import SPACES, from_rgb, to_rgb
from .encoders import ConvNet, EncoderPair, Head, Model, ResNet, load_encoders
from .flow import Flow, Generator, load_generator
from .safetensors import FormatError, read_safetensors
from .transform import ViewTransform, to_rgb_tensor

__all__ = [
    "SPACES",
    "ConvNet",
    "EncoderPair",
    "Flow",
    "FormatError",
    "Generator",
    "Head",
    "Model",
    "ResNet",
    "ViewTransform",
    "from_rgb",
    "load_encoders",
    "load_generator",
    "read_safetensors",
    "to_rgb",
    "to_rgb_tensor",
]
