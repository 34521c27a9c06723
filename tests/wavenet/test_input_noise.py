"""LPCNet's noise injection in training (``WaveNetConfig.input_noise``): what the network sees and learns."""

from __future__ import annotations

import math

import pytest
import torch
from wavenet_helpers import HOP, inputs, tiny_model

from wavekit.audio.mulaw import mulaw_decode
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.source_filter import mulaw_position, predict

F64 = torch.float64


def test_mulaw_decode_of_a_float_position_inverts_the_mulaw_position():
    """What the noise injection relies on to turn a moved position back into a value."""
    x = torch.linspace(-1.0, 1.0, 2001, dtype=F64)
    assert torch.allclose(mulaw_decode(mulaw_position(x, 256), 256), x, atol=1e-12, rtol=0)
    ends = mulaw_decode(torch.tensor([0.0, 255.0], dtype=F64), 256)  # the ends of the axis
    assert torch.allclose(ends, torch.tensor([-1.0, 1.0], dtype=F64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("excitation", ["lpc", "ltp"])
def test_noisy_inputs_predict_from_the_noisy_past_and_the_target_is_the_clean_signal(excitation):
    """inputs: s' + eps, its own prediction and excitation; target: the clean s' less that noisy prediction."""
    model = tiny_model(F64, cin_channels=6, excitation=excitation)
    sf = model.source_filter
    wav, c, _ = inputs(model, 2, 40 * HOP)
    T = wav.shape[1]
    phase = torch.remainder(torch.arange(T, dtype=F64) / 40.0, 1.0).expand(2, T)
    voicing = torch.ones(2, T, dtype=F64)
    clean = sf.signals(wav, c, phase, voicing)
    assert torch.equal(clean.target, clean.e)  # no noise: the network models what it is fed back
    gen = torch.Generator().manual_seed(3)
    noisy = sf.signals(wav, c, phase, voicing, noise=2.0, generator=gen)
    eps = noisy.sp - clean.sp
    assert float(eps.abs().max()) > 0
    a_t = sf.per_sample(sf.coefficients(c), T)
    assert torch.allclose(noisy.p, predict(noisy.sp, a_t), atol=1e-12, rtol=0)  # prediction from the noisy past
    # the excitation fed back and the target differ by exactly the injected noise, whatever the
    # long-term predictor adds: target = s' - p~ (- l~), e~ = s' + eps - p~ (- l~)
    assert torch.allclose(noisy.e - noisy.target, eps, atol=1e-12, rtol=0)
    if excitation == "lpc":
        assert torch.allclose(noisy.target + noisy.p, clean.sp, atol=1e-12, rtol=0)
    # the same generator state gives the same noise
    again = sf.signals(wav, c, phase, voicing, noise=2.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again.sp, noisy.sp) and torch.equal(again.target, noisy.target)


def test_the_noise_is_laplacian_with_the_given_deviation_in_mulaw_classes():
    model = tiny_model(F64, cin_channels=6, excitation="lpc", quantization_channels=256)
    sf = model.source_filter
    gen = torch.Generator().manual_seed(0)
    wav = 0.01 * torch.randn(4, 2000 * HOP, generator=gen, dtype=F64)  # small: the noise never meets the rails
    c = torch.randn(4, 6, 2000, generator=gen, dtype=F64)
    clean = sf.signals(wav, c)
    noisy = sf.signals(wav, c, noise=3.0, generator=gen)
    delta = mulaw_position(clean.e + (noisy.sp - clean.sp), 256) - mulaw_position(clean.e, 256)
    assert float(delta.std()) == pytest.approx(3.0, rel=0.03)
    assert float(delta.abs().mean()) == pytest.approx(3.0 / math.sqrt(2.0), rel=0.03)  # Laplace: E|x| = b, std = b sqrt 2
    assert abs(float(delta.mean())) < 0.05


def test_the_noise_is_injected_in_training_only():
    """Evaluation (dev loss) and everything generation builds on see the clean signal."""
    noisy = tiny_model(F64, cin_channels=6, excitation="ltp", input_noise=2.0)
    clean = tiny_model(F64, cin_channels=6, excitation="ltp")
    clean.load_state_dict(noisy.state_dict())
    wav, c, _ = inputs(noisy, 2, 20 * HOP)
    assert torch.equal(noisy.log_prob(wav, c), clean.log_prob(wav, c))
    assert torch.equal(noisy.targets(wav, c), clean.targets(wav, c))
    noisy.train()
    torch.manual_seed(5)
    first = noisy.loss(wav, c)
    torch.manual_seed(5)
    assert torch.equal(noisy.loss(wav, c), first)  # the noise comes from torch's seeded generator (resume)
    assert not torch.equal(first, clean.train().loss(wav, c))


def test_input_noise_is_validated():
    with pytest.raises(ValueError, match="input_noise must be >= 0"):
        WaveNetConfig(excitation="lpc", input_noise=-1.0)
    with pytest.raises(ValueError, match="needs the source-filter mode"):
        WaveNetConfig(input_noise=1.0)
