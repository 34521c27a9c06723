"""Thread settings: explicit choices win, auto never oversubscribes, the Trainer logs what it chose."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from wavekit import threads as T


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(T, "_current", None)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    yield
    torch.set_num_threads(before)


def test_explicit_threads_win_over_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert T.plan(2).threads == 2 and T.plan(2).source == "--threads"
    p = T.plan(None)
    assert (p.threads, p.source) == (3, "OMP_NUM_THREADS")


def test_auto_leaves_busy_cores_and_workers_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(T, "usable_cores", lambda: 4)
    monkeypatch.setattr(T, "busy_cores", lambda seconds=0.1: 0.0)
    assert T.plan(None).threads == 4
    assert T.plan(None, workers=1).threads == 3  # a loader worker takes a core
    monkeypatch.setattr(T, "busy_cores", lambda seconds=0.1: 1.0)  # a neighbour holds one core
    assert T.plan(None).threads == 3
    monkeypatch.setattr(T, "busy_cores", lambda seconds=0.1: 9.0)  # an overloaded machine
    assert T.plan(None).threads == 1
    p = T.plan(None, workers=8)
    assert p.workers == 3 and p.threads == 1  # workers capped at the cores


def test_local_world_size_splits_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(T.os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert T.usable_cores() == 2


def test_busy_cores_is_a_fraction_of_the_machine() -> None:
    busy = T.busy_cores(0.05)
    assert 0.0 <= busy <= (T.os.cpu_count() or 1) + 1e-9


def test_apply_sets_torch_and_is_remembered() -> None:
    p = T.configure(1)
    assert torch.get_num_threads() == 1 and T.current() == p
    assert "torch 1 intra-op" in p.describe() and "--threads" in p.describe()


def test_trainer_auto_never_raises_torch_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(T, "usable_cores", lambda: 4)
    monkeypatch.setattr(T, "busy_cores", lambda seconds=0.1: 0.0)
    torch.set_num_threads(1)
    assert T.for_training(0, 0).threads == 1  # a library user's pin stays
    assert T.for_training(2, 0).threads == 2  # train.threads is explicit
    assert torch.get_num_threads() == 2


def test_command_auto_keeps_a_callers_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command run in-process (click's runner) must not raise a pinned thread count: the
    suite's Tacotron fixture trained with 2 threads on an idle machine and its numerics moved."""
    from wavekit.cli import cli

    monkeypatch.setattr(T, "usable_cores", lambda: 4)
    monkeypatch.setattr(T, "busy_cores", lambda seconds=0.1: 0.0)
    assert T.plan().threads == 4  # auto on an idle 4-core machine ...
    torch.set_num_threads(1)
    assert CliRunner().invoke(cli, ["info", "--help"]).exit_code == 0
    assert torch.get_num_threads() == 1  # ... yet the caller's pin stays
    assert T.current() is not None and T.current().threads == 1
    torch.set_num_threads(3)
    assert T.for_command(None).threads == 3  # below the free cores, torch's count is kept
    assert T.for_command(2).threads == 2 and torch.get_num_threads() == 2  # --threads is explicit


def test_wavekit_train_prints_the_thread_plan(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import train_tiny  # noqa: F401  (registers the tiny kind)

    from wavekit.cli import cli

    conf = tmp_path / "c.yaml"
    conf.write_text("kind: tiny_test\nmodel: {}\ndata: {items: 8}\ntrain: {steps: 2, batch_size: 4, device: cpu, "
                    "eval_every: 0}\n")
    result = CliRunner().invoke(cli, ["--threads", "1", "train", "--config", str(conf), "-o",
                                      str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "threads: torch 1 intra-op / 1 inter-op, data-loader workers 0 (--threads" in result.output


@pytest.mark.skipif(T.usable_cores() < 2, reason="needs two cores: the neighbour takes one")
def test_contention_row_sees_its_neighbour_and_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from wavekit.generate import bench_train

    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(bench_train.subprocess, "Popen", recording_popen)
    row = bench_train.contention_row(batch=1, crop=1024, steps=1, rounds=1)
    assert row is not None and len(started) == 1
    assert started[0].poll() is not None  # the neighbour was stopped
    assert row["busy_cores_seen"] >= 0.7  # the probe saw it spin
    assert row["contended_threads"] <= T.usable_cores() - 1  # and the plan left its core alone
    assert row["idle_samples_per_s"] > 0 and row["contended_samples_per_s"] > 0
    assert row["slowdown"] == pytest.approx(1 - row["contended_samples_per_s"] / row["idle_samples_per_s"])
