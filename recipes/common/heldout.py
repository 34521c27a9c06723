#!/usr/bin/env python3
"""Pick held-out utterances of a preprocessed corpus for vocoding and evaluation.

Reads ``DUMP/manifest.jsonl`` (``wavekit preprocess`` output) and, for each
speaker, takes the first ``--per-speaker`` items of the ``--split`` split
(falling back to the next split in the list, e.g. ``test,dev``, when a
speaker has too few there; never the training split). For each it writes,
cut to at most ``--max-seconds`` (a whole number of mel frames):

* ``OUT/mel/<speaker>/<id>.npy``: the *normalised* log-mel (n_mels, frames)
  with the corpus's train statistics, which ``wavekit vocode`` reads;
* ``OUT/ref/<id>.wav``: the reference audio of exactly those frames, so the
  reference and the vocoded audio have the same length;
* ``OUT/heldout.tsv``: ``id, speaker, speaker_id, split, seconds, text``.

Existing files are kept (a rerun does no work).

Usage:
  python recipes/common/heldout.py DUMP OUT --per-speaker 2 --max-seconds 1.5 [--split test,dev] [--speakers m,v]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # recipes/ for `common`

from common.corpus import run_main  # noqa: E402
from wavekit.audio import FeatureStats, MelConfig, save_wav  # noqa: E402
from wavekit.config import from_dict  # noqa: E402
from wavekit.errors import DataError  # noqa: E402


def read_manifest(dump: Path) -> list[dict]:
    path = dump / "manifest.jsonl"
    if not path.is_file():
        raise DataError(f"{path} not found; run the preprocess stage first")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def select(rows: list[dict], per_speaker: int, splits: list[str], speakers: list[str] | None) -> list[dict]:
    """Up to ``per_speaker`` rows of each speaker, from ``splits`` in order of preference."""
    if "train" in splits:
        raise DataError("held-out utterances cannot come from the training split")
    wanted = speakers or sorted({r["speaker"] for r in rows})
    picked = []
    for spk in wanted:
        mine = [r for s in splits for r in rows if r["split"] == s and r["speaker"] == spk]
        if not mine:
            raise DataError(f"speaker {spk!r} has no utterances in the {'/'.join(splits)} split(s); "
                            "raise recipe.test_count or check the speaker names")
        picked += mine[:per_speaker]
    return picked


def write_item(dump: Path, row: dict, out: Path, mel_cfg: MelConfig, stats: FeatureStats, max_frames: int) -> None:
    mel_path = out / "mel" / row["speaker"] / f"{row['id']}.npy"
    ref_path = out / "ref" / f"{row['id']}.wav"
    if mel_path.is_file() and ref_path.is_file():
        return
    with np.load(dump / row["file"]) as z:
        mel, pcm = z["mel"], z["wav"]
    frames = min(mel.shape[1], max_frames) if max_frames > 0 else mel.shape[1]
    mel_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = mel_path.with_name(f".{mel_path.stem}.tmp.npy")
    np.save(tmp, stats.normalize(mel[:, :frames]).astype(np.float32))
    tmp.replace(mel_path)
    save_wav(ref_path, pcm[: frames * mel_cfg.hop_length].astype(np.float32) / 32768.0, mel_cfg.sample_rate)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", type=Path, help="output folder of wavekit preprocess")
    ap.add_argument("out", type=Path, help="folder for mel/, ref/ and heldout.tsv")
    ap.add_argument("--per-speaker", type=int, default=2, help="utterances per speaker (2)")
    ap.add_argument("--max-seconds", type=float, default=0.0, help="cut each utterance to this length (0: whole)")
    ap.add_argument("--split", default="test,dev", help="splits to take from, in order of preference (test,dev)")
    ap.add_argument("--speakers", default="", help="comma-separated speakers (default: every speaker)")
    args = ap.parse_args(argv)
    if args.per_speaker < 1:
        raise DataError("--per-speaker must be at least 1")

    meta = json.loads((args.dump / "meta.json").read_text())
    mel_cfg = from_dict(MelConfig, meta["mel"])
    stats = FeatureStats.from_dict(json.loads((args.dump / "stats.json").read_text()))
    speaker_ids = json.loads((args.dump / "speakers.json").read_text())
    speakers = [s for s in args.speakers.split(",") if s] or None
    rows = select(read_manifest(args.dump), args.per_speaker, args.split.split(","), speakers)
    max_frames = int(args.max_seconds * mel_cfg.sample_rate) // mel_cfg.hop_length
    lines = ["id\tspeaker\tspeaker_id\tsplit\tseconds\ttext"]
    for row in rows:
        write_item(args.dump, row, args.out, mel_cfg, stats, max_frames)
        frames = min(row["frames"], max_frames) if max_frames > 0 else row["frames"]
        seconds = frames * mel_cfg.hop_length / mel_cfg.sample_rate
        lines.append(f"{row['id']}\t{row['speaker']}\t{speaker_ids[row['speaker']]}\t{row['split']}\t"
                     f"{seconds:.2f}\t{row.get('text', '')}")
    (args.out / "heldout.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"held-out: {len(rows)} utterances ({', '.join(sorted({r['speaker'] for r in rows}))}) -> {args.out}")
    return 0


if __name__ == "__main__":
    run_main(main)
