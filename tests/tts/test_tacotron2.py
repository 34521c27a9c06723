"""Tacotron 2 model properties: masking, teacher forcing with reduction factor, batched inference, stop."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from wavekit.config import from_dict
from wavekit.errors import ConfigError
from wavekit.registry import get_model
from wavekit.tts.attention import diagonality, focus_rate, guided_attention_weights
from wavekit.tts.tacotron2 import Tacotron2, Tacotron2Config

TINY = dict(
    n_symbols=30, n_mels=12, embed_dim=16, encoder_conv_layers=2, encoder_dim=16, attention_rnn_dim=24,
    decoder_rnn_dim=24, prenet_dim=16, attention_dim=16, location_filters=4, location_kernel=7,
    postnet_layers=3, postnet_channels=16, max_frames=60,
)


def tiny(**kw) -> Tacotron2:
    torch.manual_seed(0)
    return Tacotron2(Tacotron2Config(**{**TINY, **kw})).double().eval()


def batch(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    tl = torch.tensor([9, 5, 7])
    ml = torch.tensor([14, 9, 11])
    text = torch.randint(2, 30, (3, 9), generator=g) * (torch.arange(9)[None] < tl[:, None])
    mel = torch.randn(3, 12, 14, generator=g, dtype=torch.float64) * (torch.arange(14)[None, None] < ml[:, None, None])
    return {"text": text, "text_lengths": tl, "mel": mel, "mel_lengths": ml}


def test_registered_and_config_checked() -> None:
    entry = get_model("tacotron2")
    assert entry.model_cls is Tacotron2 and entry.config_cls is Tacotron2Config
    with pytest.raises(ConfigError, match="encoder_dim"):
        from_dict(Tacotron2Config, {"encoder_dim": 15})
    with pytest.raises(ConfigError, match="mel_loss"):
        from_dict(Tacotron2Config, {"mel_loss": "huber"})
    with pytest.raises(ConfigError, match="unknown config key"):
        from_dict(Tacotron2Config, {"layers": 3})


@pytest.mark.parametrize("r", [1, 3])
def test_padding_does_not_change_the_loss(r: int) -> None:
    model = tiny(reduction_factor=r, prenet_dropout=0.0)
    b = batch()
    base = model.loss_terms(**b)
    g = torch.Generator().manual_seed(7)
    noisy = dict(b)
    pad_t = torch.arange(9)[None] >= b["text_lengths"][:, None]
    noisy["text"] = torch.where(pad_t, torch.randint(2, 30, (3, 9), generator=g), b["text"])
    pad_m = (torch.arange(14)[None, None] >= b["mel_lengths"][:, None, None]).expand(-1, 12, -1)
    noisy["mel"] = torch.where(pad_m, 100 * torch.randn(3, 12, 14, generator=g, dtype=torch.float64), b["mel"])
    other = model.loss_terms(**noisy)
    for k in base:
        assert math.isclose(base[k].item(), other[k].item(), rel_tol=1e-10, abs_tol=1e-12), k


def test_teacher_forcing_reads_only_the_last_frame_of_earlier_groups() -> None:
    r = 2
    model = tiny(reduction_factor=r, prenet_dropout=0.0)
    b = batch()
    out = model(**b)["mel"].detach()
    for frame in (4, 5):  # group 2: frame 4 is not its last frame, frame 5 is
        bumped = dict(b, mel=b["mel"].clone())
        bumped["mel"][0, :, frame] += 1.0
        diff = (model(**bumped)["mel"].detach() - out)[0].abs().amax(0)  # per output frame
        group = frame // r
        assert float(diff[: (group + 1) * r].max()) == 0.0  # causal: own and earlier groups untouched
        if frame % r == r - 1:
            assert float(diff[(group + 1) * r :].min()) > 0.0  # fed to the next step
        else:
            assert float(diff.max()) == 0.0  # never an input with r > 1


@pytest.mark.parametrize("r", [1, 2])
def test_batched_inference_equals_one_by_one(r: int) -> None:
    model = tiny(reduction_factor=r, prenet_dropout=0.0)
    seqs = [[3, 4, 5, 6, 7, 1], [8, 9, 1], [10, 11, 12, 13, 1]]
    w0 = model.stop_proj.weight.detach().clone()
    # Sharpen the (random) stop logits and pick the first bias at which the sequences stop at different steps.
    for scale, bias in [(s, b / 4) for s in (30.0, 100.0) for b in range(-16, -3)]:
        with torch.no_grad():
            model.stop_proj.weight.copy_(w0 * scale)
            model.stop_proj.bias.fill_(bias)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            together = model.infer_batch(seqs, max_frames=24)
        if len({m.shape[1] for m, _ in together}) > 1:
            break
    assert len({m.shape[1] for m, _ in together}) > 1, "no setting made the sequences stop at different steps"
    for s, (mel, align) in zip(seqs, together):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mel1, align1 = model.infer(s, max_frames=24)
        assert mel.shape == mel1.shape and mel.shape[0] == 12 and mel.shape[1] % r == 0
        assert align.shape == align1.shape == (mel.shape[1] // r, len(s))
        torch.testing.assert_close(mel, mel1, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(align, align1, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(align.sum(1), torch.ones(align.shape[0], dtype=align.dtype))


def test_decoding_stops_by_the_stop_token_or_the_guard() -> None:
    model = tiny(reduction_factor=2)
    with torch.no_grad():
        model.stop_proj.weight.zero_()
        model.stop_proj.bias.fill_(20.0)  # fires at once
    mel, align = model.infer([3, 4, 1])
    assert mel.shape == (12, 2) and align.shape == (1, 3)
    with torch.no_grad():
        model.stop_proj.bias.fill_(-20.0)  # never fires
    with pytest.warns(UserWarning, match="max_frames"):
        mel, _ = model.infer([3, 4, 1], max_frames=10)
    assert mel.shape == (12, 10)


def test_prenet_dropout_stays_on_at_inference() -> None:
    model = tiny(prenet_dropout=0.5)
    x = torch.ones(4, 12, dtype=torch.float64)
    assert not torch.equal(model.prenet(x), model.prenet(x))


def test_guided_attention_weights_formula() -> None:
    w = guided_attention_weights(torch.tensor([4, 2]), torch.tensor([3, 5]), 0.2, n_text=4, n_steps=5)
    assert w.shape == (2, 5, 4)
    for b, (n_len, t_len) in enumerate([(4, 3), (2, 5)]):
        for t in range(5):
            for n in range(4):
                want = 1 - math.exp(-((n / n_len - t / t_len) ** 2) / (2 * 0.2**2)) if (n < n_len and t < t_len) else 0
                assert math.isclose(float(w[b, t, n]), want, abs_tol=1e-12)


def test_alignment_scores() -> None:
    steps, n = 60, 20
    diag = torch.zeros(steps, n)
    diag[torch.arange(steps), (torch.arange(steps) * n) // steps] = 1.0
    uniform = torch.full((steps, n), 1.0 / n)
    assert diagonality(diag) == 1.0 and focus_rate(diag) == 1.0
    assert abs(diagonality(uniform, band=0.1) - 0.2) < 0.03 and math.isclose(focus_rate(uniform), 1 / n, rel_tol=1e-6)
    assert diagonality(diag.flip(1)) < 0.25  # anti-diagonal
