"""Copy synthesis of a fixed held-out list: real speech -> mel -> vocoder, scored beside the classical baselines.

The held-out list is a TSV file (``#`` lines are comments) with a header and
the columns ``id, speaker, group, path``: ``group`` names the set an
utterance is reported in (e.g. ``trained speakers`` and ``held-out speaker
hs``), ``path`` is the audio file, relative to ``root`` (or absolute).

:func:`copy_synthesis` treats every item as ``wavekit preprocess`` would
(resampled to the vocoder's rate, cut to a whole number of frames and to at
most ``max_seconds``, stored as 16-bit PCM), takes its log-mel with the
vocoder's own mel settings and normalisation, vocodes it (through the
mel-consistency postfilter by default, keeping the network's own output
too), makes the baselines of :mod:`wavekit.eval.baselines` from the same mel,
and scores them all with :func:`wavekit.eval.speech.evaluate_speech`, group
by group. Layout of ``out``::

    ref/<g>/<id>.wav  mel/<g>/<id>.npy  gen/<g>/<id>.wav  gen_raw/<g>/<id>.wav  baselines/<name>/<g>/<id>.wav
    eval/<g>/speech_metrics.json  eval/<g>/speech_metrics_raw.json  eval/<g>/baseline_<name>.json
    (each result carries "group"; gen_raw and speech_metrics_raw only with the postfilter)

where ``<g>`` is ``<n>_<group label>``, numbered in list order

so ``wavekit eval report OUT`` puts the model beside the baselines once per
group. Finished files are kept on a rerun.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wavekit.atomic import write_text_atomic
from wavekit.errors import DataError
from wavekit.eval.baselines import BASELINE_LABELS, BASELINES, synthesize_baseline
from wavekit.eval.speech import jsonable

COLUMNS = ("id", "speaker", "group", "path")
PCM_SCALE = 32768.0


@dataclass(frozen=True)
class HeldoutItem:
    """One held-out utterance: its id (output file stem), speaker, report group and audio file."""

    id: str
    speaker: str
    group: str
    path: Path


def read_heldout_list(path: str | Path, root: str | Path | None = None) -> list[HeldoutItem]:
    """The items of a held-out list TSV (see the module docstring); DataError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"held-out list {path} not found")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    if not rows or any(c not in rows[0] for c in COLUMNS):
        raise DataError(f"{path}: a held-out list needs a header with the columns {', '.join(COLUMNS)} (tab-separated)")
    base = Path(root) if root is not None else path.parent
    items = [HeldoutItem(r["id"], r["speaker"], r["group"], Path(r["path"]) if Path(r["path"]).is_absolute()
                         else base / r["path"]) for r in rows]
    ids = [it.id for it in items]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise DataError(f"{path}: the id {dup[0]!r} appears twice; ids name the output files")
    return items


def pick(items: Sequence[HeldoutItem], per_group: int | None = None) -> list[HeldoutItem]:
    """The first ``per_group`` items of every group, in list order (all of them for None)."""
    if per_group is None:
        return list(items)
    if per_group < 1:
        raise DataError(f"per_group must be at least 1, got {per_group}")
    count: dict[str, int] = {}
    out = []
    for it in items:
        if count.get(it.group, 0) < per_group:
            out.append(it)
            count[it.group] = count.get(it.group, 0) + 1
    return out


def slug(group: str, index: int) -> str:
    """The folder name of the ``index``-th group (from 1, so folders sort in list order)."""
    return f"{index}_" + (re.sub(r"[^A-Za-z0-9._-]+", "_", group).strip("_") or "group")


def groups_of(items: Sequence[HeldoutItem]) -> list[str]:
    return list(dict.fromkeys(it.group for it in items))


def prepare_item(item: HeldoutItem, out: Path, folder: str, mel_config: Any, stats: Any, max_seconds: float) -> Path:
    """Write ``out/ref/<folder>/<id>.wav`` and the normalised mel ``out/mel/<folder>/<id>.npy``; returns the mel path."""
    from wavekit.audio.features import log_mel_spectrogram
    from wavekit.audio.io import load_wav, save_wav

    ref = out / "ref" / folder / f"{item.id}.wav"
    mel_path = out / "mel" / folder / f"{item.id}.npy"
    if ref.is_file() and mel_path.is_file():
        return mel_path
    if not item.path.is_file():
        raise DataError(f"held-out audio {item.path} not found; install the corpus (make data) or pass its --root")
    wav = load_wav(item.path, mel_config.sample_rate)
    frames = mel_config.frames(len(wav))
    if max_seconds > 0:
        frames = min(frames, int(max_seconds * mel_config.sample_rate) // mel_config.hop_length)
    if frames < 1:
        raise DataError(f"{item.path}: too short for one mel frame")
    pcm = np.clip(np.round(wav[: frames * mel_config.hop_length] * PCM_SCALE), -32768, 32767) / PCM_SCALE
    pcm = pcm.astype(np.float32)
    mel = stats.normalize(log_mel_spectrogram(pcm, mel_config)).astype(np.float32)
    mel_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = mel_path.with_name(f".{mel_path.stem}.tmp.npy")
    np.save(tmp, mel)
    tmp.replace(mel_path)
    save_wav(ref, pcm, mel_config.sample_rate)
    return mel_path


def _write_json(path: Path, result: dict) -> None:
    write_text_atomic(path, json.dumps(jsonable(result), indent=2, ensure_ascii=False) + "\n")


def copy_synthesis(
    vocoder: Any,
    items: Sequence[HeldoutItem],
    out: str | Path,
    *,
    max_seconds: float = 2.0,
    temperature: float = 1.0,
    seed: int = 0,
    slots: int = 8,
    baselines: Sequence[str] = BASELINES,
    system: str = "WaveNet",
    postfilter: bool = True,
    on_samples: Callable[[int], None] | None = None,
) -> dict[str, dict[str, dict]]:
    """Vocode ``items`` with ``vocoder`` and score it and ``baselines`` per group; see the module docstring.

    ``vocoder``: a :class:`wavekit.checkpoint.LoadedModel`, or a checkpoint path / ``"pretrained:vocoder"``.
    ``postfilter``: the vocoder's output goes through the mel-consistency postfilter
    (:mod:`wavekit.audio.postfilter`); the network's output before it is then kept in
    ``out/gen_raw`` and scored as ``"model_raw"``.
    Returns ``{group: {"model": result, ["model_raw": result,] <baseline name>: result, ...}}`` (results of
    :func:`~wavekit.eval.speech.evaluate_speech`, each with ``"group"``); the JSON files are written too.
    """
    from wavekit.audio.io import save_wav
    from wavekit.checkpoint import LoadedModel, load
    from wavekit.eval.speech import evaluate_speech
    from wavekit.generate.vocode import OutputOptions, audio_settings, vocode_files

    if not items:
        raise DataError("no held-out items to copy-synthesise")
    loaded = vocoder if isinstance(vocoder, LoadedModel) else load(vocoder)
    settings = audio_settings(loaded)
    if settings.mel is None or settings.stats is None:
        raise DataError(f"{loaded.path} does not record its mel settings and statistics; it cannot analyse audio")
    mel_cfg, stats = settings.mel, settings.stats
    out = Path(out)
    results: dict[str, dict[str, dict]] = {}
    for index, group in enumerate(groups_of(items), 1):
        mine = [it for it in items if it.group == group]
        g = slug(group, index)
        mels = [prepare_item(it, out, g, mel_cfg, stats, max_seconds) for it in mine]
        raw_dir = out / "gen_raw" / g if postfilter else None
        vocode_files(loaded, mels, out / "gen" / g, slots=slots, temperature=temperature, seed=seed,
                     skip_existing=True, output=OutputOptions(postfilter, raw_dir), on_samples=on_samples)
        for name in baselines:
            for m in mels:
                target = out / "baselines" / name / g / f"{m.stem}.wav"
                if not target.is_file():
                    raw = stats.denormalize(np.load(m))
                    save_wav(target, synthesize_baseline(name, raw, mel_cfg, seed=seed), mel_cfg.sample_rate)
        refs = [out / "ref" / g]
        model = evaluate_speech(refs, out / "gen" / g, system=system)
        results[group] = {"model": {**model, "group": group}}
        _write_json(out / "eval" / g / "speech_metrics.json", results[group]["model"])
        if raw_dir is not None and all((raw_dir / f"{m.stem}.wav").is_file() for m in mels):
            raw = evaluate_speech(refs, raw_dir, system=f"{system}, no postfilter")
            results[group]["model_raw"] = {**raw, "group": group}
            _write_json(out / "eval" / g / "speech_metrics_raw.json", results[group]["model_raw"])
        for name in baselines:
            res = evaluate_speech(refs, out / "baselines" / name / g, system=BASELINE_LABELS[name], baseline=True)
            results[group][name] = {**res, "group": group}
            _write_json(out / "eval" / g / f"baseline_{name}.json", results[group][name])
    return results


def summary_rows(results: dict[str, dict[str, dict]]) -> list[dict[str, Any]]:
    """One flat row per (group, system): the mean of every metric, for tables and model cards."""
    rows = []
    for group, systems in results.items():
        for key, res in systems.items():
            rows.append({"group": group, "system": res.get("system", key), "baseline": bool(res.get("baseline")),
                         **res["mean"]})
    return rows


def card_check(
    vocoder: Any, items: Sequence[HeldoutItem], out: str | Path, *, max_seconds: float, seed: int = 0
) -> dict[str, dict[str, float]]:
    """The check figures of a vocoder's model card: ``{group: {metric: mean}}`` over ``items``, model only.

    What ``tests/pretrained/test_vocoder_card.py`` recomputes and
    ``recipes/fillets_cs/local/vocoder_card.py`` writes into the card (a few short
    held-out utterances, seeded, no baselines), so the two can never measure differently.
    """
    from wavekit.eval.speech import METRIC_KEYS

    results = copy_synthesis(vocoder, items, out, max_seconds=max_seconds, seed=seed, baselines=())
    return {group: {k: float(r["model"]["mean"][k]) for k in METRIC_KEYS if k in r["model"]["mean"]}
            for group, r in results.items()}
