#!/usr/bin/env python3
"""Manifest of the Czech speech in Fish Fillets NG (Debian ``fillets-ng-data-cs``).

Speech files are ``sound/<level>/cs/<level>-<speaker>-<name>.ogg`` (a few
levels nest deeper, e.g. ``sound/share/border/cs/``). The speaker is the
file name's second ``-`` field; two-field names (``m-hraje.ogg``,
``ted5-m.ogg``) take whichever field is a main voice ('m' = the small fish,
'v' = the big fish), else the first field. By default only the two main
voices are kept (``--all-speakers`` keeps every voice).

Text comes from the level's Czech dialog script,
``script/<level>/*dialogs_cs.lua``, where ``dialogId("<file stem>", ...)``
is followed by ``dialogStr("<Czech text>")``; a file with no entry gets
empty text. Rows are sorted by path, so the manifest is the same on
every run; ``--limit N`` takes N files balanced over speakers and spread
over the whole corpus.

For the embedded vocoder (``conf/pretrained.yaml``) ``--exclude-speakers hs``
leaves a whole speaker out and ``--exclude-list conf/pretrained_heldout.tsv``
the held-out utterances of the others (``local/pick_heldout.py`` writes that
list), so neither is ever trained on.

Usage:
  .venv/bin/python recipes/fillets_cs/local/prepare.py -o data/fillets_cs/manifest.csv [--limit 40]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # recipes/ for `common`

from common.corpus import balanced_subset, run_main, write_manifest  # noqa: E402

from wavekit.errors import DataError  # noqa: E402

DEFAULT_ROOT = os.environ.get("WAVEKIT_FILLETS", "/usr/share/games/fillets-ng")
MAIN_VOICES = ("m", "v")
_LUA_STRING = r'"((?:[^"\\]|\\.)*)"'
_DIALOG = re.compile(
    r'dialogId\(\s*"([^"]+)"(?:\s*,\s*' + _LUA_STRING + r")*\s*\)\s*dialogStr\(\s*" + _LUA_STRING + r"\s*\)"
)


def speaker_of(stem: str) -> str:
    """Speaker code from a file stem (see module docstring)."""
    fields = stem.split("-")
    if len(fields) >= 3:
        return fields[1]
    if len(fields) == 2:
        for f in fields:
            if f in MAIN_VOICES:
                return f
        return fields[0]
    return "unknown"


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": " ", "t": " "}.get(m.group(1), m.group(1)), s)


def read_dialogs(script_dir: Path) -> dict[str, str]:
    """``{dialog id: Czech text}`` from every ``*dialogs_cs.lua`` in one script folder."""
    texts: dict[str, str] = {}
    for lua in sorted(script_dir.glob("*dialogs_cs.lua")):
        source = lua.read_text(encoding="utf-8", errors="replace")
        for m in _DIALOG.finditer(source):
            texts.setdefault(m.group(1), _unescape(m.group(3)))
    return texts


def list_speech(root: Path) -> list[dict]:
    """All Czech speech files under ``root/sound`` as manifest rows (sorted by path)."""
    sound = root / "sound"
    if not sound.is_dir():
        raise DataError(
            f"{sound}: Fish Fillets NG data not found; install it (sudo apt-get install fillets-ng-data-cs) "
            "or pass --root"
        )
    files = sorted(p for p in sound.rglob("*.ogg") if p.parent.name == "cs")
    if not files:
        raise DataError(f"no Czech speech (sound/<level>/cs/*.ogg) under {sound}; is fillets-ng-data-cs installed?")
    dialogs: dict[str, dict[str, str]] = {}
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    rows = []
    for f in files:
        level = f.relative_to(sound).parts[0]
        if level not in dialogs:
            dialogs[level] = read_dialogs(root / "script" / level)
        item_id = f.stem if stems[f.stem] == 1 else f"{level}__{f.stem}"
        rows.append({"path": str(f), "text": dialogs[level].get(f.stem, ""), "speaker": speaker_of(f.stem), "id": item_id})
    return rows


def excluded_paths(path: Path, root: Path) -> set[Path]:
    """The files a held-out list names (``path`` column, relative to ``root``); DataError if one is missing."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    header = lines[0].split("\t") if lines else []
    if "path" not in header:
        raise DataError(f"{path}: a held-out list needs a tab-separated header with a 'path' column")
    col = header.index("path")
    files = {(root / line.split("\t")[col]).resolve() for line in lines[1:]}
    missing = sorted(str(f) for f in files if not f.is_file())
    if missing:
        raise DataError(f"{path}: {len(missing)} listed file(s) are not in the corpus, e.g. {missing[0]}; "
                        "is this the right --root?")
    return files


def exclude(rows: list[dict], root: Path, speakers: set[str], heldout: Path | None) -> list[dict]:
    """``rows`` without the ``speakers`` and without the files of the held-out list ``heldout``."""
    unknown = speakers - {r["speaker"] for r in rows}
    if unknown:
        raise DataError(f"--exclude-speakers: no speaker {', '.join(sorted(unknown))} in the corpus")
    files = excluded_paths(heldout, root) if heldout is not None else set()
    return [r for r in rows if r["speaker"] not in speakers and Path(r["path"]).resolve() not in files]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--out", required=True, type=Path, help="manifest CSV to write (path,text,speaker,id)")
    ap.add_argument("--root", type=Path, default=Path(DEFAULT_ROOT), help=f"fillets-ng data folder ({DEFAULT_ROOT})")
    ap.add_argument("--speakers", default=",".join(MAIN_VOICES), help="comma-separated speaker codes to keep (m,v)")
    ap.add_argument("--all-speakers", action="store_true", help="keep every voice, not only --speakers")
    ap.add_argument("--limit", type=int, default=None, help="at most N files, balanced over speakers (debug runs)")
    ap.add_argument("--exclude-speakers", default="", help="comma-separated speakers never to keep (held out)")
    ap.add_argument("--exclude-list", type=Path, default=None,
                    help="TSV with a 'path' column (relative to --root): files never to keep (held out)")
    args = ap.parse_args(argv)

    rows = list_speech(args.root)
    rows = exclude(rows, args.root, {s.strip() for s in args.exclude_speakers.split(",") if s.strip()},
                   args.exclude_list)
    if not args.all_speakers:
        keep = {s.strip() for s in args.speakers.split(",") if s.strip()}
        rows = [r for r in rows if r["speaker"] in keep]
    rows = balanced_subset(rows, args.limit)
    n = write_manifest(rows, args.out)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["speaker"]] = counts.get(r["speaker"], 0) + 1
    with_text = sum(1 for r in rows if r["text"])
    print(f"wrote {args.out}: {n} files ({with_text} with text); speakers: "
          + ", ".join(f"{s}={c}" for s, c in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    run_main(main)
