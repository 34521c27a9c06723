"""The embedded vocoder (wavekit/pretrained/vocoder.pt) against its model card (vocoder.md, "## Check figures").

The card's check block names one held-out utterance per group of
recipes/fillets_cs/conf/pretrained_heldout.tsv (a trained voice and the held-out
speaker, never trained on) and the figures recipes/fillets_cs/local/vocoder_card.py
measured when copy-synthesising them (seeded, cut to 2 s). Here they are
recomputed with the same library function; every figure must agree within the
card's tolerance. Broken weights, a broken loader, a changed front end or a
changed generation path fail here.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import wavekit
from wavekit.eval.copy_synthesis import card_check, read_heldout_list
from wavekit.pretrained import available, card_figures, path_of

REPO = Path(__file__).resolve().parents[2]
HELDOUT = REPO / "recipes" / "fillets_cs" / "conf" / "pretrained_heldout.tsv"
FILLETS = Path("/usr/share/games/fillets-ng")
MAX_BYTES = 8 * 1024 * 1024

pytestmark = pytest.mark.skipif(not available("vocoder"), reason="the embedded vocoder is not in this copy")


def test_weights_are_small_plain_and_self_describing():
    path = path_of("vocoder")
    assert path.stat().st_size <= MAX_BYTES
    raw = torch.load(path, map_location="cpu", weights_only=True)  # plain data only: never runs code
    assert raw["kind"] == "wavenet" and "optimizer" not in raw
    model = wavekit.load("pretrained:vocoder")
    cfg = model.config
    assert cfg.source_filter and cfg.gin_channels == 0  # no speaker embedding: any voice
    assert cfg.cin_channels == 80 and cfg.hop_length == 256  # the project's default mel, as the embedded voice's


def test_recomputed_check_figures_agree_with_the_card(tmp_path):
    if not FILLETS.is_dir():
        pytest.skip("fillets-ng-data-cs is not installed (make data installs it)")
    card = card_figures("vocoder")
    by_id = {it.id: it for it in read_heldout_list(HELDOUT, FILLETS)}
    items = [by_id[i] for i in card["items"]]
    got = card_check("pretrained:vocoder", items, tmp_path, max_seconds=card["seconds"], seed=card["seed"])
    assert set(got) == set(card["figures"])
    for group, figures in card["figures"].items():
        for metric, expected in figures.items():
            value = got[group][metric]
            if isinstance(expected, float) and math.isnan(expected):
                assert math.isnan(value), (group, metric, value)
                continue
            tol = card["tolerance"][metric]
            assert abs(value - expected) <= tol, f"{group} {metric}: {value:.3f} vs card {expected:.3f} (tol {tol})"
