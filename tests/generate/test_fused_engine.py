"""The compiled step equals the full forward pass; engine streams equal their solo runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavekit.audio.features import MelConfig
from wavekit.audio.lpc import LPCConfig
from wavekit.audio.mulaw import mulaw_encode
from wavekit.generate.engine import GenerationEngine, Request
from wavekit.generate.fused import FusedWaveNet
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet


def tiny(output: str = "mulaw", kernel_size: int = 2, cin: int = 5, gin: int = 3, excitation: str = "none") -> WaveNet:
    """A tiny vocoder; excitation="lpc" is the source-filter mode (LPC of order 5 from the 5-band mel), "pitch" adds a sine source, "ltp" also the long-term predictor."""
    torch.manual_seed(0)
    mel = MelConfig(n_mels=cin, hop_length=4, n_fft=32, win_length=32, fmin=0.0, fmax=8000.0) if cin else None
    sf = {"lpc": LPCConfig(order=5), "lpc_mel": mel} if excitation != "none" else {}
    if excitation in ("pitch", "ltp"):  # the source-filter mode with a sine source of 2 harmonics ...
        sf["long_term"] = 0.9 if excitation == "ltp" else 0.0  # ... and with the long-term predictor
        excitation, sf["pitch_harmonics"] = "lpc", 2
    cfg = WaveNetConfig(
        layers=4, stacks=2, residual_channels=8, gate_channels=12, skip_channels=10, kernel_size=kernel_size,
        output=output, mixtures=3, cin_channels=cin, gin_channels=gin, n_speakers=2 if gin else 0,
        upsample_scales=(2, 2), dropout=0.0, excitation=excitation, **sf,
    )
    return WaveNet(cfg).eval()


# every plain combination of output, kernel and conditioning, and the source-filter mode (mu-law with a mel)
STEP_CASES = [(o, k, cin, gin, "none") for o in ("mulaw", "mol", "gaussian") for k in (2, 3)
              for cin, gin in [(0, 0), (5, 0), (0, 3), (5, 3)]] + [
    ("mulaw", k, 5, gin, mode) for k in (2, 3) for gin in (0, 3) for mode in ("lpc", "pitch", "ltp")]


@pytest.mark.parametrize("output,kernel_size,cin,gin,excitation", STEP_CASES)
def test_teacher_forced_step_equals_forward(output, kernel_size, cin, gin, excitation):
    model = tiny(output, kernel_size, cin, gin, excitation)
    T = 48
    gen = torch.Generator().manual_seed(1)
    wav = torch.rand(1, T, generator=gen) * 1.6 - 0.8
    c = torch.randn(1, cin, T // 4, generator=gen) if cin else None
    g = torch.tensor([1]) if gin else None
    with torch.no_grad():
        ref = model(wav, c, g)[0].T.numpy()
    got = FusedWaveNet(model).teacher_forced(wav[0].numpy(), None if c is None else c[0].numpy(), 1 if gin else None)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
    # float64: the same computation agrees to rounding
    model64 = model.double()
    with torch.no_grad():
        ref64 = model64(wav.double(), None if c is None else c.double(), g)[0].T.numpy()
    got64 = FusedWaveNet(model64).teacher_forced(wav[0].double().numpy(), None if c is None else c[0].double().numpy(),
                                                 1 if gin else None)
    np.testing.assert_allclose(got64, ref64, rtol=0, atol=1e-10)


def _requests(n: int, cin: int) -> list[Request]:
    rng = np.random.default_rng(0)
    return [
        Request(mel=rng.standard_normal((cin, 6 + 5 * i)).astype(np.float32), speaker=i % 2, seed=100 + i,
                temperature=[1.0, 0.7, 0.0][i % 3])
        for i in range(n)
    ]


@pytest.mark.parametrize("output,excitation", [("mulaw", "none"), ("mol", "none"), ("mulaw", "lpc"),
                                               ("mulaw", "pitch"), ("mulaw", "ltp")])
def test_streams_equal_solo_runs_while_others_join_and_leave(output, excitation):
    model = tiny(output, 3, excitation=excitation)
    # 7 requests of different lengths through 3 slots: streams join and leave mid-chunk
    batched = GenerationEngine(model, slots=3, chunk=16, threads=2).generate_all(_requests(7, 5))
    solo = [GenerationEngine(model, slots=1, chunk=16, threads=1).generate_all([r])[0] for r in _requests(7, 5)]
    assert [len(b) for b in batched] == [(6 + 5 * i) * 4 for i in range(7)]
    for b, s in zip(batched, solo):
        np.testing.assert_array_equal(b, s)
    # different seeds give different waveforms (the noise is really per stream)
    assert not np.array_equal(batched[0][:20], GenerationEngine(model, slots=1).generate_all(
        [Request(mel=_requests(1, 5)[0].mel, speaker=0, seed=7)])[0][:20])


def test_engine_results_arrive_as_streams_complete():
    model = tiny("gaussian", 2, cin=0, gin=0)
    engine = GenerationEngine(model, slots=2, chunk=8)
    for key, length in [("long", 50), ("short", 5), ("mid", 20)]:
        engine.submit(Request(length=length, seed=1, key=key))
    order = [k for k, _ in engine.run()]
    assert order == ["short", "mid", "long"]


@pytest.mark.parametrize("output,excitation", [("mulaw", "none"), ("mol", "none"), ("gaussian", "none"),
                                               ("mulaw", "lpc"), ("mulaw", "pitch"), ("mulaw", "ltp")])
def test_temperature_zero_is_fixed_point_of_forward_then_mode(output, excitation):
    model = tiny(output, 3, excitation=excitation)
    if excitation != "none":  # small mode excitations, as trained: an untrained model's clip the waveform
        with torch.no_grad():
            model.head[-1].bias.add_(-0.05 * (torch.arange(256.0) - 128) ** 2)
    rng = np.random.default_rng(3)
    mel = rng.standard_normal((5, 10)).astype(np.float32)
    wav = GenerationEngine(model, slots=2).generate_all([Request(mel=mel, speaker=1, temperature=0.0)])[0]
    with torch.no_grad():
        params = model(torch.from_numpy(wav)[None], torch.from_numpy(mel)[None], torch.tensor([1]))
    mode = model.distribution.mode(params)[0].numpy()
    if excitation != "none":  # the modes are the excitations of the generated waveform
        assert np.abs(wav).max() < 1.0
        np.testing.assert_array_equal(model.targets(torch.from_numpy(wav)[None], torch.from_numpy(mel)[None])[0], mode)
    elif output == "mulaw":
        np.testing.assert_array_equal(mulaw_encode(wav, 256), mode)
    else:  # same bin (bins are 3e-5 wide)
        np.testing.assert_allclose(wav, mode, rtol=0, atol=1e-6)


def test_conditioned_model_cannot_generate_without_mel():
    with pytest.raises(ValueError, match="mel"):
        GenerationEngine(tiny()).submit(Request(length=10, speaker=0))



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gate_matches_torch_tanh_times_sigmoid(dtype):
    """The kernel's gate: the vectorised rational tanh (float32) and the exact form (float64) against torch."""
    from wavekit.generate.kernel_math import _gate_rows, tanh_coefficients

    grid = np.concatenate([np.linspace(-40, 40, 20001), [-1e30, -9.0, -8.99, 0.0, 8.99, 9.0, 1e30]])
    rng = np.random.default_rng(0)
    acc = np.concatenate([grid, rng.permutation(grid)])[None].astype(dtype)  # one row: [tanh in | sigmoid in]
    z = np.empty((1, len(grid)), dtype)
    _gate_rows(acc, z, tanh_coefficients(dtype), dtype == np.float32)
    a64 = torch.from_numpy(acc.astype(np.float64))
    ref = (torch.tanh(a64[:, : z.shape[1]]) * torch.sigmoid(a64[:, z.shape[1] :])).numpy()
    err = np.abs(z.astype(np.float64) - ref).max()
    assert err < (1e-6 if dtype == np.float32 else 1e-15), err
    assert np.abs(z).max() <= 1.0 + 1e-6


def deep_tiny(output: str) -> WaveNet:
    """Dilations 1..16 with kernel 3: past-tap blocks of 1, 2, 4, 8, 8 steps."""
    torch.manual_seed(2)
    cfg = WaveNetConfig(
        layers=5, stacks=1, residual_channels=8, gate_channels=12, skip_channels=10, kernel_size=3,
        output=output, mixtures=3, cin_channels=5, gin_channels=3, n_speakers=2, upsample_scales=(2, 2), dropout=0.0,
    )
    return WaveNet(cfg).eval()


@pytest.mark.parametrize("output", ["mulaw", "mol"])
def test_past_tap_blocks_equal_the_direct_path_and_the_forward_pass(output):
    """Past taps summed in blocks (computed ahead, once per block) give what the per-step taps give."""
    model = deep_tiny(output).double()
    T = 70  # blocks start at 0, 8, ..., 64: the last block is cut short
    gen = torch.Generator().manual_seed(4)
    wav = (torch.rand(T, generator=gen, dtype=torch.float64) * 1.6 - 0.8).numpy()
    mel = torch.randn(5, (T + 3) // 4, generator=gen, dtype=torch.float64).numpy()
    blocked, direct = FusedWaveNet(model), FusedWaveNet(model, past_block_max=1)
    assert blocked.past_block.tolist() == [1, 2, 4, 8, 8] and direct.past_block.max() == 1
    got, ref = blocked.teacher_forced(wav, mel, 1), direct.teacher_forced(wav, mel, 1)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    with torch.no_grad():
        full = model(torch.from_numpy(wav)[None], torch.from_numpy(mel)[None], torch.tensor([1]))[0, :, :T].T.numpy()
    np.testing.assert_allclose(got, full, rtol=0, atol=1e-10)


@pytest.mark.parametrize("output", ["mulaw", "mol"])  # mol: any change of the parameters moves the samples
def test_past_tap_blocks_keep_streams_independent(output):
    """Streams admitted mid-block (their blocks start with an empty past) still equal their solo runs."""
    model = deep_tiny(output)
    rng = np.random.default_rng(5)
    requests = lambda: [Request(mel=rng_mel, speaker=i % 2, seed=i) for i, rng_mel in enumerate(mels)]  # noqa: E731
    mels = [rng.standard_normal((5, 3 + 4 * i)).astype(np.float32) for i in range(6)]
    batched = GenerationEngine(model, slots=2, chunk=13, threads=2).generate_all(requests())
    for r, b in zip(requests(), batched):
        np.testing.assert_array_equal(b, GenerationEngine(model, slots=1, chunk=13, threads=1).generate_all([r])[0])


def test_projection_ahead_equals_projection_in_place(monkeypatch):
    """Chunks projected on the background thread give exactly what projecting at the fill gives."""
    from wavekit.generate import fused

    model = deep_tiny("mol")
    rng = np.random.default_rng(6)
    mels = [rng.standard_normal((5, 9 + 7 * i)).astype(np.float32) for i in range(4)]
    requests = [Request(mel=mel, speaker=i % 2, seed=i) for i, mel in enumerate(mels)]
    flips = []
    real_fill = fused.NumbaSlots.fill

    def counting_fill(self, b, lo, cond_in, start, noise):
        before = self.state.cond_buf[b]
        real_fill(self, b, lo, cond_in, start, noise)
        flips.append(self.state.cond_buf[b] != before)

    monkeypatch.setattr(fused.NumbaSlots, "fill", counting_fill)
    ahead = GenerationEngine(model, slots=2, chunk=8, threads=2).generate_all(requests)
    assert sum(flips) > 10  # most chunks after a stream's first came from the background thread
    monkeypatch.setattr(fused.NumbaSlots, "_project_ahead", lambda self, jobs: None)  # never ready: project in place
    flips.clear()
    in_place = GenerationEngine(model, slots=2, chunk=8, threads=2).generate_all(requests)
    assert sum(flips) == 0
    for a, b in zip(ahead, in_place):
        np.testing.assert_array_equal(a, b)


def test_vectorised_exponential_is_accurate():
    from wavekit.generate.draw_kernel import _exp_nonpositive

    x = np.concatenate([-np.geomspace(1e-12, 79.9, 20001), [0.0, -1e-300]])
    got = np.array([_exp_nonpositive(v) for v in x])
    np.testing.assert_allclose(got, np.exp(x), rtol=2e-9, atol=0)
    assert _exp_nonpositive(-80.5) == 0.0 and _exp_nonpositive(-1e9) == 0.0
