"""A small WaveNet overfits one second of real speech (fillets-ng, Czech)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from wavenet_helpers import tiny_config

from wavekit.audio import load_wav, mulaw_encode
from wavekit.wavenet import WaveNet


def _loudest_second(files, sr: int = 16000) -> torch.Tensor:
    """The 1 s window with the most energy from the first speech file of at least 1.5 s."""
    for path in files:
        wav = load_wav(path, sr)
        if len(wav) >= 1.5 * sr:
            energy = np.convolve(wav.astype(np.float64) ** 2, np.ones(sr), mode="valid")
            start = int(np.argmax(energy[::160])) * 160
            return torch.from_numpy(wav[start : start + sr].copy())
    pytest.skip("no fillets-ng speech file of at least 1.5 s")


@pytest.mark.slow
def test_small_wavenet_overfits_one_second_of_speech(fillets_files):
    """NLL falls far below its start and below the clip's own mu-law histogram entropy (context is used)."""
    clip = _loudest_second(fillets_files)
    assert clip.shape == (16000,) and clip.abs().max() > 0.05
    classes = mulaw_encode(clip, 256)
    freq = torch.bincount(classes, minlength=256).double() / classes.numel()
    marginal_entropy = -(freq[freq > 0] * freq[freq > 0].log()).sum().item()
    torch.manual_seed(0)
    cfg = tiny_config(
        output="mulaw", layers=8, stacks=2, kernel_size=3, residual_channels=16, gate_channels=32,
        skip_channels=32, quantization_channels=256,
    )
    model = WaveNet(cfg)
    with torch.no_grad():
        start = model.loss(clip.unsqueeze(0)).item()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    crop = 1000
    for _ in range(120):
        offsets = torch.randint(0, len(clip) - crop, (4,), generator=gen)
        batch = torch.stack([clip[o : o + crop] for o in offsets.tolist()])
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    with torch.no_grad():
        end = model.loss(clip.unsqueeze(0)).item()
    print(f"NLL {start:.3f} -> {end:.3f} nats/sample; marginal entropy {marginal_entropy:.3f}")
    assert end < start - 1.2
    assert end < marginal_entropy - 0.3
