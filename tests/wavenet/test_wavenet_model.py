"""WaveNet: exact causality, receptive field, local conditioning, config checks (float64 where dependency is checked)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from wavenet_helpers import HOP, SF_ORDER, case_kwargs, inputs, tiny_config, tiny_model

import wavekit
from wavekit.audio.mulaw import mulaw_encode
from wavekit.audio.pitch import PitchConfig
from wavekit.config import from_dict, to_dict
from wavekit.errors import ConfigError
from wavekit.registry import get_model
from wavekit.train.checkpoint import save_checkpoint
from wavekit.wavenet import UpsampleNetwork, WaveNet, WaveNetConfig
from wavekit.wavenet.config import LONG_TERM_HALF

F64 = torch.float64


def _perturb(wav: torch.Tensor, s: int, far: float = 0.8) -> torch.Tensor:
    """wav with sample s moved far (a different mu-law class and bin for sure)."""
    out = wav.clone()
    out[:, s] = -far if float(wav[0, s]) > 0 else far
    return out


def _changed(a: torch.Tensor, b: torch.Tensor) -> list[int]:
    """Time positions (last dim) where a and b differ at all."""
    diff = (a - b).abs().reshape(-1, a.shape[-1]).amax(0)
    return (diff > 0).nonzero().flatten().tolist()


def test_exact_causality(case):
    model = tiny_model(F64, kernel_size=3, **case_kwargs(case))
    wav, c, g = inputs(model, 2, 90)
    s = 50
    wav2 = _perturb(wav, s)
    with torch.no_grad():
        lp, lp2 = model.log_prob(wav, c, g), model.log_prob(wav2, c, g)
        params, params2 = model(wav, c, g), model(wav2, c, g)
    assert lp.shape == (2, 90) and lp.dtype == F64
    assert params.shape == (2, model.distribution.num_params, 90)
    changed = _changed(lp, lp2)
    assert changed[0] == s  # log p(x_s | x_<s) changes with x_s, nothing earlier does
    assert _changed(params, params2)[0] == s + 1  # the parameters at s do not see x_s


@pytest.mark.parametrize("output,excitation", [("mulaw", "none"), ("mol", "none"), ("mulaw", "lpc"),
                                               ("mulaw", "pitch"), ("mulaw", "ltp")])
@pytest.mark.parametrize("kernel_size,layers,stacks", [(2, 6, 2), (3, 6, 2), (3, 5, 1)])
def test_receptive_field_formula_equals_measured_span(output, excitation, kernel_size, layers, stacks):
    # the long-term predictor: an F0 range above the test track's, so every lag is the longest, 8 samples
    pitch = {"pitch": PitchConfig(f0_min=2000.0, f0_max=2100.0)} if excitation == "ltp" else {}
    model = tiny_model(F64, output=output, kernel_size=kernel_size, layers=layers, stacks=stacks, cin_channels=6,
                       excitation=excitation, **pitch)
    per_stack = layers // stacks
    dilations = [2 ** (i % per_stack) for i in range(layers)]
    formula = 1 + sum((kernel_size - 1) * d for d in dilations)
    if excitation != "none":  # e_{t-1} is an input, and it sees s'_{t-1-order}, which sees s_{t-2-order}
        formula += SF_ORDER + 1
    if excitation == "ltp":  # r_{t-1} holds the prediction from e one lag + D further back
        formula += 8 + LONG_TERM_HALF
    assert model.receptive_field == formula
    T, s = 140, 40
    wav, c, _ = inputs(model, 8, T)  # eight streams: a ReLU of the head silent at some t in one is not in all
    far = 0.8
    if excitation != "none":  # keep the excitation inside [-1, 1], where its class is not clipped, so that
        wav, far = wav * 0.05, 0.04  # every dependency reaches the log-probabilities
    with torch.no_grad():
        changed = _changed(model.log_prob(wav, c), model.log_prob(_perturb(wav, s, far), c))
    # log_prob at t depends on x[t - rf] .. x[t], and on nothing earlier
    assert changed == list(range(s, s + formula + 1))


def test_upsample_network_frame_span_is_exact():
    torch.manual_seed(0)
    up = UpsampleNetwork((3, 2, 4)).double()
    with torch.no_grad():
        for conv in up.convs:
            conv.weight.uniform_(0.5, 1.5)  # every tap non-zero: spans are reached exactly
    hop = up.hop_length
    frames = 12
    c = torch.randn(1, 2, frames, dtype=F64)
    base = up(c)
    assert base.shape == (1, 2, frames * hop)
    for j in (0, 5, frames - 1):
        c2 = c.clone()
        c2[:, :, j] += 1.0
        expected = [t for t in range(frames * hop) if up.frame_span(t)[0] <= j <= up.frame_span(t)[1]]
        assert _changed(base, up(c2)) == expected
    assert up.lookahead == max(up.frame_span(t)[1] - t // hop for t in range(5 * hop))
    assert UpsampleNetwork((4, 4, 4, 4)).lookahead == 2
    assert UpsampleNetwork((4, 4, 4, 4)).lookbehind == 2


def test_local_conditioning_is_local():
    """Changing the last mel frames leaves every sample before their reach unchanged."""
    model = tiny_model(F64, output="mol", cin_channels=6, gin_channels=4)
    frames = 20
    wav, c, g = inputs(model, 2, frames * HOP)
    j = frames - 3
    c2 = c.clone()
    c2[:, :, j:] = torch.randn_like(c2[:, :, j:])
    first_reached = min(t for t in range(frames * HOP) if model.upsample.frame_span(t)[1] >= j)
    assert first_reached // HOP == j - model.upsample.lookahead  # the documented look-ahead, in frames
    with torch.no_grad():
        changed = _changed(model.log_prob(wav, c, g), model.log_prob(wav, c2, g))
    assert changed[0] == first_reached


def test_extra_frames_are_cropped_and_missing_frames_are_an_error():
    model = tiny_model(F64, cin_channels=6)
    T = 10 * HOP
    wav, c, _ = inputs(model, 1, T)
    long_c = torch.cat([c, torch.randn(1, 6, 7, dtype=F64)], dim=2)
    with torch.no_grad():
        a = model.log_prob(wav, long_c)
        b = model.log_prob(wav, long_c[:, :, : 10 + model.upsample.lookahead])
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="frames"):
        model.log_prob(wav, c[:, :, :9])
    with pytest.raises(ValueError, match="mel"):
        model.log_prob(wav, c[:, :5])
    with pytest.raises(ValueError, match="pass c"):
        model.log_prob(wav)


def test_speaker_and_shape_errors():
    model = tiny_model(gin_channels=4)
    wav, _, g = inputs(model, 2, 30)
    with pytest.raises(ValueError, match="speaker ids"):
        model.log_prob(wav, g=torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="pass g"):
        model.log_prob(wav)
    with pytest.raises(ValueError, match="no local conditioning"):
        model.log_prob(wav, c=torch.zeros(2, 6, 5), g=g)
    with pytest.raises(ValueError, match="wav"):
        model.log_prob(wav[0], g=g)
    assert not torch.equal(model.log_prob(wav, g=g), model.log_prob(wav, g=(g + 1) % 5))


def test_upsample_scales_must_multiply_to_the_hop():
    # (the scales-vs-corpus-hop check lives in the data builder, wavekit.wavenet.data)
    cfg = WaveNetConfig()
    assert cfg.hop_length == 256
    with pytest.raises(ValueError, match="upsample_scales"):
        WaveNetConfig(upsample_scales=(4, 0))


@pytest.mark.parametrize(
    "bad",
    [dict(layers=10, stacks=3), dict(gate_channels=7), dict(output="wav"), dict(gin_channels=4),
     dict(dropout=1.0), dict(quantization_channels=1), dict(residual_channels=0), {"excitation": "celp"},
     {"excitation": "lpc", "output": "mol"}, {"excitation": "lpc", "cin_channels": 0},
     {"excitation": "lpc", "cin_channels": 40},  # lpc_mel (80 bands) must describe c
     {"pitch_harmonics": 2}, {"excitation": "lpc", "pitch_harmonics": -1}],  # a sine source needs the lpc mode
)
def test_config_validation(bad):
    with pytest.raises(ValueError):
        WaveNetConfig(**bad)


@pytest.mark.parametrize("excitation", ["none", "lpc", "pitch", "ltp"])
def test_config_round_trips_through_strict_dicts_and_registry(excitation):
    cfg = tiny_config(cin_channels=6, gin_channels=4, output="mol" if excitation == "none" else "mulaw",
                      excitation=excitation)
    assert from_dict(WaveNetConfig, to_dict(cfg)) == cfg
    with pytest.raises(ConfigError, match="upsample_scale"):
        from_dict(WaveNetConfig, {"upsample_scale": [4, 4]})
    entry = get_model("wavenet")
    assert entry.config_cls is WaveNetConfig and entry.model_cls is WaveNet
    model = WaveNet.from_config(cfg)
    assert model.config is cfg
    assert WaveNetConfig().receptive_field == 505  # documented default: 4 stacks of 1..32, kernel 3


def test_defaults_do_not_hard_code_80_bands():
    model = tiny_model(cin_channels=13)
    wav, c, _ = inputs(model, 1, 4 * HOP)
    assert c.shape[1] == 13
    assert torch.isfinite(model.loss(wav, c))


def test_loss_trains_and_works_in_float64(output):
    model = tiny_model(F64, output=output, cin_channels=6, gin_channels=4).train()
    model.config = dataclasses.replace(model.config)  # config stays a dataclass
    wav, c, g = inputs(model, 2, 40)
    loss = model.loss(wav, c, g)
    assert loss.dim() == 0 and loss.dtype == F64
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert torch.allclose(loss, -model.log_prob(wav, c, g).mean())


def test_source_filter_undoes_the_mel_normalisation_with_the_statistics_it_is_sent():
    """LPC from a normalised mel with the stats the data pipeline sends == LPC from the raw mel without them."""
    raw_model = tiny_model(F64, cin_channels=6, excitation="lpc")
    norm_model = tiny_model(F64, cin_channels=6, excitation="lpc")
    wav, raw, _ = inputs(raw_model, 2, 8 * HOP)
    raw = raw - 4.0  # a log-mel level
    mean, std = torch.linspace(-6, -2, 6, dtype=F64), torch.linspace(0.5, 2.0, 6, dtype=F64)
    c = (raw - mean[:, None]) / std[:, None]
    reference = raw_model.source_filter.coefficients(raw)
    assert not torch.allclose(norm_model.source_filter.coefficients(c), reference)  # the statistics matter ...
    norm_model.loss(wav, c, mel_stats=torch.stack([mean, std]))  # what a training batch sends
    assert torch.allclose(norm_model.source_filter.coefficients(c), reference)  # ... and undo the normalisation
    assert torch.equal(norm_model.targets(wav, c), raw_model.targets(wav, raw))
    state = norm_model.state_dict()  # kept in the model's state, so checkpoints carry them
    assert torch.equal(state["source_filter.mel_std"], std) and torch.equal(state["source_filter.mel_mean"], mean)


def test_source_filter_signals_are_the_linear_prediction_of_the_preemphasised_wave():
    """s' = s - c s_{t-1}; p_t = -sum_k a_k s'_{t-k} with the frame's a; e = s' - p (the module's definitions)."""
    model = tiny_model(F64, cin_channels=6, excitation="lpc")
    wav, c, _ = inputs(model, 1, 5 * HOP)
    sp, p, e, target = model.source_filter.signals(wav, c)
    a = model.source_filter.coefficients(c)[0]  # (frames, order)
    coef = model.config.lpc.preemphasis
    s = wav[0].tolist()
    for t in range(5 * HOP):
        spt = s[t] - coef * (s[t - 1] if t else 0.0)
        pt = -sum(float(a[t // HOP, k - 1]) * float(sp[0, t - k]) for k in range(1, SF_ORDER + 1) if t - k >= 0)
        assert abs(float(sp[0, t]) - spt) < 1e-12 and abs(float(p[0, t]) - pt) < 1e-12
    assert torch.allclose(e, sp - p)
    assert torch.equal(model.targets(wav, c), mulaw_encode(e, model.config.quantization_channels))


@pytest.mark.parametrize("excitation", ["none", "lpc", "pitch", "ltp"])
def test_log_prob_is_forward_scored_at_targets_with_the_lpc_computed_once(excitation, monkeypatch):
    """log_prob == distribution.log_prob(forward, targets) exactly; the LPC from the mel runs once per call."""
    model = tiny_model(F64, cin_channels=6, excitation=excitation)
    wav, c, g = inputs(model, 2, 5 * HOP)
    reference = model.distribution.log_prob(model(wav, c, g), model.targets(wav, c))
    calls = []
    if model.source_filter is not None:
        signals = model.source_filter.signals
        monkeypatch.setattr(model.source_filter, "signals", lambda *a, **k: calls.append(1) or signals(*a, **k))
    assert torch.equal(model.log_prob(wav, c, g), reference)
    assert len(calls) == (0 if excitation == "none" else 1)


@pytest.mark.parametrize("excitation", ["lpc", "pitch"])
def test_source_filter_checkpoint_describes_itself(tmp_path, excitation):
    """wavekit.load rebuilds the source-filter vocoder, its LPC settings and mel statistics, without the YAML."""
    model = tiny_model(cin_channels=6, gin_channels=4, excitation=excitation)
    wav, c, g = inputs(model, 2, 8 * HOP)
    stats = torch.stack([torch.full((6,), -5.0), torch.full((6,), 2.0)])
    model.loss(wav, c, g, mel_stats=stats)
    path = save_checkpoint(tmp_path / "sf.pt", {"kind": "wavenet", "config": to_dict(model.config),
                                                "model": model.state_dict()})
    loaded = wavekit.load(path)
    assert loaded.config == model.config and loaded.config.source_filter
    with torch.no_grad():
        assert torch.allclose(loaded.log_prob(wav, c, g), model.log_prob(wav, c, g), rtol=0, atol=1e-6)
    assert torch.equal(loaded.source_filter.mel_mean, stats[0]) and torch.equal(loaded.source_filter.mel_std, stats[1])
    assert torch.equal(loaded.generate(c=c, g=g, seed=3), model.generate(c=c, g=g, seed=3))
