"""One sampling convention on every backend: torch draws == numba draws; torch engine == numba engine,
equal to solo runs while streams join and leave; CUDA graph replay == eager step (CUDA only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavekit.audio.features import MelConfig
from wavekit.audio.lpc import LPCConfig
from wavekit.generate.draw import KINDS, draw
from wavekit.generate.draw_kernel import sample_column
from wavekit.generate.engine import GenerationEngine, Request
from wavekit.generate.torch_step import TorchSlots
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet


def tiny(output: str = "mulaw", dtype: torch.dtype = torch.float64, excitation: str = "none") -> WaveNet:
    """A tiny vocoder; excitation="lpc" is the source-filter mode (LPC of order 5 from the 5-band mel), "pitch" adds a sine source, "ltp" also the long-term predictor."""
    torch.manual_seed(0)
    mel = MelConfig(n_mels=5, hop_length=4, n_fft=32, win_length=32, fmin=0.0, fmax=8000.0)
    sf = {"lpc": LPCConfig(order=5), "lpc_mel": mel} if excitation != "none" else {}
    if excitation in ("pitch", "ltp"):  # the source-filter mode with a sine source of 2 harmonics ...
        sf["long_term"] = 0.9 if excitation == "ltp" else 0.0  # ... and with the long-term predictor
        excitation, sf["pitch_harmonics"] = "lpc", 2
    cfg = WaveNetConfig(
        layers=4, stacks=2, residual_channels=8, gate_channels=12, skip_channels=10, kernel_size=3,
        output=output, mixtures=3, cin_channels=5, gin_channels=3, n_speakers=2, upsample_scales=(2, 2), dropout=0.0,
        excitation=excitation, **sf,
    )
    return WaveNet(cfg).to(dtype).eval()


@pytest.mark.parametrize("fast", [False, True])  # the kernel's exact and vectorised (float32 models) exponentials
@pytest.mark.parametrize("output", ["mulaw", "mol", "gaussian"])
def test_torch_draws_equal_the_kernel_draws(output, fast):
    cfg = tiny(output).config
    rng = np.random.default_rng(0)
    B, P = 64, {"mulaw": 256, "mol": 9, "gaussian": 2}[output]
    params = rng.standard_normal((B, P)) * (3.0 if output == "mulaw" else 0.4)
    params[:, {"mulaw": slice(0, 0), "mol": slice(6, 9), "gaussian": slice(1, 2)}[output]] -= 3.0  # small scales
    temperature = rng.choice([0.0, 0.5, 1.0, 1.7], size=B)
    u = rng.random((B, 3))
    n_classes = cfg.quantization_channels if output == "mulaw" else cfg.bins
    got = draw(torch.from_numpy(params), torch.from_numpy(temperature), torch.from_numpy(u), kind=KINDS[output],
               n_classes=n_classes, mixtures=cfg.mixtures, log_scale_min=cfg.log_scale_min).numpy()
    ref = np.array([
        sample_column(params[b], KINDS[output], n_classes, cfg.mixtures, cfg.log_scale_min, temperature[b], *u[b],
                      np.empty(P), fast)
        for b in range(B)
    ])
    if output == "mulaw":
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert len(np.unique(got)) > B // 4  # really random draws, not a constant


def _requests() -> list[Request]:
    rng = np.random.default_rng(1)
    return [
        Request(mel=rng.standard_normal((5, 3 + 4 * i)), speaker=i % 2, seed=40 + i, temperature=[1.0, 0.6, 0.0][i % 3])
        for i in range(5)
    ]


@pytest.mark.parametrize("output,excitation", [("mulaw", "none"), ("mol", "none"), ("gaussian", "none"),
                                               ("mulaw", "lpc"), ("mulaw", "pitch"), ("mulaw", "ltp")])
def test_torch_engine_equals_numba_engine_and_solo_runs(output, excitation):
    model = tiny(output, excitation=excitation)
    # 5 requests of 12..76 samples through 3 slots, chunk 16: streams join and leave mid-chunk
    torch_batched = GenerationEngine(model, slots=3, backend="torch", chunk=16).generate_all(_requests())
    numba_batched = GenerationEngine(model, slots=3, backend="numba", chunk=16).generate_all(_requests())
    torch_solo = [GenerationEngine(model, slots=1, backend="torch", chunk=16).generate_all([r])[0] for r in _requests()]
    assert [len(w) for w in torch_batched] == [(3 + 4 * i) * 4 for i in range(5)]
    for tb, nb, ts in zip(torch_batched, numba_batched, torch_solo):
        assert tb.dtype == np.float64
        if output == "mulaw" and excitation == "none":  # float64: identical samples
            np.testing.assert_array_equal(tb, nb)
            np.testing.assert_array_equal(tb, ts)
        else:
            np.testing.assert_allclose(tb, nb, rtol=0, atol=1e-9)
            np.testing.assert_allclose(tb, ts, rtol=0, atol=1e-9)
    assert not np.array_equal(torch_batched[3][:12], torch_batched[4][:12])


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("output,excitation", [("mol", "none"), ("mulaw", "lpc"), ("mulaw", "pitch"), ("mulaw", "ltp")])
def test_chunk_length_does_not_change_the_samples(backend, output, excitation):
    model = tiny(output, excitation=excitation)
    short = GenerationEngine(model, slots=2, backend=backend, chunk=7).generate_all(_requests())
    long = GenerationEngine(model, slots=2, backend=backend, chunk=512).generate_all(_requests())
    for a, b in zip(short, long):
        np.testing.assert_array_equal(a, b)


def test_engine_arguments_are_checked():
    model = tiny()
    with pytest.raises(ValueError, match="backend"):
        GenerationEngine(model, backend="jax")
    with pytest.raises(ValueError, match="CUDA graphs"):
        GenerationEngine(model, backend="numba", graphs=True)
    with pytest.raises(ValueError, match="CUDA"):
        GenerationEngine(model, backend="torch", graphs=True)


# ---- CUDA (skipped without a GPU) -------------------------------------------------------------


@pytest.mark.parametrize("output,excitation", [("mol", "none"), ("mulaw", "lpc"), ("mulaw", "pitch"), ("mulaw", "ltp")])
def test_cuda_graph_replay_equals_the_eager_step(cuda_device, output, excitation):
    model = tiny(output, torch.float32, excitation)
    slots = {g: TorchSlots(model, 3, 32, cuda_device, graphs=g) for g in (True, False)}
    reqs = _requests()[:3]
    for s in slots.values():
        for b, r in enumerate(reqs):
            s.admit(b, r.temperature)
            cond_in = s.conditioning_input(r.mel, r.speaker, 32)
            s.fill(b, 0, cond_in, 0, np.random.default_rng(b).random((32, 3)))
        s.run(3, 32, 0, 0)
    waves = {g: s.collect(3, 0, 32) for g, s in slots.items()}
    np.testing.assert_allclose(waves[True], waves[False], rtol=0, atol=1e-6)
    assert np.abs(waves[True]).max() > 0


@pytest.mark.parametrize("excitation", ["none", "lpc", "pitch", "ltp"])
def test_cuda_engine_equals_cpu_engine(cuda_device, excitation):
    model = tiny("mulaw", torch.float64, excitation)
    cpu = GenerationEngine(model, slots=3, chunk=16).generate_all(_requests())
    gpu = GenerationEngine(model.to(cuda_device), slots=3, chunk=16).generate_all(_requests())
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
