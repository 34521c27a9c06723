"""Evaluation: objective metrics, plots and experiment reports.

``wavekit.eval.metrics``: mel-cepstral distortion, log-spectral distance,
SNR, held-out NLL and bits/dim; ``wavekit.eval.perceptual``: STOI and
wide-band PESQ; ``wavekit.eval.pitch``: F0 RMSE (cents) and V/UV error.
``wavekit.eval.speech``: folder-level reference-vs-generated evaluation.
``wavekit.eval.baselines``: Griffin-Lim, LPC + white noise and that noise postfiltered, from the mel;
``wavekit.eval.compare``: the report's model-vs-baselines table. ``wavekit.eval.plots``: PNG figures.
``wavekit.eval.report``: ``report.md`` for a recipe experiment folder.
"""

from __future__ import annotations

from wavekit.eval.metrics import (
    NLLResult,
    SpectralConfig,
    bits_per_dim,
    held_out_nll,
    log_spectral_distance,
    mcd_from_cepstra,
    mel_cepstral_distortion,
    mel_cepstrum,
    snr_db,
    speech_metrics,
)

__all__ = [
    "NLLResult",
    "SpectralConfig",
    "bits_per_dim",
    "held_out_nll",
    "log_spectral_distance",
    "mcd_from_cepstra",
    "mel_cepstral_distortion",
    "mel_cepstrum",
    "snr_db",
    "speech_metrics",
]
