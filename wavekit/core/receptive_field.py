"""Receptive field of stacked dilated causal convolutions (the one formula).

A causal conv with kernel k and dilation d makes output t see inputs
t - (k-1) d .. t. Stacking layers adds the spans, so the last output sees

    receptive_field = 1 + sum_i (k_i - 1) * d_i

consecutive inputs (itself included). For WaveNet, whose input at t is the
previous sample x_{t-1}, this is exactly how many past samples the
distribution of x_t sees: x_{t-rf} .. x_{t-1}.
"""

from __future__ import annotations

from collections.abc import Sequence


def receptive_field(kernel_sizes: Sequence[int], dilations: Sequence[int]) -> int:
    """``1 + sum((k - 1) * d)`` over the layers; kernel_sizes and dilations pair up."""
    if len(kernel_sizes) != len(dilations):
        raise ValueError(f"{len(kernel_sizes)} kernel sizes but {len(dilations)} dilations")
    return 1 + sum((k - 1) * d for k, d in zip(kernel_sizes, dilations))


def stacked_dilations(layers: int, stacks: int, base: int = 2) -> list[int]:
    """Dilations 1, 2, 4, ... restarted every ``layers // stacks`` layers (van den Oord et al. 2016)."""
    if layers < 1 or stacks < 1 or layers % stacks:
        raise ValueError(f"layers ({layers}) must be a positive multiple of stacks ({stacks})")
    per_stack = layers // stacks
    return [base ** (i % per_stack) for i in range(layers)]
