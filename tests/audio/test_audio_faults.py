"""`wavekit preprocess` under real faults: a full disk, a folder it may not write, Ctrl-C, SIGKILL.

A write failure is the output's fault, never the input's: it must not land in
rejects.tsv, must stop the run with one `Error:` line naming the path, and a
rerun after fixing it must finish the job.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner
from fault_helpers import (
    _NOBODY,
    child_env,
    children_of,
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

from wavekit.atomic import atomic_path
from wavekit.cli import cli


def make_corpus(folder: Path, n: int, seconds: float = 1.0, corrupt: bool = False) -> Path:
    """``n`` one-second 16 kHz tones of different pitch (plus a corrupt file sorted first)."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16000 * seconds)) / 16000
    for i in range(n):
        sf.write(folder / f"tone{i}.wav", (0.3 * np.sin(2 * np.pi * (200 + 50 * i) * t)).astype(np.float32), 16000)
    if corrupt:
        (folder / "a_corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00not a wave file" * 20)
    return folder


def preprocess(*args: object):
    return CliRunner().invoke(cli, ["preprocess", *map(str, args), "-q", "--valid-count", "1", "--test-count", "1"])


def test_full_disk_is_never_a_reject_and_a_rerun_finishes(tmp_path: Path) -> None:
    src = make_corpus(tmp_path / "src", 6, corrupt=True)
    with small_disk(tmp_path / "disk", 160) as disk:  # room for about 3 of the 6 items (52 KB each)
        out = disk.path / "dump"
        first = preprocess(src, out)
        line = error_line(first)
        assert "no space left" in line and str(out / "items") in line and "rerun the same command" in line
        done = sorted((out / "items").glob("*.npz"))
        assert 0 < len(done) < 6
        for p in done:  # what is there under a final name is whole
            with np.load(p) as z:
                assert z["wav"].shape == (16000 // 256 * 256,) and z["mel"].shape == (80, 16000 // 256)
        assert no_temporaries(out) == []
        rejects = (out / "rejects.tsv").read_text() if (out / "rejects.tsv").exists() else ""
        assert "tone" not in rejects  # only the corrupt file may be a reject

        disk.resize(2048)
        second = preprocess(src, out)
        assert second.exit_code == 0, second.output
        assert "kept 6 items" in second.output and "rejected 1 files" in second.output
        assert (out / "rejects.tsv").read_text().count("\n") == 1 and "a_corrupt.wav" in (out / "rejects.tsv").read_text()
        assert len((out / "manifest.jsonl").read_text().splitlines()) == 6


def _limit_file_size(limit: int):
    def preexec() -> None:  # in the child: every file it writes may hold at most `limit` bytes
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_file_size_limit_is_never_a_reject(tmp_path: Path) -> None:
    """The same without root: RLIMIT_FSIZE makes every item write fail (EFBIG) in a real child process."""
    src = make_corpus(tmp_path / "src", 3)
    out = tmp_path / "dump"
    limited = subprocess.run(wavekit_cmd("preprocess", src, out, "-q"), env=child_env(), capture_output=True,
                             text=True, timeout=300, check=False, preexec_fn=_limit_file_size(40_000))
    line = process_error_line(limited)
    assert "file size limit" in line and str(out / "items") in line
    assert not (out / "rejects.tsv").exists() or (out / "rejects.tsv").read_text() == ""
    assert list((out / "items").iterdir()) == []
    rerun = preprocess(src, out)
    assert rerun.exit_code == 0, rerun.output
    assert "kept 3 items" in rerun.output and "rejected 0 files" in rerun.output


def test_read_only_output_folder_is_one_error_before_any_work(tmp_path: Path) -> None:
    prefix = unprivileged()
    src = make_corpus(tmp_path / "src", 2)
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o555)  # owned by root: the unprivileged process may not write here
    if prefix == _NOBODY:
        world_dir(src)
    proc = subprocess.run(prefix + wavekit_cmd("preprocess", src, locked / "dump", "-q"), env=child_env(HOME="/tmp"),
                          capture_output=True, text=True, timeout=300, check=False)
    line = process_error_line(proc)
    assert "permission denied" in line and str(locked / "dump") in line
    assert list(locked.iterdir()) == []


def test_ctrl_c_while_workers_start_prints_no_worker_traceback(tmp_path: Path) -> None:
    src = make_corpus(tmp_path / "src", 4)
    proc = subprocess.Popen(wavekit_cmd("preprocess", src, tmp_path / "dump", "-j", "2", "-q"), env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=default_sigint)  # noqa: PLW1509 (only resets one signal)
    try:
        # the pool's workers (and multiprocessing's resource tracker) are spawned: they are starting up now
        wait_for(lambda: len(children_of(proc.pid)) >= 3 or proc.poll() is not None, 300, "preprocess workers")
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole process group
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert "interrupted: finished work is kept" in err


def test_temporaries_of_killed_writers_are_removed_on_the_next_run(tmp_path: Path) -> None:
    src = make_corpus(tmp_path / "src", 3)
    out = tmp_path / "dump"
    assert preprocess(src, out).exit_code == 0
    code = ("import sys, time\nfrom wavekit.atomic import atomic_path\n"
            "with atomic_path(sys.argv[1]) as t:\n    t.write_bytes(b'half written')\n    print(t, flush=True)\n"
            "    time.sleep(600)\n")
    writer = subprocess.Popen([sys.executable, "-c", code, str(out / "items" / "new.npz")],
                              env=child_env(), stdout=subprocess.PIPE, text=True)
    stale = Path(writer.stdout.readline().strip())
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=60)
    writer.stdout.close()
    assert stale.is_file()  # SIGKILL runs no clean-up
    with atomic_path(out / "items" / "mine.npz") as mine:  # a live writer's temporary (this process)
        mine.write_bytes(b"in progress")
        rerun = preprocess(src, out)
        assert rerun.exit_code == 0, rerun.output
        assert not stale.exists()
        assert mine.is_file()


def test_unknown_mel_key_names_the_yaml_file(tmp_path: Path) -> None:
    conf = tmp_path / "feats.yaml"
    conf.write_text("mel:\n  hop: 200\n")
    result = preprocess(make_corpus(tmp_path / "src", 1), tmp_path / "dump", "--config", conf)
    line = error_line(result)
    assert str(conf) in line and "mel.hop" in line
