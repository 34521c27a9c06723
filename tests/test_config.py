"""Strict YAML -> dataclass loading: unknown keys and wrong types are errors naming the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from wavekit.config import apply_overrides, from_dict, load_yaml, to_dict
from wavekit.errors import ConfigError


@dataclass
class Inner:
    layers: int = 4
    scales: tuple[int, ...] = (4, 4)
    output: Literal["mulaw", "mol"] = "mulaw"

    def __post_init__(self) -> None:
        if self.layers < 1:
            raise ValueError("layers must be >= 1")


@dataclass
class Outer:
    name: str = "x"
    lr: float = 1e-3
    amp: bool = False
    speaker: Optional[int] = None
    model: Inner = field(default_factory=Inner)


def test_defaults_and_nested_values():
    cfg = from_dict(Outer, {"lr": 1, "model": {"layers": 8, "scales": [2, 8]}})
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)
    assert cfg.model.layers == 8 and cfg.model.scales == (2, 8)
    assert cfg.name == "x" and cfg.speaker is None
    assert from_dict(Outer, to_dict(cfg)) == cfg


@pytest.mark.parametrize(
    "data, key",
    [
        ({"nmae": "y"}, "nmae"),
        ({"model": {"layrs": 3}}, "model.layrs"),
        ({"model": {"layers": "3"}}, "model.layers"),
        ({"model": {"layers": 2.5}}, "model.layers"),
        ({"amp": "yes"}, "amp"),
        ({"lr": True}, "lr"),
        ({"model": {"output": "gauss"}}, "model.output"),
        ({"model": {"scales": [4, "a"]}}, "model.scales[1]"),
        ({"speaker": "a"}, "speaker"),
    ],
)
def test_bad_key_or_type_is_named(data, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        from_dict(Outer, data)


def test_post_init_validation_becomes_config_error():
    with pytest.raises(ConfigError, match="layers must be >= 1"):
        from_dict(Outer, {"model": {"layers": 0}})


def test_overrides_parse_yaml_values_and_stay_strict():
    data = apply_overrides({"model": {"layers": 4}}, ["model.layers=20", "model.scales=[2, 2]", "amp=true", "name=run1"])
    cfg = from_dict(Outer, data)
    assert (cfg.model.layers, cfg.model.scales, cfg.amp, cfg.name) == (20, (2, 2), True, "run1")
    with pytest.raises(ConfigError, match="model.nope"):
        from_dict(Outer, apply_overrides({}, ["model.nope=1"]))
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["model.layers"])


def test_load_yaml_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_yaml(bad)
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(lst)
