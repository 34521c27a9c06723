"""How periodic is the excitation a source-filter WaveNet models? A measurement on real speech.

For voiced 40 ms blocks of fillets-ng utterances (pyin voicing on every frame of the block),
prints the normalised correlation at the best lag within 3 samples of the pitch period of

- ``s'``: the pre-emphasised speech (what the plain mode models, pre-emphasised);
- ``e``: the excitation e_t = s'_t - p_t with the LPC computed from the mel (what the
  source-filter mode models);
- ``e<1k``: that excitation low-passed below 1 kHz (where the harmonics carry the energy),

the share of e's variance below 1 kHz, and the variance of e explained per block by a least-squares
fit on the sine source of ``pitch_harmonics`` = 8 (``wavekit.wavenet.source_filter.sine_source`` of the
recorded speech's fundamental phase; 16 regressors over 640 samples: 0.025 by chance).
A loss on e weighs every frequency alike: periodicity that lives in a small share of e's
variance gains a network little likelihood, which is what this makes visible.

    python recipes/fillets_cs/local/excitation_periodicity.py [--files 8] [--seconds 3] [--seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from wavekit.audio.features import MelConfig, log_mel_spectrogram
from wavekit.audio.io import load_wav
from wavekit.audio.lpc import lpc_from_mel
from wavekit.audio.pitch import f0_from_waveform, fundamental_phase, voicing_per_sample
from wavekit.wavenet.source_filter import predict, preemphasize, sine_source

BLOCK = 640


def best_lag_correlation(x: np.ndarray, start: int, period: int) -> float:
    """max over lags period-3..period+3 of the normalised correlation of x[start:start+BLOCK] with its lagged self."""
    y = x[start : start + BLOCK]
    best = -1.0
    for d in range(period - 3, period + 4):
        z = x[start - d : start - d + BLOCK]
        best = max(best, float(y @ z / np.sqrt((y @ y) * (z @ z) + 1e-20)))
    return best


def lowpass(x: np.ndarray, sample_rate: int, cutoff: float) -> np.ndarray:
    spec = np.fft.rfft(x)
    spec[np.fft.rfftfreq(len(x), 1 / sample_rate) > cutoff] = 0
    return np.fft.irfft(spec, len(x))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default="/usr/share/games/fillets-ng", help="fillets-ng data folder")
    ap.add_argument("--files", type=int, default=8, help="utterances drawn at random")
    ap.add_argument("--seconds", type=float, default=3.0, help="first seconds of each")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    files = sorted(Path(args.root).rglob("*.ogg"))
    if not files:
        raise SystemExit(f"Error: no .ogg under {args.root}; install fillets-ng-data-cs (make data)")
    cfg = MelConfig()
    hop = cfg.hop_length
    pick = np.random.default_rng(args.seed).choice(len(files), min(args.files, len(files)), replace=False)
    rows = []
    print(f"{'utterance':<24} {'blocks':>6} {'corr s_':>8} {'corr e':>7} {'corr e<1k':>9} {'var e<1k':>8} {'R2 sine':>8}")
    for i in pick:
        wav = load_wav(files[i], cfg.sample_rate)[: int(args.seconds * cfg.sample_rate)]
        T = (len(wav) // hop) * hop
        if T < 4 * BLOCK:
            continue
        wav = wav[:T]
        mel = np.asarray(log_mel_spectrogram(wav, cfg))[:, : T // hop]
        a = np.asarray(lpc_from_mel(mel, cfg, order=16, preemphasis=0.85))
        f0, voiced = f0_from_waveform(wav, cfg)
        v = voicing_per_sample(voiced, T, hop)
        phase = fundamental_phase(wav, f0, voiced, cfg)
        sp = preemphasize(torch.from_numpy(wav).double()[None], 0.85)
        a_t = torch.from_numpy(np.repeat(a, hop, axis=0)).double()[None]
        e = (sp - predict(sp, a_t))[0].numpy()
        s = sp[0].numpy()
        e_low = lowpass(e, cfg.sample_rate, 1000.0)
        src = sine_source(torch.from_numpy(phase)[None], torch.from_numpy(v)[None], 8)[0].numpy()
        stats = []
        f0_sample = np.repeat(f0, hop)[:T]
        for start in range(2 * BLOCK, T - BLOCK, BLOCK):
            if v[start : start + BLOCK].min() < 1:
                continue
            period = int(round(cfg.sample_rate / np.median(f0_sample[start : start + BLOCK])))
            y, X = e[start : start + BLOCK], src[start : start + BLOCK]
            coef, *_ = np.linalg.lstsq(X, y, rcond=None)
            stats.append((best_lag_correlation(s, start, period), best_lag_correlation(e, start, period),
                          best_lag_correlation(e_low, start, period),
                          float(np.var(e_low[start : start + BLOCK]) / np.var(y)),
                          float(1 - np.var(y - X @ coef) / np.var(y))))
        if not stats:
            continue
        med = np.median(np.array(stats), axis=0)
        rows.append(med)
        print(f"{files[i].stem:<24} {len(stats):>6} " + " ".join(f"{m:>8.2f}" for m in med))
    if rows:
        print(f"{'median of utterances':<24} {'':>6} " + " ".join(f"{m:>8.2f}" for m in np.median(rows, axis=0)))


if __name__ == "__main__":
    main()
