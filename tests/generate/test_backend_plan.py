"""The slot backend contract (one Protocol, each backend imported only when chosen, tensors kept on the torch
backend's device) and the vocode plan (every input checked once, up front; the engine trusts what it gets)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from test_generate_cli import write_checkpoint, write_mels
from test_torch_backend import _requests, tiny

import wavekit
from wavekit.cli import cli
from wavekit.errors import ConfigError, FeatureError
from wavekit.generate import engine as engine_module
from wavekit.generate.backend import SlotBackend
from wavekit.generate.engine import CheckedRequest, GenerationEngine, Request, check_request, make_backend
from wavekit.generate.plan import VocodePlan, plan_vocode
from wavekit.generate.vocode import run_plan, vocode_files

ROOT = Path(__file__).resolve().parents[2]

_TORCH_ENGINE = """
import sys
from wavekit.generate.engine import GenerationEngine, Request
from wavekit.wavenet.config import WaveNetConfig
from wavekit.wavenet.model import WaveNet
cfg = WaveNetConfig(layers=2, stacks=1, residual_channels=4, gate_channels=8, skip_channels=4, cin_channels=0,
                    dropout=0.0)
engine = GenerationEngine(WaveNet(cfg), slots=2, backend="torch")
assert len(engine.generate_all([Request(length=5)])[0]) == 5
print(" ".join(m for m in ("numba", "wavekit.generate.fused", "wavekit.generate.kernels") if m in sys.modules))
"""


@pytest.fixture(scope="module")
def torch_engine_modules() -> str:
    """The modules among numba / fused / kernels that a torch-backend engine (built and run) imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _TORCH_ENGINE], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def test_torch_engine_does_not_import_the_numba_backend(torch_engine_modules):
    assert "wavekit.generate.fused" not in torch_engine_modules.split()
    assert "wavekit.generate.kernels" not in torch_engine_modules.split()


def test_torch_engine_does_not_import_numba(torch_engine_modules):
    assert "numba" not in torch_engine_modules.split()


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_both_backends_satisfy_the_protocol(backend):
    impl = make_backend(tiny(), backend, slots=2, chunk=8, device=torch.device("cpu"), graphs=False, threads=1,
                        dtype=None)
    assert isinstance(impl, SlotBackend)
    assert type(impl).__name__ == {"numba": "NumbaSlots", "torch": "TorchSlots"}[backend]
    assert isinstance(GenerationEngine(tiny(), slots=2, backend=backend).impl, SlotBackend)


def test_torch_backend_takes_tensor_mels_where_they_lie():
    model = tiny("mol")
    as_numpy = GenerationEngine(model, slots=3, backend="torch", chunk=16).generate_all(_requests())
    tensors = [dataclasses.replace(r, mel=torch.from_numpy(r.mel)) for r in _requests()]
    as_tensor = GenerationEngine(model, slots=3, backend="torch", chunk=16).generate_all(tensors)
    for a, b in zip(as_numpy, as_tensor):
        np.testing.assert_array_equal(a, b)
    c = torch.from_numpy(_requests()[2].mel)[None]
    g = torch.tensor([0])
    by_torch = model.generate(c=c, g=g, seed=4, backend="torch")[0].numpy()
    by_numba = model.generate(c=c, g=g, seed=4, backend="numba")[0].numpy()
    np.testing.assert_allclose(by_torch, by_numba, rtol=0, atol=1e-9)


def test_check_request_resolves_the_length_and_the_engine_trusts_checked_requests(monkeypatch):
    model = tiny()
    mel = np.zeros((5, 3))
    checked = check_request(model.config, Request(mel=mel, speaker=1, seed=2, key="a"))
    assert (checked.length, checked.speaker, checked.seed, checked.key) == (12, 1, 2, "a")
    with pytest.raises(ValueError, match="temperature"):
        check_request(model.config, Request(mel=mel, temperature=-1.0))
    with pytest.raises(ValueError, match="exceeds"):
        check_request(model.config, Request(mel=mel, length=13))

    def refuse(*args, **kwargs):
        raise AssertionError("a CheckedRequest was checked again")

    monkeypatch.setattr(engine_module, "check_request", refuse)
    engine = GenerationEngine(model, slots=1)
    assert engine.submit(checked) == "a"
    assert engine.submit(CheckedRequest(mel, 0, 4, 0.0, 3)) == 0  # no key: a running number
    assert [len(w) for _, w in engine.run()] == [12, 4]


# ---- the vocode plan ------------------------------------------------------------------------------


def test_plan_resolves_everything_once_and_is_frozen(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt", gin=4, speakers={"m": 0, "v": 1})
    mels = write_mels(tmp_path / "mel", count=3, frames=2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "u1.wav").write_bytes(b"kept")
    model = wavekit.load(ck)
    plan = plan_vocode(model, [mels], out, slots=2, temperature=0.5, seed=7, speaker="v", skip_existing=True)
    assert isinstance(plan, VocodePlan)
    assert [p.name for p in plan.inputs] == ["u0.npy", "u1.npy", "u2.npy"]
    assert plan.targets == tuple(out / f"u{i}.wav" for i in range(3))
    assert plan.todo == (0, 2) and plan.kept == 1 and plan.speaker == 1
    assert plan.sample_rate == 16000 and plan.hop_length == 256
    assert [m.shape for m in plan.mels] == [(80, 2), (80, 2)] and plan.mels[0].dtype == np.float32
    requests = plan.requests()
    assert [(r.key, r.seed, r.length, r.speaker, r.temperature) for r in requests] == [
        (0, 7, 512, 1, 0.5), (2, 9, 512, 1, 0.5)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.temperature = 1.0  # type: ignore[misc]
    assert run_plan(model, plan) == [out / "u0.wav", out / "u2.wav"]
    assert (out / "u1.wav").read_bytes() == b"kept"


def test_plan_checks_every_input_before_anything_is_written(tmp_path):
    ck, _ = write_checkpoint(tmp_path / "ck.pt")
    mels = write_mels(tmp_path / "mel", count=2)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((40, 3), np.float32))
    model = wavekit.load(ck)
    with pytest.raises(FeatureError, match="bad.npy: mel has 40 bands"):
        vocode_files(model, [mels, bad], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="--temperature must be >= 0"):
        plan_vocode(model, [mels], tmp_path / "out", temperature=float("nan"))


def test_cli_vocode_checks_in_the_plan_only(tmp_path, monkeypatch):
    """`wavekit vocode` hands the engine checked requests: the engine's own request check never runs."""
    ck, _ = write_checkpoint(tmp_path / "ck.pt", gin=4, speakers={"m": 0, "v": 1})
    mels = write_mels(tmp_path / "mel", count=2)

    def refuse(*args, **kwargs):
        raise AssertionError("the engine checked a request of the plan again")

    monkeypatch.setattr(engine_module, "check_request", refuse)
    result = CliRunner().invoke(cli, ["vocode", "-c", str(ck), str(mels), "-o", str(tmp_path / "out"),
                                      "--speaker", "m"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["u0.wav", "u1.wav"]
    result = CliRunner().invoke(cli, ["vocode", "-c", str(ck), str(mels), "-o", str(tmp_path / "o2"),
                                      "--speaker", "x"])
    assert result.exit_code == 1 and f"Error: {ck}: unknown speaker 'x'" in result.output
