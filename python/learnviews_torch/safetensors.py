"""A reader of safetensors files with the standard library and numpy.

A safetensors file is an 8-byte little-endian header length N, N bytes of
JSON mapping each tensor name to {"dtype", "shape", "data_offsets"} (plus an
optional "__metadata__" map of strings), then the tensors' little-endian
bytes, one after another.
"""

import json
import struct

import numpy as np

__all__ = ["FormatError", "read_safetensors"]

_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}

# A header longer than this is a corrupt length, not a header.
_MAX_HEADER = 100 << 20


class FormatError(ValueError):
    """A file that is not what it should be; the message names the file and
    the key or tensor at fault."""


def read_safetensors(path):
    """Reads a safetensors file: returns (tensors, metadata), tensors a dict
    of name -> numpy array (a copy, in native byte order) and metadata a dict
    of str -> str."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError(f"{path}: {len(data)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or n > len(data) - 8:
        raise FormatError(f"{path}: header length {n}, but the file has {len(data) - 8} bytes after it (truncated or not safetensors)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{path}: the header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise FormatError(f"{path}: the header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise FormatError(f"{path}: __metadata__ is not a map of strings")
    body = memoryview(data)[8 + n :]
    tensors = {}
    end = 0
    for name, e in sorted(header.items(), key=lambda kv: _offsets(path, kv[0], kv[1])[0]):
        begin, stop = _offsets(path, name, e)
        dt = e.get("dtype")
        if dt not in _DTYPES:
            raise FormatError(f"{path}: tensor {name!r}: dtype {dt!r} is not one of {sorted(_DTYPES)}")
        shape = e.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise FormatError(f"{path}: tensor {name!r}: shape {shape!r} is not a list of sizes")
        dtype = np.dtype(_DTYPES[dt])
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if stop - begin != count * dtype.itemsize:
            raise FormatError(f"{path}: tensor {name!r}: data offsets [{begin}, {stop}) hold {stop - begin} bytes, shape {shape} of {dt} needs {count * dtype.itemsize}")
        if begin != end:
            raise FormatError(f"{path}: tensor {name!r}: data offsets [{begin}, {stop}) leave a gap or overlap at {end}")
        if stop > len(body):
            raise FormatError(f"{path}: tensor {name!r}: data offsets [{begin}, {stop}) run past the {len(body)} data bytes (truncated file)")
        arr = np.frombuffer(body[begin:stop], dtype=dtype).reshape(shape)
        tensors[name] = arr.astype(dtype.newbyteorder("="), copy=True)
        end = stop
    if end != len(body):
        raise FormatError(f"{path}: {len(body) - end} bytes after the last tensor")
    return tensors, dict(meta)


def _offsets(path, name, e):
    if not isinstance(e, dict):
        raise FormatError(f"{path}: tensor {name!r}: the header entry is not an object")
    off = e.get("data_offsets")
    if not (isinstance(off, list) and len(off) == 2 and all(isinstance(v, int) for v in off) and 0 <= off[0] <= off[1]):
        raise FormatError(f"{path}: tensor {name!r}: data_offsets {off!r} are not two ordered byte offsets")
    return off[0], off[1]
