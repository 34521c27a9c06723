"""Vocoding: mel ``.npy`` files, audio files (copy synthesis) or folders -> waveforms.

A run is checked once, up front, into a :class:`~wavekit.generate.plan.VocodePlan`
(:func:`~wavekit.generate.plan.plan_vocode`: inputs, speaker, audio settings,
every mel, the output folder), then :func:`run_plan` generates it: every
input goes through one :class:`~wavekit.generate.engine.GenerationEngine`,
so many files are generated together in its batch slots; each finished
waveform is written atomically (``wavekit.audio.save_wav``) as soon as it is
done, so an interrupted run keeps its finished files. :func:`vocode_files`
does both.

The input checks (:func:`resolve_speaker`, :func:`audio_settings`,
:func:`collect_inputs`, :func:`load_mel`, ...) live in :mod:`wavekit.generate.plan`
and are importable from here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wavekit.audio.io import save_wav
from wavekit.checkpoint import model_of
from wavekit.errors import OutputError
from wavekit.generate.engine import GenerationEngine
from wavekit.generate.plan import (
    MEL_SUFFIX,
    AudioSettings,
    OutputOptions,
    VocodePlan,
    audio_settings,
    check_sampling,
    collect_inputs,
    load_mel,
    plan_vocode,
    resolve_speaker,
    speaker_names,
)

__all__ = [
    "MEL_SUFFIX", "AudioSettings", "OutputOptions", "RateMeter", "VocodePlan", "audio_settings", "check_sampling",
    "collect_inputs", "load_mel", "plan_vocode", "realtime_factor", "resolve_speaker", "run_plan", "speaker_names", "vocode_files",
]


def vocode_files(
    model: Any,
    inputs: Sequence[str | Path],
    outdir: str | Path,
    *,
    slots: int = 8,
    temperature: float = 1.0,
    seed: int = 0,
    device: str | None = None,
    speaker: str | int | None = None,
    skip_existing: bool = False,
    output: OutputOptions = OutputOptions(),
    on_samples: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Vocode every input into ``outdir/<stem>.wav``; returns the paths written, in input order.

    Input i uses seed ``seed + i`` (i counts every input, skipped or not, so
    a resumed run writes what an uninterrupted one would). ``speaker``: see
    :func:`resolve_speaker` (every input gets the same one). ``skip_existing``:
    leave inputs whose wav already exists alone. All inputs are checked
    before any generation starts (:func:`plan_vocode`), so a bad file fails
    fast. ``device``: where the engine runs (default the model's; "cuda": the
    torch step replayed as a CUDA graph). ``output``: the postfilter (on by
    default: each output's log-mel matched to its mel, :mod:`wavekit.audio.postfilter`;
    skipped for a checkpoint without mel settings) and where the network's
    output before it goes (:class:`~wavekit.generate.plan.OutputOptions`). ``model``: a
    :class:`~wavekit.checkpoint.LoadedModel` (or a model from ``wavekit.load``).
    """
    plan = plan_vocode(
        model, inputs, outdir, slots=slots, temperature=temperature, seed=seed, device=device, speaker=speaker,
        skip_existing=skip_existing, output=output,
    )
    return run_plan(model, plan, on_samples=on_samples, on_file=on_file)


def run_plan(
    model: Any,
    plan: VocodePlan,
    *,
    on_samples: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Generate and write what ``plan`` (built by :func:`plan_vocode` for this ``model``) says; nothing is
    checked again. Returns the paths written, in input order; ``on_samples(n)`` after every engine
    call, ``on_file(path)`` after every written file."""
    if not plan.todo:
        return []
    engine = GenerationEngine(model_of(model), slots=plan.engine.slots, device=plan.engine.device)
    for request in plan.requests():
        engine.submit(request)
    written: dict[int, Path] = {}
    mel_of = dict(zip(plan.todo, plan.mels))
    for i, wav in engine.run(progress=on_samples):
        target = plan.targets[i]
        try:
            if plan.write.raw_targets is not None:
                save_wav(plan.write.raw_targets[i], wav, plan.sample_rate)
            if plan.write.postfilter is not None:
                wav = plan.write.postfilter.apply(wav, mel_of[i])
            save_wav(target, wav, plan.sample_rate)
        except OutputError as e:
            raise OutputError(f"{e}; the {len(written)} file(s) finished so far are kept: "
                              "rerun with --skip-existing to vocode only the rest") from None
        written[i] = target
        if on_file is not None:
            on_file(target)
    return [written[i] for i in sorted(written)]


def realtime_factor(seconds: float, samples: int, sample_rate: int) -> float:
    """Seconds of compute per second of audio."""
    return seconds / max(samples / sample_rate, 1e-12)


class RateMeter:
    """Samples/s and real-time factor since creation, for progress bars."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.start = time.perf_counter()
        self.samples = 0

    def add(self, n: int) -> dict[str, str]:
        self.samples += n
        dt = time.perf_counter() - self.start
        return {"samples/s": f"{self.samples / max(dt, 1e-9):.0f}", "RTF": f"{realtime_factor(dt, self.samples, self.sample_rate):.2f}"}
