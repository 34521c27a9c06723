"""Discretized logistic mixture over C channels (PixelCNN++, Salimans et al. 2017).

One pixel (or one audio sample, C = 1) has C sub-values x_0..x_{C-1}, each on
``num_classes`` bin centres ``-1 + 2 i / (num_classes - 1)`` in [-1, 1]. The model is
a mixture of K components shared by the whole pixel:

    p(x) = sum_k pi_k prod_c p_c|k(x_c | x_<c)

where p_c|k is a logistic of scale s_ck discretized to the bin around x_c, with
mean  mu_ck + sum_{j<c} a_cjk x_j  (the linear dependence between channels:
G on R, B on R and G). The edge bins take the whole tail: p(x=-1) = CDF(-1 + h),
p(x=1) = 1 - CDF(1 - h), with h = 1 / (num_classes - 1) the half bin width.

Parameter layout along dim 1 of ``params`` (B, P, *spatial), P = K (1 + 2C + C(C-1)/2):
``[logits K | means C*K | log-scales C*K | coeffs C(C-1)/2 * K]``; means, scales
are channel-major (channel c occupies ``[c*K, (c+1)*K)``), coefficients are ordered
(1,0), (2,0), (2,1), ... and squashed with tanh. C = 1: 3K; C = 3: 10K.

Per-sub-pixel split (what :func:`mixture_log_prob` returns). The pixel likelihood
is split exactly into causal conditionals

    log p(x_c | x_<c) = logsumexp_k( log w_k(x_<c) + log p_c|k(x_c) ),
    log w_k(x_<c)     = log_softmax_k( log pi_k + sum_{j<c} log p_j|k(x_j) ),

i.e. channel c is mixed with the posterior component weights given the earlier
channels. Each conditional normalises over the levels of x_c, the channel-c term
never depends on x_{>=c+1}, and the terms sum to log p(pixel) (telescoping).

Stability: ``log(CDF(a) - CDF(b))`` is evaluated as
``logsigmoid(a) - softplus(b) + log(-expm1(b - a))``, which is exact and has no
cancellation, so the usual mid-bin density fallback of PixelCNN++ (an
approximation needed when the difference of two sigmoids underflows) is never
needed, even with 65536 bins in float32. Where the bin is narrower than 1e-6 scales
(a logistic far wider than [-1, 1]) the last term is log(2h/s) - h/s, formed in log
space so that its value and gradient stay finite when 2h/s underflows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from wavekit.core.sampling import Generators, check_temperature, rand, sample_logits

_NARROW_GAP = 1e-6  # below this bin width / scale, log(1 - e^-g) = log g - g/2 (error < 1e-13)


def mixture_num_params(mixtures: int, channels: int) -> int:
    """Number of parameters per position: ``K * (1 + 2C + C(C-1)/2)`` (C=1: 3K, C=3: 10K)."""
    if mixtures < 1 or channels < 1:
        raise ValueError(f"mixtures and channels must be >= 1, got {mixtures}, {channels}")
    return mixtures * (1 + 2 * channels + channels * (channels - 1) // 2)


def _split(params: Tensor, mixtures: int, channels: int, log_scale_min: float):
    """(B, P, *S) -> logits (B,K,*S), means (B,C,K,*S), log_scales (B,C,K,*S), coeffs (B,C(C-1)/2,K,*S)."""
    K, C = mixtures, channels
    if params.dim() < 2 or params.shape[1] != mixture_num_params(K, C):
        raise ValueError(
            f"params must be (B, {mixture_num_params(K, C)}, ...) for {K} mixtures and {C} channels, "
            f"got {tuple(params.shape)}"
        )
    B, spatial = params.shape[0], params.shape[2:]
    logits = params[:, :K]
    means = params[:, K : K + C * K].reshape(B, C, K, *spatial)
    log_scales = params[:, K + C * K : K + 2 * C * K].reshape(B, C, K, *spatial).clamp(min=log_scale_min)
    coeffs = torch.tanh(params[:, K + 2 * C * K :].reshape(B, C * (C - 1) // 2, K, *spatial))
    return logits, means, log_scales, coeffs


def _mean(means: Tensor, coeffs: Tensor, x: Tensor, c: int) -> Tensor:
    """Mean of channel c per component given earlier channels: (B, K, *S). x is (B, C, *S)."""
    m = means[:, c]
    base = c * (c - 1) // 2
    for j in range(c):
        m = m + coeffs[:, base + j] * x[:, j : j + 1]
    return m


def _bin_log_prob(x: Tensor, mean: Tensor, log_scale: Tensor, num_classes: int) -> Tensor:
    """log P(bin of x) under a discretized logistic; x broadcasts against mean/log_scale."""
    half = 1.0 / (num_classes - 1)
    inv_s = torch.exp(-log_scale)
    centered = x - mean
    plus = inv_s * (centered + half)
    minus = inv_s * (centered - half)
    log_cdf_plus = F.logsigmoid(plus)  # x = -1: whole left tail
    log_sf_minus = -F.softplus(minus)  # x = +1: whole right tail
    # log(sigmoid(plus) - sigmoid(minus)), exact and cancellation-free. The bin's width in units
    # of the scale, gap = plus - minus = 2 h / s, underflows to 0 for very wide logistics (and
    # log(-expm1(-0)) = -inf poisons the gradient even where another branch is selected), so a
    # narrow gap takes log(1 - e^-g) = log g - g/2 + O(g^2), with log g formed in log space.
    gap = (2.0 * half) * inv_s
    narrow = gap < _NARROW_GAP
    log_gap = torch.where(
        narrow,
        math.log(2.0 * half) - log_scale - 0.5 * gap,
        torch.log(-torch.expm1(-gap.clamp(min=_NARROW_GAP))),
    )
    log_delta = log_cdf_plus - F.softplus(minus) + log_gap
    lower = x < -1.0 + half
    upper = x > 1.0 - half
    return torch.where(lower, log_cdf_plus, torch.where(upper, log_sf_minus, log_delta))


def _check(num_classes: int) -> None:
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")


def mixture_log_prob(
    params: Tensor,
    x: Tensor,
    *,
    mixtures: int,
    channels: int,
    num_classes: int,
    log_scale_min: float = -7.0,
) -> Tensor:
    """Per-sub-pixel log-probabilities (B, C, *spatial).

    params (B, P, *spatial); x (B, C, *spatial) float in [-1, 1] on bin centres.
    Entry c is log p(x_c | x_<c) (see module docstring); summing over C gives the
    whole-pixel log-likelihood.
    """
    _check(num_classes)
    logits, means, log_scales, coeffs = _split(params, mixtures, channels, log_scale_min)
    if x.dim() != params.dim() or x.shape[1] != channels:
        raise ValueError(f"x must be (B, {channels}, ...) matching params, got {tuple(x.shape)}")
    x = x.to(params.dtype)
    log_w = F.log_softmax(logits, dim=1)
    out = []
    for c in range(channels):
        lp = _bin_log_prob(x[:, c : c + 1], _mean(means, coeffs, x, c), log_scales[:, c], num_classes)
        joint = log_w + lp
        out.append(torch.logsumexp(joint, dim=1))
        log_w = F.log_softmax(joint, dim=1)  # posterior weights given x_<=c
    return torch.stack(out, dim=1)


def bin_centres(num_classes: int, *, dtype: torch.dtype = torch.float32, device=None) -> Tensor:
    """The ``num_classes`` bin centres in [-1, 1]."""
    return torch.linspace(-1.0, 1.0, num_classes, dtype=dtype, device=device)


def snap_to_bins(v: Tensor, num_classes: int) -> Tensor:
    """Clamp to [-1, 1] and round to the nearest bin centre."""
    idx = torch.round((v.clamp(-1.0, 1.0) + 1.0) * (0.5 * (num_classes - 1)))
    return idx * (2.0 / (num_classes - 1)) - 1.0


def mixture_channel_log_probs(
    params: Tensor,
    x: Tensor,
    channel: int,
    *,
    mixtures: int,
    channels: int,
    num_classes: int,
    log_scale_min: float = -7.0,
) -> Tensor:
    """log p(x_c = v | x_<c) for every bin v: (B, num_classes, *spatial).

    Only channels < ``channel`` of x are read. Used to sample one sub-pixel at a
    time from a categorical over all levels (image models, few levels); costs
    O(num_classes * K) per position.
    """
    _check(num_classes)
    if not 0 <= channel < channels:
        raise ValueError(f"channel must be in [0, {channels}), got {channel}")
    logits, means, log_scales, coeffs = _split(params, mixtures, channels, log_scale_min)
    x = x.to(params.dtype)
    log_w = F.log_softmax(logits, dim=1)
    for j in range(channel):
        lp = _bin_log_prob(x[:, j : j + 1], _mean(means, coeffs, x, j), log_scales[:, j], num_classes)
        log_w = F.log_softmax(log_w + lp, dim=1)
    grid = bin_centres(num_classes, dtype=params.dtype, device=params.device)
    grid = grid.view(1, 1, num_classes, *([1] * (params.dim() - 2)))
    m = _mean(means, coeffs, x, channel).unsqueeze(2)  # (B, K, 1, *S)
    lp = _bin_log_prob(grid, m, log_scales[:, channel].unsqueeze(2), num_classes)  # (B, K, V, *S)
    return torch.logsumexp(log_w.unsqueeze(2) + lp, dim=1)


def _select(t: Tensor, k: Tensor) -> Tensor:
    """t (B, N, K, *S), k (B, *S) component index -> (B, N, *S)."""
    idx = k.unsqueeze(1).unsqueeze(2).expand(t.shape[0], t.shape[1], 1, *t.shape[3:])
    return t.gather(2, idx).squeeze(2)


def _pixel_from_component(means, log_scales, coeffs, k, num_classes, noise_fn) -> Tensor:
    m_k, s_k, a_k = _select(means, k), _select(log_scales, k), _select(coeffs, k)
    C = m_k.shape[1]
    xs: list[Tensor] = []
    for c in range(C):
        m = m_k[:, c]
        base = c * (c - 1) // 2
        for j in range(c):
            m = m + a_k[:, base + j] * xs[j]
        xs.append(snap_to_bins(m + noise_fn(s_k[:, c]), num_classes))
    return torch.stack(xs, dim=1)


def mixture_sample(
    params: Tensor,
    *,
    mixtures: int,
    channels: int,
    num_classes: int,
    temperature: float = 1.0,
    generator: Generators = None,
    log_scale_min: float = -7.0,
) -> Tensor:
    """Draw whole pixels (B, C, *spatial) in [-1, 1] on bin centres.

    ``generator``: None, one generator, or one per batch row (see wavekit.core.sampling).

    Component by Gumbel-max over ``logits / temperature``; each channel in turn
    from its logistic with scale multiplied by ``temperature`` (mean shifted by
    the already drawn, bin-snapped earlier channels), then snapped to its bin —
    exactly the discretized distribution at temperature 1. temperature 0 is
    :func:`mixture_mode`.
    """
    _check(num_classes)
    check_temperature(temperature)
    if temperature == 0:
        return mixture_mode(
            params, mixtures=mixtures, channels=channels, num_classes=num_classes, log_scale_min=log_scale_min
        )
    logits, means, log_scales, coeffs = _split(params, mixtures, channels, log_scale_min)

    def uniform(shape) -> Tensor:
        return rand(shape, generator, dtype=params.dtype, device=params.device).clamp(1e-6, 1.0 - 1e-6)

    k = sample_logits(logits, temperature, generator, dim=1)

    def noise(log_scale: Tensor) -> Tensor:
        v = uniform(log_scale.shape)
        return torch.exp(log_scale) * temperature * (torch.log(v) - torch.log1p(-v))

    return _pixel_from_component(means, log_scales, coeffs, k, num_classes, noise)


def mixture_mode(
    params: Tensor,
    *,
    mixtures: int,
    channels: int,
    num_classes: int,
    log_scale_min: float = -7.0,
) -> Tensor:
    """A most-likely value (B, C, *spatial): the mean of the component with the
    largest weight, channel by channel (means shifted by the earlier, snapped
    channels), snapped to bins.

    The exact argmax over all 65536 bins (C=1 audio) or all level triples would be
    costly; the logistic's density peaks at its mean, so for well separated
    components this is the mode, and it is deterministic.
    """
    _check(num_classes)
    logits, means, log_scales, coeffs = _split(params, mixtures, channels, log_scale_min)
    k = torch.argmax(logits, dim=1)
    return _pixel_from_component(means, log_scales, coeffs, k, num_classes, torch.zeros_like)
