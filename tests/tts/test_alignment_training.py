"""On a tiny real (espeak-ng) corpus, `wavekit train` makes the attention diagonal and the stop token fire."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import wavekit
from wavekit.config import from_dict, load_yaml
from wavekit.tts.attention import diagonality, focus_rate
from wavekit.tts.data import TtsDataset, collate_tts
from wavekit.tts.frontend import SymbolTable
from wavekit.tts.tacotron2 import Tacotron2, Tacotron2Config

pytestmark = pytest.mark.slow


def _scores(model: Tacotron2, batch: dict) -> tuple[float, float]:
    """Mean diagonality and focus rate of the teacher-forced alignments of ``batch``."""
    r = model.config.reduction_factor
    with torch.no_grad():
        align = model(**batch)["alignment"]
    steps = -(-batch["mel_lengths"] // r)
    diag, focus = [], []
    for k in range(align.shape[0]):
        a = align[k, : int(steps[k]), : int(batch["text_lengths"][k])]
        diag.append(diagonality(a, band=0.1))
        focus.append(focus_rate(a))
    return float(np.mean(diag)), float(np.mean(focus))


def test_attention_becomes_diagonal_and_decoding_stops(trained_tts, tts_corpus) -> None:
    ckpt, conf = trained_tts
    model = wavekit.load(ckpt)
    table = SymbolTable.from_dict(model.checkpoint_extra["symbols"])
    data = TtsDataset(tts_corpus, "train", table, max_frames=150)
    assert 10 <= len(data) <= 40
    batch = collate_tts([data[i] for i in range(len(data))])

    torch.manual_seed(0)  # an untrained model of the same config (train.seed is 0 too)
    fresh = Tacotron2(from_dict(Tacotron2Config, load_yaml(conf)["model"])).eval()
    diag0, focus0 = _scores(fresh, batch)
    diag1, focus1 = _scores(model, batch)
    # Uniform attention scores about 2 * band = 0.2; a clean monotonic alignment close to 1.
    assert diag0 < 0.35
    assert diag1 > 0.8 and diag1 > diag0 + 0.4, (diag0, diag1)
    # Focus is not what the guided loss asks for: a sharp (content-based) alignment was learnt.
    assert focus1 > 0.25 and focus1 > 4 * focus0, (focus0, focus1)

    # Free-running decoding stops by the stop token, at about the reference length, and the
    # stopping point follows each sentence's own length (not a fixed count).
    torch.manual_seed(1)
    lengths = batch["text_lengths"]
    seqs = [batch["text"][k, : int(lengths[k])] for k in range(len(data))]
    with _no_warning():
        outs = model.infer_batch(seqs, max_frames=400)
    got = np.array([mel.shape[1] for mel, _ in outs], dtype=float)
    ref = batch["mel_lengths"].numpy().astype(float)
    assert all(mel.shape[0] == 40 for mel, _ in outs) and got.max() < 400
    assert np.all(np.abs(got - ref) <= 0.3 * ref), list(zip(got, ref))
    assert np.corrcoef(got, ref)[0, 1] > 0.8, list(zip(got, ref))
    assert np.mean([diagonality(a) for _, a in outs]) > 0.6


class _no_warning:
    """Fail if decoding hit the max-frames guard (it warns) instead of stopping."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings(record=True)
        self._log = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        assert not [w for w in self._log if "max_frames" in str(w.message)], "decoding did not stop"
