"""Location-sensitive attention (Chorowski et al. 2015, as in Tacotron 2) and alignment scores.

Also the guided-attention weight matrix of Tachibana et al. (2017), which
penalises attention far from the text/time diagonal, and two measured
alignment scores: :func:`diagonality` (attention mass in a band around the
diagonal) and :func:`focus_rate` (mean peak attention weight per step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LocationSensitiveAttention(nn.Module):
    """Additive attention whose energies also see the previous and cumulative alignments.

    ``e_{t,n} = v^T tanh(W q_t + V m_n + U f_{t,n})`` where ``f = conv([a_{t-1}, sum_{s<t} a_s])``.
    """

    def __init__(
        self,
        *,
        query_dim: int,
        memory_dim: int,
        attention_dim: int,
        location_filters: int,
        location_kernel: int,
    ) -> None:
        super().__init__()
        if location_kernel % 2 != 1:
            raise ValueError(f"location_kernel must be odd, got {location_kernel}")
        self.query_layer = nn.Linear(query_dim, attention_dim, bias=False)
        self.memory_layer = nn.Linear(memory_dim, attention_dim, bias=False)
        self.location_conv = nn.Conv1d(2, location_filters, location_kernel, padding=location_kernel // 2, bias=False)
        self.location_layer = nn.Linear(location_filters, attention_dim, bias=False)
        self.v = nn.Linear(attention_dim, 1, bias=True)

    def process_memory(self, memory: torch.Tensor) -> torch.Tensor:
        """(B, N, memory_dim) -> (B, N, attention_dim), computed once per utterance."""
        return self.memory_layer(memory)

    def forward(
        self,
        query: torch.Tensor,
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        weights_cat: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One decoder step.

        query (B, query_dim); memory (B, N, memory_dim); processed_memory (B, N, attention_dim);
        weights_cat (B, 2, N): previous and cumulative weights; mask (B, N) True at real symbols.
        Returns context (B, memory_dim) and weights (B, N) (zero at padding, rows sum to 1).
        """
        location = self.location_layer(self.location_conv(weights_cat).transpose(1, 2))
        energies = self.v(torch.tanh(self.query_layer(query).unsqueeze(1) + processed_memory + location)).squeeze(-1)
        energies = energies.masked_fill(~mask, torch.finfo(energies.dtype).min)
        weights = F.softmax(energies, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), memory).squeeze(1)
        return context, weights


def guided_attention_weights(
    text_lengths: torch.Tensor, step_lengths: torch.Tensor, sigma: float, n_text: int, n_steps: int
) -> torch.Tensor:
    """Tachibana et al. (2017) penalty ``W[t, n] = 1 - exp(-(n/N - t/T)^2 / (2 sigma^2))``.

    text_lengths (B,), step_lengths (B,) decoder steps. Returns (B, n_steps, n_text),
    zero outside each item's valid (T, N) rectangle.
    """
    device = text_lengths.device
    n = torch.arange(n_text, device=device, dtype=torch.float64)[None, None, :]
    t = torch.arange(n_steps, device=device, dtype=torch.float64)[None, :, None]
    big_n = text_lengths.to(torch.float64)[:, None, None]
    big_t = step_lengths.to(torch.float64)[:, None, None]
    w = 1.0 - torch.exp(-((n / big_n - t / big_t) ** 2) / (2.0 * sigma**2))
    valid = (n < big_n) & (t < big_t)
    return w * valid


def _check_alignment(alignment: torch.Tensor) -> torch.Tensor:
    a = torch.as_tensor(alignment, dtype=torch.float64)
    if a.dim() != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"alignment must be (decoder_steps, text_length), got shape {tuple(a.shape)}")
    return a


def diagonality(alignment: torch.Tensor, band: float = 0.1) -> float:
    """Fraction of attention mass within ``band`` of the diagonal, in [0, 1].

    alignment (T, N): decoder steps by text positions (rows are attention weights).
    Position (t, n) counts when ``|(n + 0.5)/N - (t + 0.5)/T| <= band``. A uniform
    alignment scores about ``2 band``; a clean monotonic one close to 1.
    """
    a = _check_alignment(alignment)
    steps, n_text = a.shape
    t = (torch.arange(steps, dtype=torch.float64)[:, None] + 0.5) / steps
    n = (torch.arange(n_text, dtype=torch.float64)[None, :] + 0.5) / n_text
    inside = (n - t).abs() <= band
    return float((a * inside).sum() / a.sum().clamp_min(1e-12))


def focus_rate(alignment: torch.Tensor) -> float:
    """Mean over decoder steps of the largest attention weight (Ren et al. 2019), in (0, 1]."""
    a = _check_alignment(alignment)
    return float(a.max(dim=1).values.mean())
