"""Held-out scores of a Tacotron 2 acoustic model on a preprocessed corpus.

    model = wavekit.load("exp/train_tts/checkpoints/best.pt")
    scores = evaluate_acoustic(model, "exp/dump", split="test")

Two passes over the sentences of one split of a ``wavekit preprocess`` dump:

* teacher forced (the training pass): the mel loss the model trains with
  (``config.mel_loss``, MSE or L1 over valid frames and bands, in normalised
  units) before and after the post-net, and two scores of its attention,
  :func:`~wavekit.tts.attention.diagonality` and
  :func:`~wavekit.tts.attention.focus_rate`;
* free running (inference, as ``wavekit synthesize`` decodes): the fraction
  of sentences whose stop token fires before ``max_frames`` and the mean
  relative length error ``|predicted frames - reference frames| / reference
  frames`` (sentences that never stop count with their cut length).

Text is encoded with the checkpoint's own symbol table; mels are expressed in
the checkpoint's normalisation, so a dump with other statistics (but the same
mel settings) is scored fairly. Pre-net dropout stays on in both passes (as in
training and synthesis), so results depend on ``seed``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from wavekit.audio.datasets import load_corpus
from wavekit.checkpoint import LoadedModel, extra_of, model_of
from wavekit.errors import CheckpointError, DataError
from wavekit.tts.attention import diagonality, focus_rate
from wavekit.tts.data import TtsDataset, collate_tts
from wavekit.tts.frontend import SymbolTable
from wavekit.tts.synthesize import audio_entry
from wavekit.tts.tacotron2 import Tacotron2, lengths_to_mask

_MEL_SETTINGS = ("n_mels", "sample_rate", "hop_length", "n_fft", "win_length", "fmin", "fmax", "log_floor")


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else float("nan")


def evaluate_acoustic(
    model: Tacotron2 | LoadedModel,
    data_root: str | Path,
    split: str = "test",
    *,
    batch_size: int = 8,
    max_frames: int | None = None,
    band: float = 0.1,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Teacher-forced mel loss and alignment scores, free-running stop and length scores.

    model: a Tacotron 2 from :func:`wavekit.checkpoint.load` (or ``wavekit.load``); its checkpoint needs
        "symbols" and "audio".
    data_root: output folder of ``wavekit preprocess`` whose manifest has ``text``; ``split`` one of its splits.
    max_frames: free-running limit (default ``model.config.max_frames``). band: diagonality band.
    progress(n) is called after each batch of n sentences.

    Returns a flat dict of means (``mel_loss``, ``mel_loss_before_postnet``, ``diagonality``,
    ``focus_rate``, ``stop_rate``, ``length_error``, ...) plus ``items``: one dict per sentence.
    """
    extra = extra_of(model)
    source, model = model, model_of(model)
    if not isinstance(model, Tacotron2):
        raise CheckpointError(f"evaluate_acoustic needs a tacotron2 model, got a {type(model).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if extra.get("symbols") is None:
        raise CheckpointError("the acoustic model has no symbol table (checkpoint['symbols']); train it with `wavekit train`")
    table = SymbolTable.from_dict(extra["symbols"])
    mel_cfg, stats = audio_entry(source, "acoustic", "model")
    corpus = load_corpus(data_root)
    for name in _MEL_SETTINGS:
        if getattr(mel_cfg, name) != getattr(corpus.mel, name):
            raise DataError(
                f"{corpus.root}: mel setting {name} is {getattr(corpus.mel, name)} but the acoustic model was "
                f"trained on {getattr(mel_cfg, name)}; evaluate on a corpus preprocessed with the same mel settings"
            )
    dataset = TtsDataset(corpus.root, split, table)
    same_stats = np.array_equal(stats.mean, corpus.stats.mean) and np.array_equal(stats.std, corpus.stats.std)

    cfg = model.config
    r = cfg.reduction_factor
    limit = cfg.max_frames if max_frames is None else max_frames
    if limit < 1:
        raise ValueError(f"max_frames must be >= 1, got {limit}")
    limit_steps = max(1, -(-limit // r))
    dist = F.mse_loss if cfg.mel_loss == "mse" else F.l1_loss
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    torch.manual_seed(seed)
    items: list[dict[str, Any]] = []
    sums = {"post": 0.0, "before": 0.0, "count": 0}
    try:
        with torch.no_grad():
            for start in range(0, len(dataset), batch_size):
                idx = list(range(start, min(start + batch_size, len(dataset))))
                batch = collate_tts([dataset[i] for i in idx])
                mel = batch["mel"] if same_stats else stats.normalize(corpus.stats.denormalize(batch["mel"]))
                text, text_len = batch["text"].to(param.device), batch["text_lengths"].to(param.device)
                mel, mel_len = mel.to(device=param.device, dtype=param.dtype), batch["mel_lengths"].to(param.device)
                out = model(text, text_len, mel, mel_len)
                t_r = out["mel"].shape[2]
                target = F.pad(mel, (0, t_r - mel.shape[2]))
                fmask = lengths_to_mask(mel_len, t_r).unsqueeze(1).to(mel.dtype)
                err_post = (dist(out["mel_post"], target, reduction="none") * fmask).sum(dim=(1, 2))
                err_before = (dist(out["mel"], target, reduction="none") * fmask).sum(dim=(1, 2))
                with warnings.catch_warnings():  # non-stopping sentences are counted, not warned about
                    warnings.simplefilter("ignore")
                    decoded = model.infer_batch([dataset.symbols[i] for i in idx], max_frames=limit)
                for k, i in enumerate(idx):
                    frames, n_text = int(mel_len[k]), int(text_len[k])
                    align = out["alignment"][k, : -(-frames // r), :n_text].float().cpu()
                    pred = int(decoded[k][0].shape[1])
                    cells = frames * cfg.n_mels
                    sums["post"] += float(err_post[k])
                    sums["before"] += float(err_before[k])
                    sums["count"] += cells
                    items.append({
                        "id": str(dataset.rows[i].get("id", i)),
                        "symbols": n_text,
                        "frames": frames,
                        "mel_loss": float(err_post[k]) / cells,
                        "diagonality": diagonality(align, band),
                        "focus_rate": focus_rate(align),
                        "predicted_frames": pred,
                        "stopped": pred < limit_steps * r,
                        "length_error": abs(pred - frames) / frames,
                    })
                if progress is not None:
                    progress(len(idx))
    finally:
        model.train(was_training)
    return {
        "split": split,
        "sentences": len(items),
        "mel_loss_kind": cfg.mel_loss,
        "mel_loss": sums["post"] / sums["count"],
        "mel_loss_before_postnet": sums["before"] / sums["count"],
        "diagonality": _mean([it["diagonality"] for it in items]),
        "diagonality_band": band,
        "focus_rate": _mean([it["focus_rate"] for it in items]),
        "stop_rate": _mean([float(it["stopped"]) for it in items]),
        "length_error": _mean([it["length_error"] for it in items]),
        "max_frames": limit,
        "items": items,
    }
