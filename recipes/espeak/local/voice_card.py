#!/usr/bin/env python3
"""Held-out figures of a Tacotron 2 voice for its model card (issue 15's embedded-voice targets).

On every sentence of one split of a ``wavekit preprocess`` dump (default: test,
never trained on):

* teacher forced, as ``wavekit eval tts``: mel loss, attention diagonality
  and focus rate (:func:`wavekit.tts.evaluate.evaluate_acoustic`);
* free running, as synthesis decodes (:func:`wavekit.eval.tts_dtw.voice_check`):
  stop-token decision, length error, diagonality of the free-running
  alignment, and the DTW mel-cepstral distance of the synthesised mel to
  espeak-ng's rendering of the same sentence and of the held-out sentence
  closest in length.

Then the ``--check-count`` shortest sentences are checked alone, with their
references spoken afresh by espeak-ng (as ``tests/pretrained/test_en_card.py``
does), and written as the card's check block ``{"sentences", "figures",
"tolerance"}``.

Usage:
  python recipes/espeak/local/voice_card.py --checkpoint wavekit/pretrained/en.pt \\
      --dump exp/espeak_pretrained/dump -o exp/espeak_pretrained/eval/voice_card.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import run_main  # noqa: E402

from wavekit.atomic import write_text_atomic  # noqa: E402
from wavekit.audio.datasets import load_corpus  # noqa: E402
from wavekit.checkpoint import load  # noqa: E402
from wavekit.eval.tts_dtw import spoken_references, voice_check  # noqa: E402
from wavekit.tts.evaluate import evaluate_acoustic  # noqa: E402
from wavekit.tts.synthesize import audio_entry  # noqa: E402

# how far a recomputation may drift from the card (other CPUs, BLAS and torch builds round differently;
# free-running decoding feeds its own output back, so small differences can grow)
TOLERANCE = {"frames_rel": 0.1, "diagonality_abs": 0.03, "mcd_db_abs": 0.5}
PER_ITEM = ("predicted_frames", "reference_frames", "stopped", "diagonality", "mcd_same", "mcd_other", "closer")


def check_block(loaded: Any, texts: list[str], voice: str, speed: int, seed: int) -> dict[str, Any]:
    mel_cfg, _ = audio_entry(loaded, "acoustic", loaded.path)
    refs = spoken_references(texts, mel_cfg, voice, speed)
    res = voice_check(loaded, texts, refs, seed=seed)
    figures: dict[str, Any] = {k: [it[k] for it in res["items"]] for k in PER_ITEM}
    figures.update({k: res[k] for k in ("stop_rate", "length_error_max", "diagonality_min", "closer_rate")})
    return {"sentences": texts, "voice": voice, "speed": speed, "seed": seed, "figures": figures,
            "tolerance": TOLERANCE}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True, type=Path, help="Tacotron 2 checkpoint (e.g. wavekit/pretrained/en.pt)")
    ap.add_argument("--dump", required=True, type=Path, help="`wavekit preprocess` output with a text column")
    ap.add_argument("--split", default="test", help="split to score (test)")
    ap.add_argument("--check-count", type=int, default=6, help="shortest sentences in the card's check block (6)")
    ap.add_argument("--voice", default="en-us", help="espeak-ng voice of the corpus (en-us)")
    ap.add_argument("--speed", type=int, default=180, help="espeak-ng words per minute of the corpus (180)")
    ap.add_argument("--seed", type=int, default=0, help="pre-net dropout seed (sentence i uses seed + i)")
    ap.add_argument("-o", "--out", required=True, type=Path, help="JSON with every figure")
    args = ap.parse_args(argv)

    loaded = load(args.checkpoint)
    corpus = load_corpus(args.dump)
    rows = [r for r in corpus.rows if r.get("split") == args.split]
    texts = [str(r["text"]) for r in rows]
    refs = []
    for r in rows:
        with np.load(corpus.root / r["file"]) as z:
            refs.append(z["mel"].astype(np.float32))
    forced = evaluate_acoustic(loaded, args.dump, split=args.split, seed=args.seed)
    free = voice_check(loaded, texts, refs, seed=args.seed)
    order = sorted(range(len(rows)), key=lambda i: (refs[i].shape[1], i))[: args.check_count]
    check = check_block(loaded, [texts[i] for i in sorted(order)], args.voice, args.speed, args.seed)
    targets = {
        "teacher_forced_diagonality_min>=0.95": min(it["diagonality"] for it in forced["items"]) >= 0.95,
        "free_running_diagonality_min>=0.95": free["diagonality_min"] >= 0.95,
        "stop_every_sentence": free["stop_rate"] == 1.0,
        "length_error_max<=0.10": free["length_error_max"] <= 0.10,
        "closer_to_own_sentence_every_sentence": free["closer_rate"] == 1.0,
    }
    report = {"checkpoint": str(args.checkpoint), "step": loaded.step, "split": args.split,
              "sentences": len(rows), "targets_met": targets,
              "teacher_forced": {k: v for k, v in forced.items() if k != "items"},
              "teacher_forced_diagonality_min": min(it["diagonality"] for it in forced["items"]),
              "free_running": free, "teacher_forced_items": forced["items"], "check": check}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, json.dumps(report, indent=1) + "\n")
    tf = report["teacher_forced"]
    print(f"{args.split}: {len(rows)} sentences, step {loaded.step}")
    print(f"teacher forced: mel_loss {tf['mel_loss']:.4f}, diagonality mean {tf['diagonality']:.4f} "
          f"min {report['teacher_forced_diagonality_min']:.4f}, focus {tf['focus_rate']:.3f}")
    print(f"free running: stop_rate {free['stop_rate']:.3f}, length error mean {free['length_error_mean']:.4f} "
          f"max {free['length_error_max']:.4f}, diagonality mean {free['diagonality_mean']:.4f} "
          f"min {free['diagonality_min']:.4f}")
    print(f"DTW MCD: own sentence {free['mcd_same_mean']:.3f} dB, similar-length other {free['mcd_other_mean']:.3f} "
          f"dB, closer for {free['closer_rate']:.3f} of sentences")
    for name, ok in targets.items():
        print(f"  {'met   ' if ok else 'NOT met'} {name}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
