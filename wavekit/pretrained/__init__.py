"""The models embedded in the package: an explicit registry, so wavekit speaks with no checkpoint argument.

``wavekit.load("pretrained:vocoder")`` and ``wavekit.load("pretrained:en")``
load them like any checkpoint (:func:`wavekit.checkpoint.load`,
``torch.load(weights_only=True)``: opening one never runs code from it); the
CLI's ``vocode`` and ``synthesize`` use them when no checkpoint is given, and
``wavekit info`` lists them. Each is a normal wavekit checkpoint, stripped of
its optimizer state (:func:`wavekit.checkpoint.strip_checkpoint`), shipped as package data beside
its model card (``<name>.md``) and training curves.

A card holds its figures as one fenced ``json`` block under a ``## Check
figures`` heading; :func:`card_figures` parses it, so a test can check the
model against its own card.

The vocoder's held-out figures come from :mod:`wavekit.eval.copy_synthesis` on the
fixed list its recipe held out (``recipes/fillets_cs/conf/pretrained_heldout.tsv``)::

    from wavekit.eval.copy_synthesis import copy_synthesis, pick, read_heldout_list
    items = pick(read_heldout_list(LIST, root="/usr/share/games/fillets-ng"), per_group=2)
    results = copy_synthesis("pretrained:vocoder", items, tmp_dir, max_seconds=2.0)
    results["held-out speaker hs"]["model"]["mean"]["stoi"]      # also ["griffin_lim"], ["lpc_noise"]

``WAVEKIT_PRETRAINED_DIR`` (environment) points the registry at another folder
holding the same file names (a development copy, or tests).

Ground floor: imports nothing of wavekit but :mod:`wavekit.errors` (:mod:`wavekit.checkpoint`
imports it); :func:`wavekit.checkpoint.strip_checkpoint` strips a trained file for shipping.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wavekit.errors import CheckpointError

PREFIX = "pretrained:"
ENV_DIR = "WAVEKIT_PRETRAINED_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Pretrained:
    """One embedded model: its file (in the package folder), checkpoint kind, what it is, and how to do without it."""

    name: str
    file: str
    kind: str
    description: str
    card: str
    training_data: str
    label: str            # for messages: "the embedded vocoder"
    instead: str          # what to pass when it is missing

    @property
    def spec(self) -> str:
        return PREFIX + self.name


REGISTRY: dict[str, Pretrained] = {
    "vocoder": Pretrained(
        name="vocoder", file="vocoder.pt", kind="wavenet",
        description="source-filter WaveNet vocoder, 16 kHz, 80-band log-mel, no speaker conditioning",
        card="vocoder.md",
        training_data="fillets-ng-data-cs: the Czech speech of every voice but the held-out speaker hs (recipes/fillets_cs, "
                      "conf/pretrained.yaml)",
        label="the embedded vocoder", instead="pass a checkpoint with -c (synthesize: --vocoder)",
    ),
    "en": Pretrained(
        name="en", file="en.pt", kind="tacotron2",
        description="English (en-us) Tacotron 2 acoustic model: text -> 80-band log-mel",
        card="en.md",
        training_data="espeak-ng en-us renderings of English sentences (recipes/espeak)",
        label="the embedded English voice", instead="pass a Tacotron 2 checkpoint with --acoustic",
    ),
}


def folder() -> Path:
    """Where the embedded files are looked up: ``$WAVEKIT_PRETRAINED_DIR`` or the package folder."""
    env = os.environ.get(ENV_DIR, "").strip()
    return Path(env).expanduser() if env else PACKAGE_DIR


def is_spec(value: Any) -> bool:
    """Whether ``value`` names an embedded model (``"pretrained:NAME"``)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def entry(name: str) -> Pretrained:
    """The registry entry of ``name`` (``"vocoder"`` or ``"pretrained:vocoder"``); CheckpointError if unknown."""
    key = name[len(PREFIX):] if is_spec(name) else name
    if key not in REGISTRY:
        raise CheckpointError(f"unknown embedded model {name!r}; the embedded models are "
                              + ", ".join(e.spec for e in REGISTRY.values()))
    return REGISTRY[key]


class PretrainedMissingError(CheckpointError):
    """An embedded model's file is not in this copy of wavekit."""


def path_of(name: str) -> Path:
    """The file of embedded model ``name``, whether or not it exists."""
    return folder() / entry(name).file


def card_path(name: str) -> Path:
    return folder() / entry(name).card


def available(name: str) -> bool:
    return path_of(name).is_file()


def resolve(name: str) -> Path:
    """The existing file of embedded model ``name``; :class:`PretrainedMissingError` (one line) otherwise."""
    e, path = entry(name), path_of(name)
    if not path.is_file():
        raise PretrainedMissingError(
            f"{e.label} is not installed in this copy of wavekit ({path} missing); {e.instead}")
    return path


def resolve_source(source: Any) -> Any:
    """``source`` itself, or the file it names when it is a ``pretrained:NAME`` spec."""
    return resolve(source) if is_spec(source) else source


_CHECK = re.compile(r"^##\s+Check figures\s*$(.*?)(?=^##\s|\Z)", re.MULTILINE | re.DOTALL)
_FENCE = re.compile(r"```json\s*\n(.*?)\n```", re.DOTALL)


def parse_card_figures(text: str, source: str = "model card") -> dict[str, Any]:
    """The JSON object in the fenced ```json block under the card's ``## Check figures`` heading."""
    section = _CHECK.search(text)
    if section is None:
        raise CheckpointError(f"{source}: no '## Check figures' section; add one with a fenced ```json block")
    block = _FENCE.search(section.group(1))
    if block is None:
        raise CheckpointError(f"{source}: the '## Check figures' section has no fenced ```json block")
    try:
        figures = json.loads(block.group(1))
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{source}: the check figures are not valid JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(figures, dict):
        raise CheckpointError(f"{source}: the check figures must be one JSON object")
    return figures


def card_figures(name: str) -> dict[str, Any]:
    """The check figures of embedded model ``name``'s card (see :func:`parse_card_figures`)."""
    path = card_path(name)
    if not path.is_file():
        raise PretrainedMissingError(f"the model card of {entry(name).label} is not installed ({path} missing)")
    return parse_card_figures(path.read_text(encoding="utf-8"), str(path))
