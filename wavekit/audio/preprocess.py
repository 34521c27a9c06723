"""Corpus preprocessing: audio files -> aligned (waveform, log-mel) items on disk.

``preprocess_corpus(src, out, ...)`` (the library side of ``wavekit
preprocess SRC OUT``) reads every file of a corpus folder or manifest (see
:mod:`wavekit.audio.sources`), resamples it to ``mel.sample_rate``, trims it
to a whole number of frames and stores it with its log-mel spectrogram.

Output layout of OUT (other parts of wavekit read exactly this):

- ``items/<id>.npz``: ``wav`` int16 PCM of ``frames * hop_length`` samples
  (float audio is ``wav / 32768``) and ``mel`` float32 ``(n_mels, frames)``,
  the *unnormalised* log-mel of exactly that int16 audio
  (:func:`wavekit.audio.features.log_mel_spectrogram`);
- ``manifest.jsonl``: one JSON object a kept item, in source order, with
  ``id, speaker, speaker_id, text, samples, frames, split, file, source``
  (``file`` is relative to OUT; ``split`` is "train", "dev" or "test");
- ``stats.json``: :class:`~wavekit.audio.stats.FeatureStats` of the train split;
- ``speakers.json``: speaker name -> id (names sorted, ids from 0);
- ``meta.json``: ``{"format": 1, "mel": <MelConfig as dict>, "filters":
  {"min_seconds", "silence_db"}, "train_digest"}``;
- ``rejects.tsv``: ``path<TAB>reason`` for every file that was not kept.

Every file is written atomically. A write failure (disk full, permission,
read-only disk) stops the run with :class:`~wavekit.errors.OutputError` and
is never recorded as a reject: a rerun after fixing it finishes the job.
Temporary files that killed runs left behind are removed. A rerun skips items whose ``.npz`` exists
and files already listed in ``rejects.tsv`` (delete that file, or a line of
it, to retry them), so an interrupted run resumes and a finished one does no
work. A rerun with different mel settings or filters is refused (DataError);
the split and the speaker table are recomputed on every run.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import signal
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from wavekit.atomic import (
    atomic_path,
    check_writable_dir,
    clean_stale_temps,
    write_text_atomic,
)
from wavekit.audio.features import MelConfig, log_mel_spectrogram
from wavekit.audio.io import load_wav
from wavekit.audio.sources import SourceItem, assign_splits, list_sources
from wavekit.audio.stats import StatsAccumulator
from wavekit.config import to_dict
from wavekit.errors import AudioError, DataError, OutputError

FORMAT_VERSION = 1
PCM_SCALE = 32768.0


@dataclass
class PreprocessSummary:
    """What a run did. ``processed`` files were worked on now; ``skipped`` were done by an earlier run."""

    out: Path
    kept: int = 0
    rejected: int = 0
    processed: int = 0
    skipped: int = 0
    new_rejects: int = 0
    seconds: float = 0.0
    wall_s: float = 0.0
    splits: dict[str, int] = field(default_factory=dict)

    @property
    def files_per_s(self) -> float:
        return self.processed / self.wall_s if self.wall_s > 0 else 0.0

    def __str__(self) -> str:
        split = " / ".join(f"{k} {v}" for k, v in self.splits.items())
        lines = [
            f"kept {self.kept} items ({self.seconds / 3600:.2f} h of audio; {split}) in {self.out}",
            f"rejected {self.rejected} files" + (f" (see {self.out / 'rejects.tsv'})" if self.rejected else ""),
        ]
        if self.processed == 0:
            lines.append(f"nothing to do: all {self.skipped} files were already processed by an earlier run")
        else:
            lines.append(
                f"processed {self.processed} files ({self.new_rejects} rejected), skipped {self.skipped} already done; "
                f"{self.wall_s:.1f} s, {self.files_per_s:.1f} files/s"
            )
        return "\n".join(lines)


def _clean(reason: str) -> str:
    return " ".join(reason.split())


def process_file(path: Path, out_npz: Path, mel: MelConfig, min_seconds: float, silence_db: float) -> tuple[str, Any]:
    """Turn one audio file into ``out_npz``. Returns ("ok", (samples, frames)) or ("reject", reason)."""
    try:
        wav = load_wav(path, mel.sample_rate)
        seconds = len(wav) / mel.sample_rate
        if seconds < min_seconds:
            return "reject", f"too short ({seconds:.3f} s < --min-seconds {min_seconds:g})"
        peak = float(np.abs(wav).max())
        peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
        if peak_db < silence_db:
            return "reject", f"silent (peak {peak_db:.1f} dBFS < {silence_db:g} dBFS)"
        frames = mel.frames(len(wav))
        pcm = np.clip(np.round(wav[: frames * mel.hop_length] * PCM_SCALE), -32768, 32767).astype(np.int16)
        feats = log_mel_spectrogram(pcm.astype(np.float32) / PCM_SCALE, mel).astype(np.float32)
        with atomic_path(out_npz, suffix=".npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, wav=pcm, mel=feats)
        return "ok", (len(pcm), frames)
    except AudioError as e:
        return "reject", _clean(str(e))
    except OutputError:
        raise  # the output's fault, not the file's: never a reject
    except Exception as e:  # a bad file must never abort the corpus; keep the reason
        return "reject", _clean(f"failed to process: {type(e).__name__}: {e}")


def _worker_init() -> None:
    import signal

    # Ctrl-C is handled by the parent, which lets running items finish. The worker was born with
    # SIGINT blocked (see _run_tasks), so a Ctrl-C during its start-up is dropped here, silently.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    import torch

    torch.set_num_threads(1)


def _worker(args: tuple) -> tuple[str, str, Any]:
    item_id, path, out_npz, mel_dict, min_seconds, silence_db = args
    status, info = process_file(Path(path), Path(out_npz), MelConfig(**mel_dict), min_seconds, silence_db)
    return item_id, status, info


def npz_shape(path: Path, key: str) -> tuple[int, ...]:
    """Shape of array ``key`` in an ``.npz`` without loading it (reads the .npy header only)."""
    with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, _ = read(f)
    return tuple(shape)


def _done_item(path: Path) -> tuple[int, int] | None:
    if not path.is_file():
        return None
    try:
        return npz_shape(path, "wav")[0], npz_shape(path, "mel")[1]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None  # unreadable leftovers are processed again


def _read_rejects(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if "\t" in line:
            p, reason = line.split("\t", 1)
            out[p] = reason
    return out


def _check_meta(out: Path, meta: dict[str, Any]) -> dict[str, Any]:
    path = out / "meta.json"
    if not path.is_file():
        if (out / "items").is_dir() and any((out / "items").iterdir()):
            raise DataError(f"{out} holds items but no meta.json; use an empty OUT folder")
        write_text_atomic(path, json.dumps(meta, indent=1))
        return meta
    try:
        old = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise DataError(f"{path} is corrupt; delete {out} and preprocess again") from None
    for section in ("mel", "filters"):
        if old.get(section) != meta[section]:
            diffs = [
                f"{k}: {old.get(section, {}).get(k)!r} there, {v!r} now"
                for k, v in meta[section].items()
                if old.get(section, {}).get(k) != v
            ]
            raise DataError(
                f"{out} was preprocessed with different {section} settings ({'; '.join(diffs)}); "
                "use the same settings to resume, or a new OUT folder"
            )
    return old


def _run_tasks(tasks: list[tuple], jobs: int, progress: bool) -> Iterator[tuple[str, str, Any]]:
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc="preprocess", unit="file", disable=not progress or not tasks, dynamic_ncols=True)
    try:
        if jobs <= 1:
            for t in tasks:
                yield _worker(t)
                bar.update()
            return
        ctx = multiprocessing.get_context("spawn")  # torch + fork is unsafe
        ex = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init)
        try:
            # Workers inherit the signal mask: with SIGINT blocked while they are started, a Ctrl-C
            # then reaches only this process (once unblocked) and no worker prints a traceback.
            old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                futures = [ex.submit(_worker, t) for t in tasks]
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            for fut in as_completed(futures):
                yield fut.result()
                bar.update()
        finally:
            ex.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def preprocess_corpus(
    src: str | Path,
    out: str | Path,
    mel: MelConfig = MelConfig(),
    jobs: int = 1,
    valid_fraction: float = 0.05,
    test_fraction: float = 0.05,
    valid_count: int | None = None,
    test_count: int | None = None,
    seed: int = 0,
    limit: int | None = None,
    min_seconds: float = 0.25,
    silence_db: float = -60.0,
    progress: bool = True,
) -> PreprocessSummary:
    """Preprocess corpus ``src`` (folder or manifest) into ``out``; see the module docstring.

    Bad files are listed in ``out/rejects.tsv`` and never stop the run.
    Raises DataError for a missing/empty ``src``, mismatched settings of an
    existing ``out``, or a split that leaves nothing to train on.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    start = time.perf_counter()
    out = Path(out).expanduser()
    sources = list_sources(src, limit=limit)
    check_writable_dir(out)
    clean_stale_temps(out)
    meta = {"format": FORMAT_VERSION, "mel": to_dict(mel), "filters": {"min_seconds": float(min_seconds), "silence_db": float(silence_db)}}
    meta = _check_meta(out, meta)
    items_dir = check_writable_dir(out / "items")
    clean_stale_temps(items_dir)

    rejects_path = out / "rejects.tsv"
    rejects = _read_rejects(rejects_path)
    kept: dict[str, tuple[int, int]] = {}
    todo: list[SourceItem] = []
    summary = PreprocessSummary(out=out)
    for it in sources:
        done = _done_item(items_dir / f"{it.id}.npz")
        if done is not None:
            kept[it.id] = done
        elif str(it.path) not in rejects:
            todo.append(it)
    summary.skipped = len(sources) - len(todo)

    tasks = [
        (it.id, str(it.path), str(items_dir / f"{it.id}.npz"), to_dict(mel), float(min_seconds), float(silence_db))
        for it in todo
    ]
    paths = {it.id: str(it.path) for it in todo}
    failed = True
    try:
        for item_id, status, info in _run_tasks(tasks, jobs, progress):
            summary.processed += 1
            if status == "ok":
                kept[item_id] = info
            else:
                rejects[paths[item_id]] = info
                summary.new_rejects += 1
        failed = False
    except OutputError as e:
        raise OutputError(
            f"{e}; {len(kept)} of {len(sources)} items are done and kept: rerun the same command to process the rest"
        ) from None
    finally:
        if summary.new_rejects:
            try:
                write_text_atomic(rejects_path, "".join(f"{p}\t{r}\n" for p, r in rejects.items()))
            except OutputError:
                if not failed:
                    raise
                # already failing: the error in flight says more; these files are simply retried next run
    if not rejects_path.exists():
        write_text_atomic(rejects_path, "")

    summary.rejected = sum(1 for it in sources if it.id not in kept and str(it.path) in rejects)
    kept_items = [it for it in sources if it.id in kept]
    if not kept_items:
        raise DataError(f"no usable audio in {src}: all {len(sources)} files were rejected (see {rejects_path})")
    split = assign_splits([it.id for it in kept_items], valid_fraction, test_fraction, valid_count, test_count, seed)
    speakers = {name: i for i, name in enumerate(sorted({it.speaker for it in kept_items}))}
    rows: list[dict[str, Any]] = []
    for it in kept_items:
        samples, frames = kept[it.id]
        rows.append(
            {"id": it.id, "speaker": it.speaker, "speaker_id": speakers[it.speaker], "text": it.text,
             "samples": samples, "frames": frames, "split": split[it.id], "file": f"items/{it.id}.npz",
             "source": str(it.path)}
        )
    summary.kept = len(rows)
    summary.seconds = sum(r["samples"] for r in rows) / mel.sample_rate
    summary.splits = {s: sum(1 for r in rows if r["split"] == s) for s in ("train", "dev", "test")}

    train_ids = [r["id"] for r in rows if r["split"] == "train"]
    digest = _digest(train_ids)
    if meta.get("train_digest") != digest or not (out / "stats.json").is_file():
        acc = StatsAccumulator()
        for r in rows:
            if r["split"] == "train":
                with np.load(out / r["file"]) as z:
                    acc.add(z["mel"])
        write_text_atomic(out / "stats.json", json.dumps(acc.result().to_dict()))
        meta["train_digest"] = digest
        write_text_atomic(out / "meta.json", json.dumps(meta, indent=1))
    write_text_atomic(out / "speakers.json", json.dumps(speakers, indent=1, ensure_ascii=False))
    write_text_atomic(out / "manifest.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    summary.wall_s = time.perf_counter() - start
    return summary
