#!/usr/bin/env python3
"""Write the fixed held-out list of the embedded vocoder (``conf/pretrained_heldout.tsv``).

The list is committed, so the recipe (``conf/pretrained.yaml``, which leaves
these files and the whole held-out speaker out of training), ``make demo`` and
the model card's test all use the very same unseen utterances. It has two
groups: utterances of the two main voices ('m', 'v', interleaved, so the
first N of the group cover both) and of the held-out speaker, who is never
trained on. Utterances are Czech speech with a dialog line and 2-6 s long,
picked in the order of the SHA-256 of their id: rerunning this script on the
same corpus writes the same file.

Usage:
  python recipes/fillets_cs/local/pick_heldout.py -o recipes/fillets_cs/conf/pretrained_heldout.tsv \\
      [--heldout-speaker hs] [--per-speaker 10]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Sequence

import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.corpus import run_main  # noqa: E402
from prepare import DEFAULT_ROOT, MAIN_VOICES, list_speech  # noqa: E402

from wavekit.errors import DataError  # noqa: E402

TRAINED_GROUP = "trained speakers ({})"
HELDOUT_GROUP = "held-out speaker {}"


def candidates(rows: list[dict], speaker: str, min_s: float, max_s: float) -> list[dict]:
    """``speaker``'s rows with text and a duration in [min_s, max_s], in SHA-256 order of their id."""
    mine = [r for r in rows if r["speaker"] == speaker and r["text"]]
    mine = [r for r in mine if min_s <= sf.info(r["path"]).duration <= max_s]
    return sorted(mine, key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", required=True, type=Path, help="TSV to write (id, speaker, group, path)")
    ap.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT), help=f"fillets-ng data folder ({DEFAULT_ROOT})")
    ap.add_argument("--heldout-speaker", default="hs", help="the speaker left out of training entirely (hs)")
    ap.add_argument("--per-speaker", type=int, default=10, help="utterances of each listed speaker (10)")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    ap.add_argument("--max-seconds", type=float, default=6.0)
    args = ap.parse_args(argv)

    rows = list_speech(args.root)
    trained = [candidates(rows, s, args.min_seconds, args.max_seconds)[: args.per_speaker] for s in MAIN_VOICES]
    unseen = candidates(rows, args.heldout_speaker, args.min_seconds, args.max_seconds)[: args.per_speaker]
    if not unseen:
        raise DataError(f"speaker {args.heldout_speaker!r} has no usable utterances under {args.root}")
    interleaved = [r for pair in zip(*trained) for r in pair]
    lines = [
        "# Held-out utterances of the embedded vocoder (recipes/fillets_cs/conf/pretrained.yaml): never trained on.",
        f"# Written by recipes/fillets_cs/local/pick_heldout.py --heldout-speaker {args.heldout_speaker} "
        f"--per-speaker {args.per_speaker}; paths are relative to the fillets-ng data folder ({DEFAULT_ROOT}).",
        "id\tspeaker\tgroup\tpath",
    ]
    group = TRAINED_GROUP.format(", ".join(MAIN_VOICES))
    lines += [f"{r['id']}\t{r['speaker']}\t{group}\t{Path(r['path']).relative_to(args.root)}" for r in interleaved]
    group = HELDOUT_GROUP.format(args.heldout_speaker)
    lines += [f"{r['id']}\t{r['speaker']}\t{group}\t{Path(r['path']).relative_to(args.root)}" for r in unseen]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(interleaved)} utterances of {', '.join(MAIN_VOICES)} and {len(unseen)} of "
          f"the held-out speaker {args.heldout_speaker}")
    return 0


if __name__ == "__main__":
    run_main(main)
