"""Held-out checks of a Tacotron 2 voice against the speech it imitates (DTW mel-cepstral distance).

    loaded = wavekit.checkpoint.load("wavekit/pretrained/en.pt")
    refs = [reference_log_mel(wav, mel_config) for wav in wavs]   # the same sentences, spoken by the teacher
    result = voice_check(loaded, texts, refs)

* :func:`dtw_mel_cepstral_distance`: the mel-cepstral distortion (dB,
  :mod:`wavekit.eval.metrics` conventions, c0 excluded) between two log-mel
  features ``(n_mels, frames)`` of different lengths, averaged over their
  DTW path.
* :func:`length_partners`: for each sentence, the *other* sentence whose
  reference is closest in length (the "different sentence of similar
  length" a voice must be farther from than from its own sentence).
* :func:`reference_log_mel`, :func:`spoken_references`: a teacher's log-mel
  as ``wavekit preprocess`` stores it, from a wav or spoken by espeak-ng now.
* :func:`voice_check`: free-running synthesis of each text (one at a time,
  pre-net dropout seeded with ``seed + i``, so a sentence's figures do not
  depend on which other sentences are checked with it), then per sentence:
  whether the stop token fired before ``max_frames``, the relative length
  error against the reference, the diagonality and focus rate of the
  free-running alignment (:mod:`wavekit.tts.attention`), and the DTW MCD
  to its own reference and to its length partner's.

Log-mels are wavekit features (``ln`` of a magnitude mel, so directly a log
amplitude); generated mels are denormalised with the checkpoint's statistics
before the comparison.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from wavekit.eval.metrics import cepstrum_from_log_amplitude, mcd_from_cepstra


def dtw_mel_cepstral_distance(log_mel_a: Any, log_mel_b: Any, n_coeffs: int = 24) -> float:
    """MCD (dB) between two log-mel features (n_mels, F_a) and (n_mels, F_b), DTW-aligned."""
    a, b = np.asarray(log_mel_a, np.float64), np.asarray(log_mel_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"log-mels must be (n_mels, frames) with equal n_mels, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("a log-mel holds NaN or infinite values (a broken model or feature); nothing to compare")
    ca, cb = cepstrum_from_log_amplitude(a, n_coeffs), cepstrum_from_log_amplitude(b, n_coeffs)
    return mcd_from_cepstra(ca, cb, align="dtw")


def length_partners(frames: Sequence[int]) -> list[int]:
    """Index of the other item closest in ``frames`` to each item (ties: the lower index)."""
    n = len(frames)
    if n < 2:
        raise ValueError(f"need at least two sentences to pick a different one of similar length, got {n}")
    out = []
    for i, f in enumerate(frames):
        out.append(min((j for j in range(n) if j != i), key=lambda j: (abs(int(frames[j]) - int(f)), j)))
    return out


def reference_log_mel(wav_path: str | Path, mel_config: Any) -> np.ndarray:
    """The log-mel ``wavekit preprocess`` stores for one audio file (resampled, cut to whole frames, 16-bit)."""
    from wavekit.audio.preprocess import process_file
    from wavekit.errors import DataError

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "item.npz"
        status, info = process_file(Path(wav_path), out, mel_config, min_seconds=0.0, silence_db=-200.0)
        if status != "ok":
            raise DataError(f"{wav_path}: {info}")
        with np.load(out) as z:
            return z["mel"].astype(np.float32)


def spoken_references(texts: Sequence[str], mel_config: Any, voice: str = "en-us", speed: int = 180) -> list[np.ndarray]:
    """Each text spoken by espeak-ng now (as the espeak recipe's corpus), as the log-mel ``wavekit preprocess`` stores."""
    from wavekit.tts.espeak_corpus import speak

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, text in enumerate(texts):
            wav = Path(tmp) / f"{k}.wav"
            speak(text, wav, voice=voice, speed=speed)
            out.append(reference_log_mel(wav, mel_config))
    return out


def voice_check(
    source: Any,
    texts: Sequence[str],
    references: Sequence[Any],
    *,
    seed: int = 0,
    max_frames: int | None = None,
    band: float = 0.1,
    n_coeffs: int = 24,
) -> dict[str, Any]:
    """Free-running figures of a Tacotron 2 (``LoadedModel`` or ``wavekit.load`` model) on ``texts``.

    references: per text, the teacher's log-mel (n_mels, F) of the same sentence, in the
    checkpoint's mel settings (e.g. the ``mel`` of its ``wavekit preprocess`` item).
    Returns summary figures (``stop_rate``, ``length_error_mean``/``_max``,
    ``diagonality_mean``/``_min``, ``mcd_same_mean``, ``mcd_other_mean``,
    ``closer_rate``) and ``items``: one dict per sentence.
    """
    from wavekit.checkpoint import extra_of, model_of
    from wavekit.errors import CheckpointError
    from wavekit.tts.attention import diagonality, focus_rate
    from wavekit.tts.frontend import SymbolTable
    from wavekit.tts.synthesize import audio_entry
    from wavekit.tts.tacotron2 import Tacotron2

    if len(texts) != len(references):
        raise ValueError(f"{len(texts)} texts but {len(references)} references")
    extra, model = extra_of(source), model_of(source)
    if not isinstance(model, Tacotron2):
        raise CheckpointError(f"voice_check needs a tacotron2 model, got a {type(model).__name__}")
    if extra.get("symbols") is None:
        raise CheckpointError("the acoustic model has no symbol table (checkpoint['symbols'])")
    table = SymbolTable.from_dict(extra["symbols"])
    _, stats = audio_entry(source, "acoustic", "model")
    refs = [np.asarray(r, np.float32) for r in references]
    partners = length_partners([r.shape[1] for r in refs])
    cfg = model.config
    limit = cfg.max_frames if max_frames is None else max_frames
    limit_frames = max(1, -(-limit // cfg.reduction_factor)) * cfg.reduction_factor
    was_training = model.training
    model.eval()
    gens: list[np.ndarray] = []
    items: list[dict[str, Any]] = []
    try:
        for i, text in enumerate(texts):
            torch.manual_seed(seed + i)
            with warnings.catch_warnings():  # a sentence that never stops is counted, not warned about
                warnings.simplefilter("ignore")
                mel, align = model.infer(table.encode(text), max_frames=limit)
            gen = np.asarray(stats.denormalize(mel.float().cpu().numpy()), np.float32)
            gens.append(gen)
            pred, ref_frames = int(gen.shape[1]), int(refs[i].shape[1])
            items.append({
                "text": text,
                "reference_frames": ref_frames,
                "predicted_frames": pred,
                "stopped": pred < limit_frames,
                "length_error": abs(pred - ref_frames) / ref_frames,
                "diagonality": diagonality(align.float().cpu(), band),
                "focus_rate": focus_rate(align.float().cpu()),
            })
    finally:
        model.train(was_training)
    for i, it in enumerate(items):
        j = partners[i]
        it["partner"] = j
        it["mcd_same"] = dtw_mel_cepstral_distance(gens[i], refs[i], n_coeffs)
        it["mcd_other"] = dtw_mel_cepstral_distance(gens[i], refs[j], n_coeffs)
        it["closer"] = it["mcd_same"] < it["mcd_other"]

    def col(key: str) -> np.ndarray:
        return np.array([float(it[key]) for it in items])

    return {
        "sentences": len(items),
        "seed": seed,
        "max_frames": limit,
        "diagonality_band": band,
        "stop_rate": float(col("stopped").mean()),
        "length_error_mean": float(col("length_error").mean()),
        "length_error_max": float(col("length_error").max()),
        "diagonality_mean": float(col("diagonality").mean()),
        "diagonality_min": float(col("diagonality").min()),
        "focus_rate_mean": float(col("focus_rate").mean()),
        "mcd_same_mean": float(col("mcd_same").mean()),
        "mcd_other_mean": float(col("mcd_other").mean()),
        "closer_rate": float(col("closer").mean()),
        "items": items,
    }
