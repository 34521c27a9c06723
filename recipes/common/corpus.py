"""Download, verify, extract and list speech corpora for the recipes.

* :func:`fetch_archive` gets an archive from a URL (resumable: a partial
  ``<name>.part`` continues with an HTTP Range request) or takes a local
  file / the file of that name in a local folder, and checks its sha256
  before anything uses it.
* :func:`extract_archive` unpacks ``.tar.*`` or ``.zip`` into a staging
  folder and renames it into place, so an interrupted extraction never
  looks finished; members that would land outside the target are refused.
* :func:`write_manifest` writes the ``path,text,speaker,id`` CSV that
  ``wavekit preprocess`` reads, atomically.

Errors a user can cause raise :class:`wavekit.errors.DataError`; the
scripts turn them into one ``Error: ...`` line and exit status 1 via
:func:`run_main`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from wavekit.atomic import write_text_atomic  # light: no torch import
from wavekit.errors import DataError, WavekitError

MANIFEST_FIELDS = ("path", "text", "speaker", "id")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Archive:
    """One downloadable corpus archive.

    ``extract_to``: folder (relative to the download folder) the archive's
    members are unpacked into ("" for the download folder itself, for
    archives with their own top folder). ``marker``: a path (relative to the
    download folder) that exists once extraction has finished.
    """

    name: str
    url: str
    sha256: str
    extract_to: str
    marker: str


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def read_checksums(path: str | Path) -> dict[str, str]:
    """``{file name: sha256}`` from a ``sha256sum``-style file (``HASH  NAME`` per line)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: checksum file not found")
    sums = {}
    for line in p.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64:
            sums[Path(parts[1].lstrip("*")).name] = parts[0].lower()
    return sums


def _is_url(s: str) -> bool:
    return s.startswith(("http://", "https://", "file://", "ftp://"))


def _verify(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected.lower():
        raise DataError(
            f"checksum mismatch for {what}: sha256 {actual}, expected {expected}; "
            "the file is corrupt, incomplete or a different release; delete it and fetch it again "
            "(or pass --checksums FILE listing the sha256 of a deliberately different archive)"
        )


def _download(url: str, dest: Path, progress: bool) -> None:
    """Download ``url`` to ``dest``, resuming ``dest.part`` when the server supports ranges."""
    # Not wavekit.atomic: the partial download must survive an interruption under a fixed name
    # (dest.part) so the next run resumes it; atomic_path deletes its temp file on failure.
    part = dest.with_name(dest.name + ".part")
    done = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        resp = urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        if e.code == 416 and done:  # already complete
            os.replace(part, dest)
            return
        raise DataError(f"download of {url} failed: HTTP {e.code}; check the URL or your network") from None
    except (urllib.error.URLError, OSError) as e:
        raise DataError(f"cannot download {url}: {e}; check your network, or pass --source with a local copy") from None
    with resp:
        status = getattr(resp, "status", 200)
        mode = "ab" if done and status == 206 else "wb"
        if mode == "wb":
            done = 0
        length = resp.headers.get("Content-Length")
        total = done + int(length) if length and length.isdigit() else None
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=done, unit="B", unit_scale=True, desc=dest.name)
        with open(part, mode) as f:
            for block in iter(lambda: resp.read(_CHUNK), b""):
                f.write(block)
                if bar is not None:
                    bar.update(len(block))
        if bar is not None:
            bar.close()
    os.replace(part, dest)


def fetch_archive(
    archive: Archive, out_dir: str | Path, source: str | None = None, sha256: str | None = None, progress: bool = True
) -> Path:
    """Return a verified local copy of ``archive``.

    ``source``: None (the archive's URL), a URL of the file or of the folder
    holding it, a local archive file, or a local folder holding a file
    named ``archive.name``. Local files are verified in place (not copied);
    URLs are downloaded to ``out_dir/downloads/``. ``sha256`` overrides the
    expected checksum (for mirrors of other releases or test stand-ins).
    """
    expected = sha256 or archive.sha256
    if source is not None and not _is_url(source):
        p = Path(source).expanduser()
        if p.is_dir():
            p = p / archive.name
        if not p.is_file():
            raise DataError(f"{p}: archive not found; --source must be {archive.name}, a folder holding it, or a URL")
        _verify(p, expected, str(p))
        return p
    url = archive.url if source is None else source
    if source is not None and not url.rstrip("/").endswith(archive.name):
        url = url.rstrip("/") + "/" + archive.name
    dest = Path(out_dir) / "downloads" / archive.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.is_file():
        _download(url, dest, progress)
    try:
        _verify(dest, expected, f"{dest} (from {url})")
    except DataError:
        dest.unlink()  # a bad download is useless; the next run starts afresh
        raise
    return dest


def _safe_members_tar(tf: tarfile.TarFile, target: Path) -> None:
    root = target.resolve()
    for m in tf.getmembers():
        dest = (root / m.name).resolve()
        if not dest.is_relative_to(root) or m.islnk() or m.issym():
            raise DataError(f"refusing to extract {m.name!r}: it would leave {root} or is a link")


def extract_archive(path: str | Path, target: str | Path) -> Path:
    """Unpack a ``.tar[.gz|.bz2|.xz]`` or ``.zip`` into ``target`` (created; merged if it exists).

    Members are unpacked into a staging folder next to ``target`` first and
    moved into place afterwards.
    """
    path, target = Path(path), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".extract-", dir=target))
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                root = stage.resolve()
                for name in zf.namelist():
                    if not (root / name).resolve().is_relative_to(root):
                        raise DataError(f"refusing to extract {name!r} from {path}: it would leave the target folder")
                zf.extractall(stage)
        elif tarfile.is_tarfile(path):
            with tarfile.open(path) as tf:
                _safe_members_tar(tf, stage)
                tf.extractall(stage, filter="data")
        else:
            raise DataError(f"{path}: not a tar or zip archive; delete it and download again")
        for child in sorted(stage.iterdir()):
            dest = target / child.name
            if dest.exists():
                if dest.is_dir() and child.is_dir():
                    shutil.rmtree(dest)
                else:
                    dest.unlink()
            os.replace(child, dest)  # a directory (or file) moved out of the staging folder: a rename, no bytes to write
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target


def ensure_corpus(
    archive: Archive, out_dir: str | Path, source: str | None = None, sha256: str | None = None, progress: bool = True
) -> Path:
    """Fetch, verify and extract ``archive`` under ``out_dir`` unless already done; returns ``out_dir``.

    Resumable: a finished extraction is skipped (it leaves the stamp file
    ``out_dir/.<archive name>.extracted``, written last, so an extraction
    cut short is redone), a finished download is not fetched again, and a
    partial download continues.
    """
    out = Path(out_dir)
    stamp = out / f".{archive.name}.extracted"
    if stamp.is_file() and (out / archive.marker).exists():
        print(f"{archive.name}: already extracted under {out} (found {archive.marker})")
        return out
    local = fetch_archive(archive, out, source=source, sha256=sha256, progress=progress)
    print(f"{archive.name}: checksum ok, extracting {local} ...")
    extract_archive(local, out / archive.extract_to if archive.extract_to else out)
    if not (out / archive.marker).exists():
        raise DataError(f"{local} was extracted but {out / archive.marker} is missing: not the expected corpus layout")
    stamp.write_text(f"{(sha256 or archive.sha256).lower()}  {archive.name}\n")  # verified above
    return out


# ------------------------------------------------------------------ manifests


def clean_text(text: str) -> str:
    """One line of text: whitespace runs (newlines included) become single spaces."""
    return " ".join(str(text).split())


def write_manifest(rows: Iterable[dict], path: str | Path) -> int:
    """Write ``path,text,speaker,id`` rows as a UTF-8 CSV atomically; returns the row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: clean_text(row.get(k, "")) if k == "text" else str(row.get(k, "")) for k in MANIFEST_FIELDS})
        n += 1
    if n == 0:
        raise DataError(f"no utterances found for {path}; check the corpus folder and the speaker selection")
    write_text_atomic(path, buf.getvalue())
    return n


def read_manifest(path: str | Path) -> list[dict]:
    """Rows of a manifest written by :func:`write_manifest` (for tests and checks)."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def balanced_subset(rows: Sequence[dict], limit: int | None) -> list[dict]:
    """At most ``limit`` rows, balanced over speakers (counts differ by at most 1 where possible).

    Deterministic: speakers (sorted) take turns to get a quota until
    ``limit`` rows are allotted (a speaker with too few rows drops out); each
    speaker's quota is spread evenly over its rows (rows ``floor(k * n / q)``),
    so a debug subset still covers the whole corpus. Input order is kept.
    """
    if limit is None or limit >= len(rows):
        return list(rows)
    if limit <= 0:
        raise DataError(f"--limit must be positive, got {limit}")
    by_spk: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_spk.setdefault(r["speaker"], []).append(i)
    speakers = sorted(by_spk)
    quota = dict.fromkeys(speakers, 0)
    allotted = 0
    while allotted < limit:
        for s in speakers:
            if quota[s] < len(by_spk[s]) and allotted < limit:
                quota[s] += 1
                allotted += 1
    picked = []
    for s in speakers:
        idx, q = by_spk[s], quota[s]
        picked += [idx[(k * len(idx)) // q] for k in range(q)]
    return [rows[i] for i in sorted(picked)]


def run_main(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> None:
    """Run a script's ``main(argv)``; user errors print ``Error: ...`` and exit 1 without a traceback."""
    try:
        code = main(argv)
    except WavekitError as e:
        print(f"Error: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("\ninterrupted: rerun the same command to resume", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(code or 0)

