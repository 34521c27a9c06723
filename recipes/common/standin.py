"""Small local stand-ins for the downloadable corpora, laid out exactly like the real ones.

Each ``make_*`` function speaks a few English sentences with espeak-ng
(one espeak voice per corpus speaker), writes them in the real corpus's
folder layout, sample rate and file format, packs them into an archive
with the real archive's name and layout, and appends the archive's sha256
to ``SHA256SUMS`` beside it (the format ``sha256sum`` writes), so that
``download.py --source DIR --checksums DIR/SHA256SUMS`` runs offline:

* LJSpeech-1.1: ``LJSpeech-1.1.tar.bz2`` -> ``LJSpeech-1.1/metadata.csv``
  (``id|text|normalized text``) and ``wavs/<id>.wav`` (22.05 kHz 16-bit);
* CMU ARCTIC: ``cmu_us_<spk>_arctic.tar.bz2`` -> ``cmu_us_<spk>_arctic/``
  with ``etc/txt.done.data`` and ``wav/arctic_aNNNN.wav`` (16 kHz 16-bit);
* VCTK 0.92: ``VCTK-Corpus-0.92.zip`` (no top folder) ->
  ``wav48_silence_trimmed/<spk>/<spk>_NNN_mic{1,2}.flac`` (48 kHz) and
  ``txt/<spk>/<spk>_NNN.txt``; like the real p315, the last speaker's
  last utterance has no transcript.

Archives are deterministic (sorted members, fixed times and owners).
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

from wavekit.errors import DataError

# (raw text, normalized text): LJSpeech's metadata carries both.
SENTENCES = [
    ("The birch canoe slid on the smooth planks.", "The birch canoe slid on the smooth planks."),
    ("Glue the sheet to the dark blue background.", "Glue the sheet to the dark blue background."),
    ("It is easy to tell the depth of a well.", "It is easy to tell the depth of a well."),
    ("In 1884 the rooms were lit by gas.", "In eighteen eighty-four the rooms were lit by gas."),
    ("Rice is often served in round bowls.", "Rice is often served in round bowls."),
    ("The juice of lemons makes fine punch.", "The juice of lemons makes fine punch."),
    ("Dr. Smith kept 3 cats.", "Doctor Smith kept three cats."),
    ("Four hours of steady work faced us.", "Four hours of steady work faced us."),
]
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb+f4", "en-us+m3", "en-gb-scotland"]
_FIXED_TIME = 946684800  # 2000-01-01, for reproducible archives


def espeak(text: str, voice: str, sample_rate: int, espeak_bin: str = "espeak-ng") -> np.ndarray:
    """Speak ``text`` with an espeak-ng voice; float32 mono at ``sample_rate``."""
    from wavekit.audio import load_wav

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "say.wav"
        try:
            subprocess.run([espeak_bin, "-v", voice, "-w", str(wav), text], check=True, capture_output=True)
        except FileNotFoundError:
            raise DataError("espeak-ng not found; install it (sudo apt-get install espeak-ng)") from None
        except subprocess.CalledProcessError as e:
            raise DataError(f"espeak-ng failed for voice {voice!r}: {e.stderr.decode(errors='replace')}") from None
        return load_wav(wav, sample_rate=sample_rate)


def _write(path: Path, wav: np.ndarray, sample_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wav, sample_rate, subtype="PCM_16")


def _tar_bz2(src_dir: Path, archive: Path) -> None:
    """Pack ``src_dir`` (as its own top folder) reproducibly."""

    def norm(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = _FIXED_TIME, 0, 0, "", ""
        return ti

    with tarfile.open(archive, "w:bz2") as tf:
        paths = [src_dir] + sorted(src_dir.rglob("*"))
        for p in paths:
            tf.add(p, arcname=str(p.relative_to(src_dir.parent)), recursive=False, filter=norm)


def _zip_contents(src_dir: Path, archive: Path) -> None:
    """Zip the *contents* of ``src_dir`` (no top folder), reproducibly."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src_dir.rglob("*")):
            name = p.relative_to(src_dir).as_posix() + ("/" if p.is_dir() else "")
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            zf.writestr(info, b"" if p.is_dir() else p.read_bytes())


def _record_checksum(archive: Path) -> str:
    from common.corpus import sha256_file

    digest = sha256_file(archive)
    sums = archive.parent / "SHA256SUMS"
    lines = [l for l in (sums.read_text().splitlines() if sums.exists() else []) if not l.endswith(f"  {archive.name}")]
    sums.write_text("\n".join(lines + [f"{digest}  {archive.name}"]) + "\n")
    return digest


def make_ljspeech(out: str | Path, n: int = 6) -> Path:
    """LJSpeech-1.1 stand-in with ``n`` utterances; returns the archive path."""
    out = Path(out)
    root = out / "LJSpeech-1.1"
    lines = []
    for i in range(n):
        raw, norm = SENTENCES[i % len(SENTENCES)]
        utt = f"LJ001-{i + 1:04d}"
        _write(root / "wavs" / f"{utt}.wav", espeak(raw, "en-us+f3", 22050), 22050)
        lines.append(f"{utt}|{raw}|{norm}")
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "README").write_text("LJ Speech stand-in made by wavekit from espeak-ng (not the real corpus).\n")
    archive = out / "LJSpeech-1.1.tar.bz2"
    _tar_bz2(root, archive)
    _record_checksum(archive)
    return archive


def make_cmu_arctic(out: str | Path, speakers: tuple[str, ...] = ("bdl", "slt"), n: int = 3) -> list[Path]:
    """CMU ARCTIC stand-ins, one archive per speaker; returns the archive paths."""
    out = Path(out)
    archives = []
    for k, spk in enumerate(speakers):
        root = out / f"cmu_us_{spk}_arctic"
        lines = []
        for i in range(n):
            text = SENTENCES[(i + k) % len(SENTENCES)][1]
            utt = f"arctic_a{i + 1:04d}"
            _write(root / "wav" / f"{utt}.wav", espeak(text, VOICES[k % len(VOICES)], 16000), 16000)
            lines.append(f'( {utt} "{text}" )')
        (root / "etc").mkdir(parents=True, exist_ok=True)
        (root / "etc" / "txt.done.data").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (root / "README").write_text(f"CMU ARCTIC stand-in for speaker {spk} made by wavekit from espeak-ng.\n")
        archive = out / f"cmu_us_{spk}_arctic.tar.bz2"
        _tar_bz2(root, archive)
        _record_checksum(archive)
        archives.append(archive)
    return archives


def make_vctk(out: str | Path, speakers: tuple[str, ...] = ("p225", "p226"), n: int = 3) -> Path:
    """VCTK-Corpus-0.92 stand-in; returns the archive path."""
    out = Path(out)
    root = out / "VCTK-Corpus-0.92"
    info = ["ID  AGE  GENDER  ACCENTS  REGION  COMMENTS"]
    for k, spk in enumerate(speakers):
        info.append(f"{spk}  23  {'F' if k % 2 == 0 else 'M'}  English  Southern  England")
        for i in range(n):
            text = SENTENCES[(i + 2 * k) % len(SENTENCES)][1]
            utt = f"{spk}_{i + 1:03d}"
            wav = espeak(text, VOICES[(k + 1) % len(VOICES)], 48000)
            for mic in ("mic1", "mic2"):
                _write(root / "wav48_silence_trimmed" / spk / f"{utt}_{mic}.flac", wav, 48000)
            if not (k == len(speakers) - 1 and i == n - 1):  # like p315: a transcript is missing
                txt = root / "txt" / spk / f"{utt}.txt"
                txt.parent.mkdir(parents=True, exist_ok=True)
                txt.write_text(text + "\n", encoding="utf-8")
    (root / "speaker-info.txt").write_text("\n".join(info) + "\n")
    (root / "README.txt").write_text("VCTK 0.92 stand-in made by wavekit from espeak-ng (not the real corpus).\n")
    archive = out / "VCTK-Corpus-0.92.zip"
    _zip_contents(root, archive)
    _record_checksum(archive)
    return archive


def build_standin_cli(kind: str, argv: list[str] | None = None) -> int:
    """``make_standin.py --out DIR [-n N]`` for one corpus kind ("ljspeech", "cmu_arctic", "vctk")."""
    import argparse

    ap = argparse.ArgumentParser(description=f"Build a small {kind} stand-in corpus (and archive) from espeak-ng.")
    ap.add_argument("--out", required=True, type=Path, help="folder for the stand-in tree, archive(s) and SHA256SUMS")
    ap.add_argument("-n", type=int, default=3 if kind != "ljspeech" else 6, help="utterances (per speaker)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    made = {"ljspeech": lambda: [make_ljspeech(args.out, args.n)],
            "cmu_arctic": lambda: make_cmu_arctic(args.out, n=args.n),
            "vctk": lambda: [make_vctk(args.out, n=args.n)]}[kind]()
    for a in made:
        print(f"wrote {a}")
    print(f"checksums in {args.out / 'SHA256SUMS'}")
    return 0
