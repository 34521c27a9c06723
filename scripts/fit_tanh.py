"""Fit the rational tanh used by the float32 generation kernel (wavekit/generate/kernels.py).

tanh(x) ~ x * P(s) / Q(s) with s = x^2, deg P = deg Q = 4, Q(0) = 1, on |x| <= 9
(beyond 9, tanh is 1 to within 3e-8, below float32's spacing at 1). The fit is a
linearised least-squares rational fit in the scaled variable u = (x / 9)^2, refined
by Lawson's reweighting towards the minimax error. Prints the coefficients in s
and the maximum absolute error in float64 and in float32 Horner evaluation.

    python scripts/fit_tanh.py
"""

from __future__ import annotations

import numpy as np

CLAMP = 9.0
DEG = 4


def fit(deg: int = DEG, clamp: float = CLAMP, iters: int = 60) -> tuple[np.ndarray, np.ndarray, float]:
    x = np.linspace(1e-6, clamp, 400001)
    u = (x / clamp) ** 2
    f = np.tanh(x) / x
    weight = np.ones_like(x)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    q_prev = np.ones_like(x)
    for _ in range(iters):
        # minimise x * (P(u) - f Q(u)) / Q_prev(u), the error of tanh itself, linear in the coefficients
        a = np.concatenate([u[:, None] ** np.arange(deg + 1), -f[:, None] * u[:, None] ** np.arange(1, deg + 1)], 1)
        w = weight * x / np.abs(q_prev)
        sol = np.linalg.lstsq(a * w[:, None], f * w, rcond=None)[0]
        p, q = sol[: deg + 1], np.concatenate([[1.0], sol[deg + 1 :]])
        q_prev = np.polyval(q[::-1], u)
        err = np.abs(x * np.polyval(p[::-1], u) / q_prev - np.tanh(x))
        if best is None or err.max() < best[2]:
            best = (p, q, float(err.max()))
        weight = weight * (err / err.max() + 1e-12)  # Lawson: weight grows where the error is largest
        weight /= weight.sum()
    assert best is not None
    p, q, e = best
    scale = clamp ** (-2.0 * np.arange(deg + 1))  # coefficients in s = x^2 instead of u
    return p * scale, q * scale, e


def rational_tanh(x: np.ndarray, p: np.ndarray, q: np.ndarray, clamp: float = CLAMP) -> np.ndarray:
    """The kernel's evaluation, in x's dtype: clamp, then Horner in s for P and Q, one division."""
    dt = x.dtype.type
    xc = np.clip(x, dt(-clamp), dt(clamp))
    s = xc * xc
    num = np.zeros_like(s)
    den = np.zeros_like(s)
    for c in p[::-1].astype(x.dtype):
        num = num * s + c
    for c in q[::-1].astype(x.dtype):
        den = den * s + c
    return xc * num / den


def main() -> None:
    p, q, e64 = fit()
    x = np.linspace(-12, 12, 4_000_001).astype(np.float32)
    e32 = np.abs(rational_tanh(x, p, q).astype(np.float64) - np.tanh(x.astype(np.float64))).max()
    print("P =", ", ".join(repr(float(c)) for c in p))
    print("Q =", ", ".join(repr(float(c)) for c in q))
    print(f"max |error|: {e64:.3g} (float64 fit), {e32:.3g} (float32 evaluation)")


if __name__ == "__main__":
    main()
