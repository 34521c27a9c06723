"""mu-law companding and quantisation (ITU-T G.711 style, as in WaveNet).

With ``mu = channels - 1``::

    compand(x) = sign(x) * ln(1 + mu |x|) / ln(1 + mu)        x in [-1, 1]
    q          = floor((compand(x) + 1) / 2 * mu + 1/2)        q in 0..mu

and decoding maps a class back to the centre of its bin in the companded
domain, ``y = 2 q / mu - 1``, then ``x = sign(y) ((1 + mu)^|y| - 1) / mu``.
So ``compand(decode(encode(x)))`` is within half a quantisation step
(``1 / mu``) of ``compand(x)``. This is the same mapping as
``torchaudio.functional.mu_law_encoding`` / ``mu_law_decoding``.

Both functions take numpy arrays or torch tensors of any shape and return
the same kind (tensors stay on their device).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch


def _check_channels(channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 2:
        raise ValueError(f"mu-law needs an integer number of channels >= 2, got {channels!r}")
    return int(channels)


def mulaw_encode(x: Any, channels: int = 256) -> Any:
    """Quantise audio ``x`` (any shape, values in [-1, 1]; others clipped) to int64 classes 0..channels-1."""
    mu = _check_channels(channels) - 1
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            x = x.float()
        x = x.clamp(-1.0, 1.0)
        y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
        return torch.floor((y + 1.0) / 2.0 * mu + 0.5).to(torch.int64).clamp_(0, mu)
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
    arr = np.clip(arr, -1.0, 1.0)
    y = np.sign(arr) * np.log1p(mu * np.abs(arr)) / math.log1p(mu)
    return np.clip(np.floor((y + 1.0) / 2.0 * mu + 0.5), 0, mu).astype(np.int64)


def mulaw_decode(q: Any, channels: int = 256, dtype: Any = None) -> Any:
    """Map classes ``q`` (integers 0..channels-1, any shape) back to audio in [-1, 1].

    Returns float32 unless ``dtype`` is given (or ``q`` is already floating,
    whose dtype is kept); numpy in, numpy out; tensor in, tensor out on the
    same device.
    """
    mu = _check_channels(channels) - 1
    if isinstance(q, torch.Tensor):
        out_dtype = dtype or (q.dtype if q.is_floating_point() else torch.float32)
        calc = torch.float64 if out_dtype == torch.float64 else torch.float32
        y = q.to(calc) / mu * 2.0 - 1.0
        x = torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu
        return x.to(out_dtype)
    arr = np.asarray(q)
    out_dtype = np.dtype(dtype) if dtype is not None else (arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32)
    ya = arr.astype(np.float64) / mu * 2.0 - 1.0
    xa = np.sign(ya) * np.expm1(np.abs(ya) * math.log1p(mu)) / mu
    return xa.astype(out_dtype)
