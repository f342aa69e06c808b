"""learnviews_torch against the Go implementation.

The fixtures are written by the Go test TestWriteTorchFixtures (package
experiment): generators, encoders, colour conversions and a small real run
with what Go computes of fixed batches. scripts/torch-check.sh writes them
and runs this file:

    LEARNVIEWS_TORCH_FIXTURES=DIR /usr/bin/python3 -m unittest discover -s python/tests

Tolerances: g forward, g's log-determinant, g inverse and the full transform
(colour conversion, standardisation, g) within 1e-5 absolute of Go; the
round trip g⁻¹(g(x)) within 1e-5 of x; encoder features and embeddings
within 1e-4 relative (‖torch − go‖ / ‖go‖ over the batch); colour
conversions within 1e-5·max(1, |value|) (one float32 rounding of values up
to 240). The generator computes in float64 as Go's Flow.Apply does, the
encoders in float32 as Go's evaluation does.
"""

import json
import os
import struct
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from learnviews_torch import (  # noqa: E402
    SPACES,
    FormatError,
    ViewTransform,
    from_rgb,
    load_encoders,
    load_generator,
    read_safetensors,
    to_rgb,
)

FIXTURES = os.environ.get("LEARNVIEWS_TORCH_FIXTURES", "")

# The largest difference measured by each check, printed at the end.
MEASURED = {}


def measure(name, value):
    MEASURED[name] = max(MEASURED.get(name, 0.0), float(value))
    return float(value)


def max_abs(a, b):
    return (a.double() - b.double()).abs().max().item()


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).norm() / b.norm()).item()


def fixture(name):
    return os.path.join(FIXTURES, name)


def load(name):
    tensors, _ = read_safetensors(fixture(name))
    return {k: torch.from_numpy(v) for k, v in tensors.items()}


class Fixtures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not FIXTURES or not os.path.exists(os.path.join(FIXTURES, "manifest.json")):
            raise unittest.SkipTest("no fixtures: set LEARNVIEWS_TORCH_FIXTURES to a folder written by "
                                    "go test ./experiment -run TestWriteTorchFixtures -torch.fixtures DIR (scripts/torch-check.sh does both)")
        with open(os.path.join(FIXTURES, "manifest.json")) as f:
            cls.manifest = json.load(f)


class ColorSpaces(Fixtures):
    def test_every_space_both_ways(self):
        go = load(self.manifest["colors"])
        rgb = go["input"]
        self.assertEqual(len(SPACES), 12)
        for space in SPACES:
            with self.subTest(space=space):
                want = go[space]
                got = from_rgb(rgb, space)
                self.assertEqual(got.dtype, torch.float32)
                err = ((got.double() - want.double()).abs() / want.double().abs().clamp(min=1)).max().item()
                self.assertLessEqual(measure("colour from RGB (relative to max(1, |v|))", err), 1e-5, space)
                back = to_rgb(want, space)
                err = max_abs(back, go[space + ".inverse"])
                self.assertLessEqual(measure("colour back to RGB", err), 1e-5, space)
                # Batched input gives the same values.
                self.assertTrue(torch.equal(from_rgb(rgb[None], space)[0], got))

    def test_names_as_viewgen_reads_them(self):
        x = torch.rand(3, 2, 2)
        self.assertTrue(torch.equal(from_rgb(x, "CIE-RGB"), from_rgb(x, "rgbcie")))
        self.assertTrue(torch.equal(from_rgb(x, "Y_Db_Dr"), from_rgb(x, "ydbdr")))
        with self.assertRaisesRegex(ValueError, "unknown colour space 'cmyk'"):
            from_rgb(x, "cmyk")


class Generators(Fixtures):
    def test_forward_inverse_and_views(self):
        for case in self.manifest["generators"]:
            with self.subTest(generator=case["name"]):
                g = load_generator(fixture(case["file"]))
                go = load(case["outputs"])
                x, y = go["x"], go["y"]
                with torch.no_grad():
                    got, logdet = g(x, logdet=True)
                    self.assertEqual(got.dtype, torch.float32)
                    self.assertLessEqual(measure("g forward", max_abs(got, y)), 1e-5)
                    self.assertLessEqual(measure("g log-determinant", max_abs(logdet, go["logdet"])), 1e-5)
                    # The inverse of Go's g(x) is Go's inverse of it.
                    self.assertLessEqual(measure("g inverse (of Go's g(x))", max_abs(g.inverse(y), go["inverse"])), 1e-5)
                    # The round trip, in the module's float64.
                    x64 = x.double()
                    self.assertLessEqual(measure("g inverse round trip", max_abs(g.inverse(g(x64)), x64)), 1e-5)
                    # RGB in: conversion to the input space, standardisation, g.
                    rgb = go["rgb"]
                    self.assertLessEqual(measure("RGB -> g(x) (conversion, standardisation, g)", max_abs(g.apply_rgb(rgb), go["rgb.y"])), 1e-5)
                    v1, v2 = ViewTransform(g)(rgb)
                    self.assertTrue(torch.equal(v1, g.apply_rgb(rgb)[:, [0]]))
                    self.assertTrue(torch.equal(v2, g.apply_rgb(rgb)[:, [1, 2]]))
                    # prepare is undone by unprepare, up to float32 rounding
                    # through the colour space (HSV's hue is undefined on
                    # greys, where both give the same RGB anyway).
                    self.assertLessEqual(max_abs(g.unprepare(g.prepare(rgb)), rgb), 1e-4)
                    # Computing in float32 stays close too.
                    g32 = load_generator(fixture(case["file"]), dtype=torch.float32)
                    measure("g forward computed in float32", max_abs(g32(x), y))

    def test_format_and_input_are_read(self):
        names = {c["name"]: c for c in self.manifest["generators"]}
        old = load_generator(fixture(names["format1-rotate-vp"]["file"]))
        self.assertEqual(old.file_format, "1")
        self.assertEqual((old.config["coupling"], old.config["activation"], old.space, old.standardised), ("rotate", "leaky", "rgb", False))
        lab = load_generator(fixture(names["revnet-vp-relu-lab"]["file"]))
        self.assertEqual((lab.file_format, lab.config["coupling"], lab.space, lab.standardised), ("2", "revnet", "lab", True))
        raw = load_generator(fixture(names["revnet-vp-leaky-yiq-raw"]["file"]))
        self.assertEqual((raw.space, raw.mean.tolist(), raw.std.tolist()), ("yiq", [0, 0, 0], [1, 1, 1]))


class Encoders(Fixtures):
    def test_features_and_embeddings(self):
        for case in self.manifest["encoders"]:
            with self.subTest(encoders=case["name"]):
                enc = load_encoders(fixture(case["file"]))
                go = load(case["outputs"])
                self.assertFalse(enc.training)
                with torch.no_grad():
                    for f, v in (("f1", "v1"), ("f2", "v2")):
                        model = getattr(enc, f)
                        got = model.features(go[v])
                        self.assertEqual(got.dtype, torch.float32)
                        self.assertLessEqual(measure("encoder features (relative)", rel(got, go[f + ".features"])), 1e-4, f)
                        self.assertLessEqual(measure("encoder embeddings (relative)", rel(model.embed(go[v]), go[f + ".embed"])), 1e-4, f)
                    both = enc.features(go["v1"], go["v2"])
                    self.assertTrue(torch.equal(both, torch.cat((enc.f1(go["v1"]), enc.f2(go["v2"])), 1)))


class _FakePIL:
    """Just enough of a PIL image: convert("RGB") and numpy's array
    protocol, HWC bytes."""

    def __init__(self, hwc):
        self.hwc = hwc
        self.size = (hwc.shape[1], hwc.shape[0])

    def convert(self, mode):
        assert mode == "RGB"
        return self

    def __array__(self, dtype=None):
        return self.hwc if dtype is None else self.hwc.astype(dtype)


class Run(Fixtures):
    def test_features_of_an_exported_run(self):
        run = self.manifest.get("run")
        if not run:
            self.skipTest("the fixtures were written with -short: no run")
        export = fixture(run["export"])
        go = load(run["outputs"])
        views = ViewTransform.from_dir(export)
        enc = load_encoders(os.path.join(export, "encoders.safetensors"))
        self.assertEqual(enc.views["stage"], "stage2")
        with torch.no_grad():
            v1, v2 = views(go["rgb"])
            got = enc.features(v1, v2)
            self.assertLessEqual(measure("features of an exported run (relative)", rel(got, go["features"])), 1e-4)
            # One image at a time, as in a Dataset's __getitem__.
            w1, w2 = views(go["rgb"][3])
            self.assertTrue(torch.equal(w1, v1[3]) and torch.equal(w2, v2[3]))
            # A PIL image of bytes gives the views of byte/255.
            hwc = (go["rgb"][3] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
            p1, p2 = views(_FakePIL(hwc))
            q1, q2 = views(torch.from_numpy(hwc).permute(2, 0, 1).float() / 255)
            self.assertTrue(torch.equal(p1, q1) and torch.equal(p2, q2))
            # Inside a chain of transforms, as transforms.Compose runs them.
            chain = [lambda im: im, views, lambda vs: torch.cat(vs, dim=0)]
            out = go["rgb"][0]
            for t in chain:
                out = t(out)
            self.assertEqual(tuple(out.shape), (3, 16, 16))


def write_safetensors(path, tensors, meta):
    """A safetensors writer for the error checks (numpy arrays, F32)."""
    header, off, blobs = {}, 0, []
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


class Errors(Fixtures):
    def test_bad_files_are_named(self):
        case = self.manifest["generators"][0]
        tensors, meta = read_safetensors(fixture(case["file"]))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "g.safetensors")
            with open(fixture(case["file"]), "rb") as f:
                data = f.read()
            with open(path, "wb") as f:
                f.write(data[:-5])
            with self.assertRaisesRegex(FormatError, "g.safetensors.*truncated"):
                load_generator(path)

            extra = dict(tensors, **{"g.blocks.9.f.hidden.weight": np.zeros((1, 1, 1, 1), np.float32)})
            write_safetensors(path, extra, meta)
            with self.assertRaisesRegex(FormatError, "g.safetensors: unexpected tensor 'g.blocks.9.f.hidden.weight'"):
                load_generator(path)

            missing = {k: v for k, v in tensors.items() if k != "g.blocks.1.g.shift.bias"}
            write_safetensors(path, missing, meta)
            with self.assertRaisesRegex(FormatError, "missing tensor 'g.blocks.1.g.shift.bias'"):
                load_generator(path)

            write_safetensors(path, tensors, dict(meta, **{"viewgen.flow.format": "3"}))
            with self.assertRaisesRegex(FormatError, "'viewgen.flow.format' is '3'"):
                load_generator(path)

            write_safetensors(path, tensors, dict(meta, **{"viewgen.flow.config": '{"kind": "gan"}'}))
            with self.assertRaisesRegex(FormatError, "'viewgen.flow.config': kind 'gan'"):
                load_generator(path)

        enc = self.manifest["encoders"][0]
        tensors, meta = read_safetensors(fixture(enc["file"]))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "e.safetensors")
            bad = dict(tensors)
            bad["f2.conv1.weight"] = bad["f2.conv1.weight"].transpose(1, 0, 2, 3).copy()
            write_safetensors(path, bad, meta)
            with self.assertRaisesRegex(FormatError, r"e.safetensors: tensor 'f2.conv1.weight' has shape \[2, 4, 3, 3\], want \[4, 2, 3, 3\]"):
                load_encoders(path)
            info = json.loads(meta["learnviews.encoders.f1"])
            info["arch"] = "vgg"
            write_safetensors(path, tensors, dict(meta, **{"learnviews.encoders.f1": json.dumps(info)}))
            with self.assertRaisesRegex(FormatError, "'learnviews.encoders.f1': arch 'vgg'"):
                load_encoders(path)


def tearDownModule():
    if MEASURED:
        print("\nlargest differences from Go:", file=sys.stderr)
        for name, v in MEASURED.items():
            print(f"  {name}: {v:.3g}", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
