"""An English text/speech corpus made offline with espeak-ng.

:func:`generate_sentences` builds short, varied English sentences from
templates, a small vocabulary and numbers (deterministic for a seed);
:func:`make_espeak_corpus` speaks each with ``espeak-ng -w`` and writes
``manifest.csv`` (``path,text,speaker``) that ``wavekit preprocess`` reads.
"""

from __future__ import annotations

import csv
import io
import random
import shutil
import subprocess
from pathlib import Path

from wavekit.audio.io import atomic_path, write_text_atomic
from wavekit.errors import DataError

_NAMES = "Anna Peter Maria John Lucy David Emma Oliver Sarah Thomas Grace Henry".split()
_ADJ = "small bright quiet old green heavy warm cold happy busy red clever".split()
_NOUNS = "cat river garden teacher window city boat letter dog market song table".split()
_VERBS = "found painted opened visited carried watched cleaned followed moved sold".split()
_PLACES = "the station, the park, the old bridge, the library, the harbour, the hill".split(", ")
_MONTHS = "January March April May June July September October December".split()
_TEMPLATES = (
    "The {adj} {noun} {verb} the {noun2}.",
    "{name} {verb} {num} {noun2}s near {place}.",
    "Did {name} see the {adj} {noun} at {place}?",
    "On {month} {day}, {name} {verb} a {noun}.",
    "We met {name} at {place} in {year}.",
    "It costs ${num} and takes {num2} minutes.",
    "Please bring the {adj} {noun} to {name}, quickly!",
    "{name} and {name2} walked to {place}.",
    "The {noun} is {adj}, but the {noun2} is {adj2}.",
    "Dr. {name} counted {big} {noun2}s.",
)


def generate_sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct English sentences; the same ``(n, seed)`` always gives the same list."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 100 * n + 1000:
            raise ValueError(f"cannot make {n} distinct sentences")
        template = _TEMPLATES[len(out) % len(_TEMPLATES)] if len(out) < len(_TEMPLATES) else rng.choice(_TEMPLATES)
        s = template.format(
            name=rng.choice(_NAMES), name2=rng.choice(_NAMES), adj=rng.choice(_ADJ), adj2=rng.choice(_ADJ),
            noun=rng.choice(_NOUNS), noun2=rng.choice(_NOUNS), verb=rng.choice(_VERBS), place=rng.choice(_PLACES),
            month=rng.choice(_MONTHS), day=rng.randint(1, 28), year=rng.randint(1950, 2024),
            num=rng.randint(2, 20), num2=rng.randint(2, 59), big=rng.randint(100, 9999),
        )
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def speak(text: str, path: str | Path, voice: str = "en-us", speed: int = 160) -> None:
    """Write ``text`` spoken by espeak-ng to the wav file ``path`` (22.05 kHz, atomically)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("espeak-ng is not installed; install it (apt-get install espeak-ng) to make the corpus")
    with atomic_path(path, suffix=".wav") as tmp:
        res = subprocess.run([exe, "-v", voice, "-s", str(speed), "-w", str(tmp), "--", text],
                             capture_output=True, text=True, check=False)
        if res.returncode != 0 or Path(tmp).stat().st_size <= 44:
            raise DataError(f"espeak-ng failed for voice {voice!r} on {text!r}: {res.stderr.strip()}")


def make_espeak_corpus(
    out_dir: str | Path,
    n_utterances: int,
    seed: int = 0,
    voices: tuple[str, ...] = ("en-us",),
    speed: int = 160,
) -> Path:
    """Speak ``n_utterances`` generated sentences into ``out_dir/wavs`` and return ``out_dir/manifest.csv``.

    Utterance ``k`` uses voice ``voices[k % len(voices)]`` (the voice is the speaker column).
    Existing wavs are kept, so an interrupted run resumes.
    """
    out = Path(out_dir)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    rows = []
    for k, text in enumerate(generate_sentences(n_utterances, seed)):
        voice = voices[k % len(voices)]
        rel = f"wavs/utt{k:05d}.wav"
        if not (out / rel).is_file():
            speak(text, out / rel, voice=voice, speed=speed)
        rows.append({"path": rel, "text": text, "speaker": voice})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["path", "text", "speaker"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    manifest = out / "manifest.csv"
    write_text_atomic(manifest, buf.getvalue())
    return manifest
