"""Causal dilated 1-D convolution and the one weight-norm helper pair.

A causal convolution pads only on the left, so output t sees inputs
``t - (kernel_size - 1) * dilation ... t`` and nothing later. Weight norm
(Salimans & Kingma 2016) uses torch's parametrization API; at generation
time :func:`remove_weight_norm` folds ``g * v / |v|`` back into a plain weight.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

# Layers that get weight norm; the value is the dimension kept (output channels).
_WEIGHT_NORM_DIM: dict[type, int] = {
    nn.Conv1d: 0,
    nn.Conv2d: 0,
    nn.Linear: 0,
    nn.ConvTranspose1d: 1,
    nn.ConvTranspose2d: 1,
}


class CausalConv1d(nn.Conv1d):
    """Conv1d padded on the left only: (B, C_in, T) -> (B, C_out, T).

    Output t depends on inputs ``t - (kernel_size - 1) * dilation`` to ``t``
    (zeros before the start).

    Computed as one matrix product over the stacked taps, ``W (C_out, K * C_in) @
    [x_{t-(K-1)d}; ...; x_t] (B, K * C_in, T)``, the weight being nn.Conv1d's own
    ``(C_out, C_in, K)`` tensor; under autocast the input is cast before the taps are
    stacked, so the stack is built at the product's precision. Same function as
    nn.Conv1d on the padded input; measured faster on the CPU than its (oneDNN) dilated
    convolution for WaveNet's blocks in training (r9y9's small mu-law config in bf16
    autocast, 2 x 7936 samples, 2 threads: with the residual-scale fold of
    :class:`wavekit.core.gated.ResidualBlock`, 0.57 -> 0.47 s per Adam step).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        if kernel_size < 1 or dilation < 1:
            raise ValueError(f"kernel_size and dilation must be >= 1, got {kernel_size}, {dilation}")
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, padding=0, bias=bias)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"CausalConv1d takes (B, C, T) input, got {tuple(x.shape)}")
        device = x.device.type
        if torch.is_autocast_enabled(device):
            x = x.to(torch.get_autocast_dtype(device))
        T, d = x.shape[2], self.dilation[0]
        w = self.weight  # (C_out, C_in, K); computed once here when weight-normalised
        padded = F.pad(x, (self.left_pad, 0))
        taps = torch.cat([padded[:, :, k * d : k * d + T] for k in range(self.kernel_size[0])], dim=1)
        w_taps = w.permute(0, 2, 1).reshape(w.shape[0], -1).expand(x.shape[0], -1, -1)  # (B, C_out, K * C_in)
        if self.bias is None:
            return torch.bmm(w_taps, taps)
        return torch.baddbmm(self.bias.unsqueeze(1), w_taps, taps)


def _wn_dim(m: nn.Module) -> int | None:
    for cls, dim in _WEIGHT_NORM_DIM.items():
        if isinstance(m, cls):
            return dim
    return None


def apply_weight_norm(module: nn.Module) -> nn.Module:
    """Weight-normalise every conv / linear layer inside ``module`` (in place); returns it."""
    for m in module.modules():
        dim = _wn_dim(m)
        if dim is not None and not parametrize.is_parametrized(m, "weight"):
            weight_norm(m, name="weight", dim=dim)
    return module


def remove_weight_norm(module: nn.Module) -> nn.Module:
    """Fold every weight-norm parametrization in ``module`` into a plain weight (in place); returns it.

    The function the module computes is unchanged. Use :func:`folded_copy`
    when the original should keep its weight norm.
    """
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            # torch's deepcopy shares the injected ``Parametrized<Cls>`` class between
            # original and copy, and removal deletes the property from that class;
            # give this module a class of its own first so no other module breaks.
            cls = type(m)
            body = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
            m.__class__ = type(cls.__name__, cls.__bases__, body)
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return module


def folded_copy(module: nn.Module) -> nn.Module:
    """A deep copy of ``module`` with weight norm folded away; ``module`` itself is untouched."""
    return remove_weight_norm(copy.deepcopy(module))


def has_weight_norm(module: nn.Module) -> bool:
    """True if any layer inside ``module`` still carries a weight parametrization."""
    return any(parametrize.is_parametrized(m, "weight") for m in module.modules())
