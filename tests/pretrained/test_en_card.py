"""The embedded English voice (wavekit/pretrained/en.pt) against its model card (en.md, "## Check figures").

The card's check block names a few short held-out sentences (never trained on)
and the figures the recipe measured on them (recipes/espeak/local/voice_card.py).
Here they are recomputed: the voice decodes each sentence free running (seeded
as on the card), espeak-ng speaks it again as the reference, and every
figure must agree within the card's tolerance; the voice must still stop on
every sentence and stay closer (DTW mel-cepstral distance) to its own
sentence than to the other sentence of similar length. Broken weights, a
broken loader or a changed front end fail here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

import wavekit
from wavekit.audio.features import MelConfig
from wavekit.checkpoint import extra_of, load_checkpoint
from wavekit.config import to_dict
from wavekit.eval.tts_dtw import spoken_references, voice_check
from wavekit.tts.frontend import espeak_available
from wavekit.tts.synthesize import audio_entry

PACKAGE = Path(wavekit.__file__).resolve().parent / "pretrained"
WEIGHTS, CARD = PACKAGE / "en.pt", PACKAGE / "en.md"
MAX_BYTES = 8 * 1024 * 1024


def _card() -> dict:
    try:
        from wavekit.pretrained import parse_card_figures  # the package's own card reader, where it exists
    except ImportError:
        parse_card_figures = None
    text = CARD.read_text(encoding="utf-8")
    if parse_card_figures is not None:
        return parse_card_figures(text, str(CARD))
    section = re.search(r"^##\s+Check figures\s*$(.*?)(?=^##\s|\Z)", text, re.MULTILINE | re.DOTALL)
    assert section is not None, f"{CARD} has no '## Check figures' section"
    block = re.search(r"```json\s*\n(.*?)\n```", section.group(1), re.DOTALL)
    assert block is not None, f"{CARD}: no fenced json block under '## Check figures'"
    return json.loads(block.group(1))


def _voice():
    try:
        from wavekit.pretrained import REGISTRY  # noqa: F401  (pretrained:NAME is understood)
    except ImportError:
        return wavekit.load(WEIGHTS)
    return wavekit.load("pretrained:en")


def test_weights_are_small_plain_and_share_the_vocoders_mel_settings():
    assert WEIGHTS.stat().st_size <= MAX_BYTES
    raw = torch.load(WEIGHTS, map_location="cpu", weights_only=True)  # plain data only: never runs code
    assert raw["kind"] == "tacotron2"
    assert not {"optimizer", "scheduler", "rng", "scaler"} & set(raw), "shipped weights keep training state"
    ckpt = load_checkpoint(WEIGHTS)
    assert ckpt["audio"]["mel"] == to_dict(MelConfig()), "the embedded vocoder expects the default mel settings"
    assert ckpt["symbols"]["mode"] == "phonemes"


@pytest.mark.skipif(not espeak_available(), reason="the voice reads espeak-ng phonemes; espeak-ng is not installed")
def test_voice_reproduces_its_card_on_held_out_sentences():
    card = _card()
    texts, want, tol = card["sentences"], card["figures"], card["tolerance"]
    assert len(texts) >= 3
    voice = _voice()
    mel_cfg, _ = audio_entry(voice, "acoustic", WEIGHTS)
    refs = spoken_references(texts, mel_cfg, voice=card["voice"], speed=card["speed"])
    got = voice_check(voice, texts, refs, seed=card["seed"])
    items = got["items"]
    for k, it in enumerate(items):  # the card's decisions still hold (the targets: True for every sentence)
        if want["stopped"][k]:
            assert it["stopped"], f"the voice no longer stops on {texts[k]!r}"
        if want["closer"][k]:
            assert it["closer"], f"{texts[k]!r} is no longer closest to its own espeak-ng rendering"
    for k, it in enumerate(items):
        where = f"sentence {k} ({texts[k]!r})"
        assert it["reference_frames"] == pytest.approx(want["reference_frames"][k], rel=tol["frames_rel"]), where
        assert it["predicted_frames"] == pytest.approx(want["predicted_frames"][k], rel=tol["frames_rel"]), where
        assert it["diagonality"] == pytest.approx(want["diagonality"][k], abs=tol["diagonality_abs"]), where
        assert it["mcd_same"] == pytest.approx(want["mcd_same"][k], abs=tol["mcd_db_abs"]), where
        assert it["mcd_other"] == pytest.approx(want["mcd_other"][k], abs=tol["mcd_db_abs"]), where
    assert extra_of(voice)["symbols"]["voice"] == card["voice"]
