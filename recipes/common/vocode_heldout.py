#!/usr/bin/env python3
"""Vocode the held-out mels chosen by ``heldout.py``, each with its own speaker.

Reads ``HELDOUT/heldout.tsv`` and ``HELDOUT/mel/<speaker>/<id>.npy`` and
writes ``GEN/<id>.wav``. All utterances go through one generation engine
(continuous batching); a multi-speaker vocoder (global conditioning) gets
each utterance's speaker id. Utterances whose wav exists are skipped, so an
interrupted run resumes. ``wavekit vocode`` does the same for plain mel
files or audio; this script only adds the per-utterance speaker.

Usage:
  python recipes/common/vocode_heldout.py CHECKPOINT HELDOUT GEN [--temperature 1.0] [--slots 8]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recipes/ for `common`

from common.corpus import run_main  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("heldout", type=Path, help="folder written by heldout.py")
    ap.add_argument("gen", type=Path, help="output folder for <id>.wav")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0, help="utterance i (in heldout.tsv order) uses seed + i")
    args = ap.parse_args(argv)

    import numpy as np
    from tqdm import tqdm

    import wavekit
    from wavekit.audio import save_wav
    from wavekit.generate.engine import GenerationEngine, Request
    from wavekit.generate.vocode import RateMeter, audio_settings, load_mel

    with open(args.heldout / "heldout.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    todo = [(i, r) for i, r in enumerate(rows) if not (args.gen / f"{r['id']}.wav").is_file()]
    if not todo:
        print(f"all {len(rows)} held-out utterances already vocoded in {args.gen}")
        return 0
    model = wavekit.load(args.checkpoint)
    cfg, settings = model.config, audio_settings(model)
    rate = settings.mel.sample_rate if settings.mel is not None else 16000
    engine = GenerationEngine(model, slots=args.slots)
    total = 0
    for i, r in todo:
        mel = load_mel(args.heldout / "mel" / r["speaker"] / f"{r['id']}.npy", settings, cfg.cin_channels)
        speaker = int(r["speaker_id"]) if cfg.gin_channels else None
        engine.submit(Request(mel=mel, speaker=speaker, temperature=args.temperature, seed=args.seed + i, key=r["id"]))
        total += mel.shape[1] * cfg.hop_length
    args.gen.mkdir(parents=True, exist_ok=True)
    meter, start = RateMeter(rate), time.perf_counter()
    with tqdm(total=total, desc="vocode", unit="sample", unit_scale=True) as bar:
        for key, wav in engine.run(progress=lambda n: (bar.update(n), bar.set_postfix(meter.add(n), refresh=False))):
            save_wav(args.gen / f"{key}.wav", np.clip(wav, -1.0, 1.0), rate)
    took = time.perf_counter() - start
    print(f"vocoded {len(todo)} utterances ({total / rate:.1f} s of audio) in {took:.1f} s "
          f"(real-time factor {took / max(total / rate, 1e-9):.2f}) -> {args.gen}")
    return 0


if __name__ == "__main__":
    run_main(main)
