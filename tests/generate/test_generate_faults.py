"""`wavekit vocode` under real faults: full disk (before and during a run), a folder it may not write,
a path through a file, an empty mel and a real Ctrl-C; finished files are always kept."""

from __future__ import annotations

import os
import signal
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from fault_helpers import (
    _NOBODY,
    child_env,
    default_sigint,
    error_line,
    no_temporaries,
    process_error_line,
    small_disk,
    unprivileged,
    wait_for,
    wavekit_cmd,
    world_dir,
)
from test_generate_cli import write_checkpoint, write_mels

import wavekit
from wavekit.errors import OutputError
from wavekit.generate.vocode import vocode_files


def vocode(*args: object):
    return CliRunner().invoke(wavekit.cli.cli, ["vocode", *map(str, args)])


@pytest.fixture
def ck(tmp_path: Path) -> Path:
    return write_checkpoint(tmp_path / "ck.pt")[0]


def test_output_path_through_a_file_is_one_error(tmp_path: Path, ck: Path) -> None:
    (tmp_path / "somefile").write_text("not a folder")
    line = error_line(vocode("-c", ck, write_mels(tmp_path / "mel"), "-o", tmp_path / "somefile" / "sub"))
    assert "not a folder" in line and str(tmp_path / "somefile" / "sub") in line


def test_too_little_space_is_refused_before_generating(tmp_path: Path, ck: Path) -> None:
    mels = write_mels(tmp_path / "mel", count=3, frames=40)  # 3 x 20 KB of 16-bit audio
    with small_disk(tmp_path / "disk", 16) as disk:
        line = error_line(vocode("-c", ck, mels, "-o", disk.path / "out"))
        assert "not enough space" in line and str(disk.path / "out") in line and "the 3 wav file(s)" in line
        assert list((disk.path / "out").iterdir()) == []


def test_disk_filling_mid_run_keeps_finished_files_and_skip_existing_finishes(tmp_path: Path, ck: Path) -> None:
    model = wavekit.load(ck)
    mels = write_mels(tmp_path / "mel", count=2, frames=20)
    reference = vocode_files(model, [mels], tmp_path / "ref", slots=1, seed=3)
    with small_disk(tmp_path / "disk", 128) as disk:
        out = disk.path / "out"
        filler = disk.path / "filler"

        def fill_disk(_: Path) -> None:  # another program takes the rest of the disk after the first file
            if filler.exists():
                return
            with open(filler, "wb", buffering=0) as f:
                try:
                    while True:
                        f.write(b"\0" * 4096)
                except OSError:
                    pass

        with pytest.raises(OutputError) as err:
            vocode_files(model, [mels], out, slots=1, seed=3, on_file=fill_disk)
        message = str(err.value)
        assert "no space left" in message and str(out / "u1.wav") in message and "--skip-existing" in message
        assert (out / "u0.wav").read_bytes() == reference[0].read_bytes()
        assert not (out / "u1.wav").exists() and no_temporaries(out) == []

        filler.unlink()
        assert vocode_files(model, [mels], out, slots=1, seed=3, skip_existing=True) == [out / "u1.wav"]
        for ref in reference:
            assert (out / ref.name).read_bytes() == ref.read_bytes()


def test_permission_denied_folder_fails_before_generating(tmp_path: Path, ck: Path) -> None:
    prefix = unprivileged()
    mels = write_mels(tmp_path / "mel", count=1, frames=4)
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)
    if prefix == _NOBODY:
        world_dir(mels)
        os.chmod(ck, 0o644)
    proc = subprocess.run(prefix + wavekit_cmd("vocode", "-c", ck, mels, "-o", locked), env=child_env(HOME="/tmp"),
                          capture_output=True, text=True, timeout=300, check=False)
    line = process_error_line(proc)
    assert "permission denied" in line and str(locked) in line
    assert list(locked.iterdir()) == []


def test_empty_mel_is_one_error_without_numpy_warnings(tmp_path: Path, ck: Path) -> None:
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((80, 0), np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = error_line(vocode("-c", ck, empty, "-o", tmp_path / "out"))
    assert str(empty) in line and "no frames" in line
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_ctrl_c_keeps_finished_files_and_names_skip_existing(tmp_path: Path) -> None:
    ck, _ = write_checkpoint(tmp_path / "ck8.pt", cin=8)  # 8 bands: a long utterance's conditioning stays small
    mels = tmp_path / "mel"
    mels.mkdir()
    rng = np.random.default_rng(0)
    np.save(mels / "a.npy", rng.standard_normal((8, 2)).astype(np.float32))  # done at once
    np.save(mels / "b.npy", rng.standard_normal((8, 8000)).astype(np.float32))  # two million samples: many seconds
    out = tmp_path / "out"
    proc = subprocess.Popen(wavekit_cmd("vocode", "-c", ck, mels, "-o", out, "--slots", "1"), env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=default_sigint)  # noqa: PLW1509 (only resets one signal)
    try:
        wait_for(lambda: (out / "a.wav").exists() or proc.poll() is not None, 300, "the first file")
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    assert "rerun the same command with --skip-existing" in err
    wav, rate = sf.read(out / "a.wav", dtype="int16")
    assert rate == 16000 and len(wav) == 2 * 256
    assert not (out / "b.wav").exists() and no_temporaries(out) == []
