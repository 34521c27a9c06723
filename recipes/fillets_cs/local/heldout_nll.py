"""Held-out NLL of WaveNet vocoder checkpoints on whole test-split utterances (teacher forcing).

Prints, per checkpoint, two figures in nats per sample:

- ``class``: -log P(class) of the modelled mu-law classes (the waveform's for the plain
  mode, the excitation's for the source-filter mode): what training minimises, but not the
  same quantity in the two modes;
- ``density``: -log p(s_t | s_<t) of the waveform as a density, i.e. ``class`` plus the log
  width of each class's mu-law bin in amplitude. The excitation e_t = s_t - c s_{t-1} - p_t is
  a shift of s_t given the past, so this is comparable between the modes.

A model with a sine source (``pitch_harmonics``) or a long-term predictor (``long_term``) is
scored as it was trained: with the recorded speech's phase and voicing
(``AudioDataset(with_pitch=True)``).

    python recipes/fillets_cs/local/heldout_nll.py DUMP CKPT [CKPT ...] [--split test] [--seconds 4]
"""

from __future__ import annotations

import argparse
import math

import torch

import wavekit
from wavekit.audio.datasets import AudioDataset
from wavekit.audio.mulaw import mulaw_decode
from wavekit.likelihood import held_out_nll


def bin_log_width(classes: torch.Tensor, q: int) -> torch.Tensor:
    """log of the amplitude width of each mu-law class's bin (half a class either side, clipped to [-1, 1])."""
    lo = mulaw_decode((classes.double() - 0.5).clamp(0, q - 1), q, dtype=torch.float64)
    hi = mulaw_decode((classes.double() + 0.5).clamp(0, q - 1), q, dtype=torch.float64)
    return torch.log(hi - lo)


def utterances(data, pitch_data, seconds: float, hop: int, speakers: bool):
    """One utterance per batch, cut to ``seconds``: the keyword arguments of ``model.log_prob``
    (with the recorded sine source from ``pitch_data`` when given)."""
    for i in range(len(data)):
        item = data[i]
        frames = min(item["c"].shape[1], int(seconds * 16000) // hop)
        batch = {"wav": item["wav"][: frames * hop][None], "c": item["c"][:, :frames][None],
                 "g": item["g"].reshape(1) if speakers else None}
        if pitch_data is not None:
            p_item = pitch_data[i]
            batch.update({k: p_item[k][: frames * hop][None] for k in ("phase", "voicing")})
        yield batch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seconds", type=float, default=4.0, help="cut each utterance to this many seconds")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = AudioDataset(args.dump, split=args.split, crop_samples=None, with_mel=True, with_speaker=True)
    pitch_data = None
    for path in args.checkpoints:
        model = wavekit.load(path)
        cfg = model.config
        pitched = bool(getattr(cfg, "uses_pitch", False))
        if pitched and pitch_data is None:
            pitch_data = AudioDataset(args.dump, split=args.split, crop_samples=None, with_pitch=True)
        hop, q = cfg.hop_length, cfg.quantization_channels

        # class NLL: the one held-out likelihood loop (wavekit.likelihood); the density adds each
        # class's log bin width, which depends on the data only
        speakers = bool(cfg.gin_channels)
        nll = held_out_nll(model, utterances(data, pitch_data if pitched else None, args.seconds, hop, speakers))
        with torch.no_grad():
            widths = sum(
                float(bin_log_width(model.targets(b["wav"], b["c"], b.get("phase"), b.get("voicing")), q).sum())
                for b in utterances(data, pitch_data if pitched else None, args.seconds, hop, speakers)
            )
        n = nll.count
        total_class, total_density = nll.total_nats, nll.total_nats + widths
        mode = "source-filter" if getattr(cfg, "source_filter", False) else "plain"
        mode += " + sine source" if getattr(cfg, "pitch_harmonics", 0) else ""
        mode += " + long-term predictor" if getattr(cfg, "long_term", 0) else ""
        print(f"{path}\t{mode}\tutterances {len(data)}\tsamples {n}\tclass NLL {total_class / n:.4f}\t"
              f"density NLL {total_density / n:.4f} nats/sample ({total_density / n / math.log(2):.3f} bits)")


if __name__ == "__main__":
    main()
