"""F0 tracks of a preprocessed corpus, computed once and kept beside it.

pyin costs about a third of a second per call whatever the length (it builds
its transition matrix each time), far more than loading an item, so a
training run that asked for the pitch of every crop would spend most of its
time there. The track of a whole item (F0 and voicing per mel frame,
:func:`wavekit.audio.pitch.f0_from_waveform`) is therefore computed once, in
parallel worker processes, and stored in ``<corpus>/pitch-v<N>-<f0_min>-<f0_max>/``
as one small ``.npz`` per item, written atomically: an interrupted run keeps
what it finished and the next one computes the rest. ``N`` is :data:`TRACK_VERSION`,
raised whenever the tracker's settings change, so that an older tracker's
tracks are never reused. The phase of a crop is
then a short STFT (:func:`wavekit.audio.pitch.fundamental_phase`).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from wavekit.atomic import atomic_path
from wavekit.audio.features import MelConfig
from wavekit.audio.pitch import PitchConfig, f0_from_waveform
from wavekit.audio.preprocess import PCM_SCALE
from wavekit.errors import DataError

# 2: pyin on its 10-cent grid (version 1's 20-cent grid lost the voicing of whole utterances)
TRACK_VERSION = 2


def track_folder(root: Path, pitch: PitchConfig) -> Path:
    """Where the tracks of corpus ``root`` for the search range of ``pitch`` live."""
    return Path(root) / f"pitch-v{TRACK_VERSION}-{pitch.f0_min:g}-{pitch.f0_max:g}"


def track_path(root: Path, item_file: str, pitch: PitchConfig) -> Path:
    return track_folder(root, pitch) / Path(item_file).with_suffix(".npz")


def _compute(item: Path, out: Path, mel: MelConfig, pitch: PitchConfig) -> None:
    try:
        with np.load(item) as z:
            wav = z["wav"].astype(np.float64) / PCM_SCALE
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"cannot read item {item} ({e}); preprocess the corpus again") from None
    f0, voiced = f0_from_waveform(wav, mel, pitch)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out, suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, f0=f0.astype(np.float32), voiced=voiced)


def _compute_job(args: tuple) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _compute(*args)


def load_track(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(f0 (frames,) Hz, voiced (frames,) bool) of one stored track."""
    try:
        with np.load(path) as z:
            return z["f0"].astype(np.float64), z["voiced"].astype(bool)
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"cannot read pitch track {path} ({e}); delete it and rerun to compute it again") from None


def ensure_tracks(root: Path, files: list[str], mel: MelConfig, pitch: PitchConfig, jobs: int | None = None,
                  progress: bool = True) -> int:
    """Compute the missing tracks of items ``files`` (paths relative to ``root``); returns how many were missing."""
    todo = [(Path(root) / f, track_path(root, f, pitch)) for f in files]
    todo = [(item, out) for item, out in todo if not out.exists()]
    if not todo:
        return 0
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    from tqdm import tqdm

    bar = tqdm(total=len(todo), desc="pitch tracks", unit="item", disable=not progress)
    if jobs == 1:
        for item, out in todo:
            _compute(item, out, mel, pitch)
            bar.update()
    else:
        # compile (or load) librosa's numba code here first: two fresh workers compiling it at once
        # can write a cache that crashes every later pyin
        f0_from_waveform(np.zeros(4 * mel.n_fft), mel, pitch)
        ctx = multiprocessing.get_context("spawn")  # torch + fork is unsafe
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as ex:
            for _ in ex.map(_compute_job, [(item, out, mel, pitch) for item, out in todo], chunksize=4):
                bar.update()
    bar.close()
    return len(todo)
