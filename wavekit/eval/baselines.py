"""Classical vocoders from the same log-mel, as baselines a learned vocoder must beat.

Both take the *raw* log-mel of :func:`wavekit.audio.log_mel_spectrogram`
(undo the corpus normalisation first: ``FeatureStats.denormalize``), shape
(n_mels, frames), and return ``frames * hop`` samples aligned with it
(frame ``i`` covers samples ``[i*hop, (i+1)*hop)``), so they pair with the
held-out references sample for sample.

* :func:`griffin_lim` (from :mod:`wavekit.audio.inversion`, re-exported
  here): linear magnitude from the filter-bank inverse
  (:func:`wavekit.audio.lpc.mel_to_linear`), phase by Griffin-Lim
  (``librosa.griffinlim``, fast/momentum variant, fixed random start).
* :func:`lpc_noise` : white Gaussian excitation with the per-frame gain the
  mel implies, through the all-pole filter ``1 / A(z)`` of
  :func:`wavekit.audio.lpc.lpc_from_mel` (direct form, filter memory carried
  across frames), then de-emphasis; finally each frame's level is matched to
  the mel's (the mel energy of the output against the target, one
  correction per frame, smoothed over a window of ``hop`` samples).
* ``lpc_noise_postfilter``: :func:`lpc_noise` through the same
  postfilter the vocoders' output goes through (pitch comb, then mel
  consistency: :func:`wavekit.audio.postfilter.postfilter`, default settings): the
  control that shows how much of a postfiltered vocoder's figures the
  postfilter alone would give from noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from wavekit.audio.features import MelConfig, log_mel_spectrogram
from wavekit.audio.inversion import check_log_mel, griffin_lim
from wavekit.audio.lpc import LPCConfig, deemphasis, lpc_from_mel
from wavekit.audio.postfilter import postfilter
from wavekit.errors import DataError

BASELINES = ("griffin_lim", "lpc_noise", "lpc_noise_postfilter")
BASELINE_LABELS = {"griffin_lim": "Griffin-Lim", "lpc_noise": "LPC + white noise",
                   "lpc_noise_postfilter": "LPC + white noise + postfilter"}
_MEL, _LPC = MelConfig(), LPCConfig()


def _all_pole(excitation: np.ndarray, a: np.ndarray, hop: int) -> np.ndarray:
    """Time-varying ``1 / A_i(z)`` per hop-sized frame, with the direct-form memory (past outputs) carried over."""
    from scipy.signal import lfilter, lfiltic

    order = a.shape[1]
    out = np.zeros_like(excitation)
    past = np.zeros(order)  # y_{t-1}, ..., y_{t-order}
    for i in range(a.shape[0]):
        den = np.r_[1.0, a[i]]
        zi = lfiltic([1.0], den, past)
        seg, _ = lfilter([1.0], den, excitation[i * hop : (i + 1) * hop], zi=zi)
        out[i * hop : (i + 1) * hop] = seg
        tail = out[max(0, (i + 1) * hop - order) : (i + 1) * hop][::-1]
        past = np.r_[tail, np.zeros(order - len(tail))]
    return out


def lpc_noise(
    log_mel: Any, mel_config: MelConfig = _MEL, lpc: LPCConfig = _LPC, *, seed: int = 0
) -> np.ndarray:
    """LPC envelope excited by white noise, level matched per frame: (frames * hop,) float32 from (n_mels, frames)."""
    cfg = mel_config
    m = check_log_mel(log_mel, cfg)
    a, gain = lpc_from_mel(m, cfg, order=lpc.order, preemphasis=lpc.preemphasis, lag_window=lpc.lag_window_hz,
                           noise_floor=lpc.noise_floor, return_gain=True)
    frames, hop = m.shape[1], cfg.hop_length
    noise = np.random.default_rng(seed).standard_normal(frames * hop) * np.repeat(gain, hop)
    y = deemphasis(_all_pole(noise, a, hop), lpc.preemphasis)
    # level match: the mel energy of the output against the target's, frame by frame
    got = log_mel_spectrogram(y, cfg)
    corr = np.exp(np.log(np.exp(m).sum(0) + 1e-12) - np.log(np.exp(got).sum(0) + 1e-12))
    ramp = np.convolve(np.repeat(corr, hop), np.ones(hop) / hop, mode="same")
    return np.clip(y * ramp, -1.0, 1.0).astype(np.float32)


def synthesize_baseline(name: str, log_mel: Any, mel_config: MelConfig = _MEL, *, seed: int = 0) -> np.ndarray:
    """The baseline ``name`` (one of :data:`BASELINES`) from a raw log-mel."""
    if name == "griffin_lim":
        return griffin_lim(log_mel, mel_config, seed=seed)
    if name == "lpc_noise":
        return lpc_noise(log_mel, mel_config, seed=seed)
    if name == "lpc_noise_postfilter":
        return postfilter(lpc_noise(log_mel, mel_config, seed=seed), log_mel, mel_config)
    raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINES)}")


def _mel_files(sources: Any) -> list[Path]:
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            files += sorted(p.rglob("*.npy"))
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such mel file or folder; pass .npy files or folders of them")
    if not files:
        raise DataError("no .npy mel files found in the given paths")
    stems = [f.stem for f in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise DataError(f"two mel files share the name {dup[0]!r}; outputs are named after the file stem")
    return files


def write_baselines(
    mels: Any,
    data_root: str | Path,
    out_dir: str | Path,
    *,
    names: Any = BASELINES,
    normalized: bool = True,
    seed: int = 0,
) -> dict[str, list[Path]]:
    """Synthesise every baseline in ``names`` for every mel: ``out_dir/<name>/<stem>.wav``.

    ``mels``: .npy files or folders of (n_mels, frames) log-mels; with
    ``normalized`` they carry the corpus normalisation of ``data_root``
    (``wavekit preprocess`` output, which also gives the mel settings) and are
    denormalised first. Returns ``{name: [written paths]}``.
    """
    from wavekit.audio.datasets import load_corpus
    from wavekit.audio.io import save_wav

    corpus = load_corpus(data_root)
    cfg = corpus.mel
    written: dict[str, list[Path]] = {n: [] for n in names}
    for f in _mel_files(mels):
        try:
            mel = np.load(f)
        except (OSError, ValueError) as e:
            raise DataError(f"{f}: not a readable .npy mel ({e})") from None
        if mel.ndim != 2 or mel.shape[0] != cfg.n_mels or not np.all(np.isfinite(mel)):
            raise DataError(f"{f}: expected a finite (n_mels={cfg.n_mels}, frames) log-mel, got shape {mel.shape}")
        raw = corpus.stats.denormalize(mel) if normalized else mel
        for name in names:
            path = Path(out_dir) / name / f"{f.stem}.wav"
            save_wav(path, synthesize_baseline(name, raw, cfg, seed=seed), cfg.sample_rate)
            written[name].append(path)
    return written
