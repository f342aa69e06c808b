"""The colour spaces of learnviews (package viewgen) in torch.

Every conversion takes a tensor whose channel axis is the third from the end,
(3, H, W) or (N, 3, H, W), computes in float64 with the constants and
formulas of viewgen/colorspace.go (scikit-image's skimage.color), and returns
the input's dtype, as viewgen does for its float32 images.

from_rgb(x, space) converts RGB in [0, 1] to the space; to_rgb(v, space)
converts back. As in viewgen and skimage, to_rgb clips the results of xyz,
lab, luv and hed to [0, 1] and leaves the others unclipped.
"""

import math

import numpy as np
import torch

__all__ = ["SPACES", "from_rgb", "to_rgb", "canonical_space"]

# The spaces in viewgen's order.
SPACES = ("rgb", "ycbcr", "ydbdr", "ypbpr", "yiq", "yuv", "xyz", "lab", "luv", "hsv", "hed", "rgbcie")

_XYZ_FROM_RGB = np.array([
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
])
_XYZ_FROM_RGBCIE = np.array([
    [0.49, 0.31, 0.20],
    [0.17697, 0.81240, 0.01063],
    [0.00, 0.01, 0.99],
]) * (1 / 0.17697)
_Y_ROW = [0.299, 0.587, 0.114]
_AFFINE = {
    # space: (matrix from RGB, offset added after it)
    "ycbcr": (np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]), np.array([16.0, 128.0, 128.0])),
    "ydbdr": (np.array([_Y_ROW, [-0.45, -0.883, 1.333], [-1.333, 1.116, 0.217]]), np.zeros(3)),
    "ypbpr": (np.array([_Y_ROW, [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]), np.zeros(3)),
    "yiq": (np.array([_Y_ROW, [0.59590059, -0.27455667, -0.32134392], [0.21153661, -0.52273617, 0.31119955]]), np.zeros(3)),
    "yuv": (np.array([_Y_ROW, [-0.14714119, -0.28886916, 0.43601035], [0.61497538, -0.51496512, -0.10001026]]), np.zeros(3)),
    "rgbcie": (np.linalg.inv(_XYZ_FROM_RGBCIE) @ _XYZ_FROM_RGB, np.zeros(3)),
}
# The stain vectors of haematoxylin, eosin and DAB, as rows.
_RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
_HED_FROM_RGB_T = np.linalg.inv(_RGB_FROM_HED).T
_RGB_FROM_HED_T = _RGB_FROM_HED.T
_HED_FLOOR = 1e-6
_D65 = (0.95047, 1.0, 1.08883)
_LUV_EPS = 2.220446049250313e-16
_LUV_U0 = 4 * _D65[0] / (_D65[0] + 15 * _D65[1] + 3 * _D65[2])
_LUV_V0 = 9 * _D65[1] / (_D65[0] + 15 * _D65[1] + 3 * _D65[2])


def canonical_space(name):
    """The name of a colour space as viewgen.ParseColorSpace reads it: case,
    spaces, hyphens and underscores ignored, "ciergb" read as "rgbcie"."""
    key = "".join(ch for ch in str(name).lower() if ch not in " -_")
    if key == "ciergb":
        key = "rgbcie"
    if key not in SPACES:
        raise ValueError(f"unknown colour space {name!r}: known are {', '.join(SPACES)}")
    return key


def _mat(m, x, offset=None):
    """m·x over the channel axis of x (float64), plus offset."""
    y = torch.einsum("ij,...jhw->...ihw", torch.as_tensor(m, dtype=torch.float64, device=x.device), x)
    if offset is not None and np.any(offset):
        y = y + torch.as_tensor(offset, dtype=torch.float64, device=x.device).view(3, 1, 1)
    return y


def _chan(x):
    return x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]


def _stack(a, b, c):
    return torch.stack((a, b, c), dim=-3)


def _srgb_decode(v):
    return torch.where(v > 0.04045, torch.exp(2.4 * torch.log(torch.clamp((v + 0.055) / 1.055, min=1e-300))), v / 12.92)


def _rgb_to_xyz(x):
    return _mat(_XYZ_FROM_RGB, _srgb_decode(x))


def _xyz_to_rgb(v):
    v = _mat(np.linalg.inv(_XYZ_FROM_RGB), v)
    v = torch.where(v > 0.0031308, 1.055 * torch.pow(torch.clamp(v, min=0), 1 / 2.4) - 0.055, v * 12.92)
    return torch.clamp(v, 0, 1)


def _cbrt(t):
    return torch.sign(t) * torch.pow(torch.abs(t), 1 / 3)


def _xyz_to_lab(v):
    f = []
    for c, t in enumerate(_chan(v)):
        t = t / _D65[c]
        f.append(torch.where(t > 0.008856, _cbrt(t), 7.787 * t + 16.0 / 116))
    return _stack(116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2]))


def _lab_to_xyz(v):
    l, a, b = _chan(v)
    fy = (l + 16) / 116
    f = [a / 500 + fy, fy, torch.clamp(fy - b / 200, min=0)]
    out = [torch.where(fc > 0.2068966, fc * fc * fc, (fc - 16.0 / 116) / 7.787) * _D65[c] for c, fc in enumerate(f)]
    return _stack(*out)


def _xyz_to_luv(v):
    x, y, z = _chan(v)
    yr = y / _D65[1]
    l = torch.where(yr > 0.008856, 116 * _cbrt(yr) - 16, 903.3 * yr)
    den = x + 15 * y + 3 * z + _LUV_EPS
    return _stack(l, 13 * l * (4 * x / den - _LUV_U0), 13 * l * (9 * y / den - _LUV_V0))


def _luv_to_xyz(v):
    l, u, w = _chan(v)
    y = torch.where(l > 7.999625, torch.pow((l + 16) / 116, 3), l / 903.3) * _D65[1]
    a = _LUV_U0 + u / (13 * l + _LUV_EPS)
    b = _LUV_V0 + w / (13 * l + _LUV_EPS)
    c = 3 * y * (5 * b - 3)
    z = ((a - 4) * c - 15 * a * b * y) / (12 * b)
    x = -(c / b + 3 * z)
    return _stack(x, y, z)


def _rgb_to_hsv(x):
    r, g, b = _chan(x)
    mx = torch.maximum(r, torch.maximum(g, b))
    mn = torch.minimum(r, torch.minimum(g, b))
    delta = mx - mn
    zero = delta == 0
    d = torch.where(zero, torch.ones_like(delta), delta)
    h = torch.where(mx == b, 4 + (r - g) / d, torch.where(mx == g, 2 + (b - r) / d, (g - b) / d)) / 6
    h = torch.where(h < 0, h + 1, h)
    s = delta / torch.where(zero, torch.ones_like(mx), mx)
    return _stack(torch.where(zero, torch.zeros_like(h), h), torch.where(zero, torch.zeros_like(s), s), mx)


def _hsv_to_rgb(v):
    h, s, val = _chan(v)
    hi = torch.floor(h * 6)
    f = h * 6 - hi
    p = val * (1 - s)
    q = val * (1 - f * s)
    t = val * (1 - (1 - f) * s)
    i = torch.remainder(hi, 6)
    table = [(val, t, p), (q, val, p), (p, val, t), (p, q, val), (t, p, val), (val, p, q)]
    out = []
    for c in range(3):
        ch = table[5][c]
        for k in range(4, -1, -1):
            ch = torch.where(i == k, table[k][c], ch)
        out.append(ch)
    return _stack(*out)


def _rgb_to_hed(x):
    od = torch.log(torch.clamp(x, min=_HED_FLOOR)) / math.log(_HED_FLOOR)
    return _mat(_HED_FROM_RGB_T, od)


def _hed_to_rgb(v):
    od = _mat(_RGB_FROM_HED_T, v)
    return torch.clamp(torch.exp(od * math.log(_HED_FLOOR)), 0, 1)


def _check(x, what):
    if not torch.is_tensor(x) or x.dim() < 3 or x.shape[-3] != 3:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{what}: want a tensor of shape (3, H, W) or (N, 3, H, W), got {shape}")


def from_rgb(x, space):
    """Converts RGB (values in [0, 1]) to the colour space."""
    space = canonical_space(space)
    _check(x, f"from_rgb({space})")
    if space == "rgb":
        return x.clone()
    v = x.to(torch.float64)
    if space in _AFFINE:
        m, off = _AFFINE[space]
        y = _mat(m, v, off)
    elif space == "xyz":
        y = _rgb_to_xyz(v)
    elif space == "lab":
        y = _xyz_to_lab(_rgb_to_xyz(v))
    elif space == "luv":
        y = _xyz_to_luv(_rgb_to_xyz(v))
    elif space == "hsv":
        y = _rgb_to_hsv(v)
    else:  # hed
        y = _rgb_to_hed(v)
    return y.to(x.dtype)


def to_rgb(v, space):
    """Converts colours of the space back to RGB."""
    space = canonical_space(space)
    _check(v, f"to_rgb({space})")
    if space == "rgb":
        return v.clone()
    w = v.to(torch.float64)
    if space in _AFFINE:
        m, off = _AFFINE[space]
        y = _mat(np.linalg.inv(m), w - torch.as_tensor(off, dtype=torch.float64, device=w.device).view(3, 1, 1))
    elif space == "xyz":
        y = _xyz_to_rgb(w)
    elif space == "lab":
        y = _xyz_to_rgb(_lab_to_xyz(w))
    elif space == "luv":
        y = _xyz_to_rgb(_luv_to_xyz(w))
    elif space == "hsv":
        y = _hsv_to_rgb(w)
    else:  # hed
        y = _hed_to_rgb(w)
    return y.to(v.dtype)
