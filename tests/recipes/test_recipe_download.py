"""Download recipes on local stand-ins laid out like the real corpora: download -> verify -> extract -> prepare."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
import zipfile
from pathlib import Path

import pytest
import soundfile as sf
from recipe_helpers import run_script

from common import standin  # isort: skip (recipe_helpers puts recipes/ on sys.path)
from common.corpus import Archive, extract_archive, fetch_archive, read_checksums, read_manifest

from wavekit.errors import DataError


@pytest.fixture(scope="module")
def standins(espeak_bin, tmp_path_factory) -> Path:
    """Stand-ins of LJSpeech (4 utt), CMU ARCTIC (bdl, slt x 2) and VCTK (p225, p226 x 2), with archives."""
    root = tmp_path_factory.mktemp("standins")
    standin.make_ljspeech(root / "ljspeech", n=4)
    standin.make_cmu_arctic(root / "cmu_arctic", speakers=("bdl", "slt"), n=2)
    standin.make_vctk(root / "vctk", speakers=("p225", "p226"), n=2)
    return root


def _sums(folder: Path) -> Path:
    return folder / "SHA256SUMS"


@pytest.mark.slow
def test_ljspeech_download_verify_prepare(standins, tmp_path):
    src = standins / "ljspeech"
    out = tmp_path / "downloads"
    # the built-in checksum is the real corpus's: the stand-in must be refused, and nothing extracted
    res = run_script("ljspeech", "download.py", "--source", src, "--out", out, "--quiet")
    assert res.returncode == 1 and "checksum mismatch" in res.stderr and "Traceback" not in res.stderr
    assert not (out / "LJSpeech-1.1").exists()
    res = run_script("ljspeech", "download.py", "--source", src, "--checksums", _sums(src), "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    marker = out / "LJSpeech-1.1" / "metadata.csv"
    mtime = marker.stat().st_mtime_ns
    res = run_script("ljspeech", "download.py", "--source", src, "--checksums", _sums(src), "--out", out, "--quiet")
    assert res.returncode == 0 and "already extracted" in res.stdout and marker.stat().st_mtime_ns == mtime
    # an extraction cut short (no completion stamp, a file gone) is redone on the next run
    (out / ".LJSpeech-1.1.tar.bz2.extracted").unlink()
    first_wav = out / "LJSpeech-1.1" / "wavs" / "LJ001-0001.wav"
    first_wav.unlink()
    res = run_script("ljspeech", "download.py", "--source", src, "--checksums", _sums(src), "--out", out, "--quiet")
    assert res.returncode == 0 and "already extracted" not in res.stdout and first_wav.is_file()

    manifest = tmp_path / "ljs.csv"
    res = run_script("ljspeech", "prepare.py", "--root", out, "-o", manifest)
    assert res.returncode == 0, res.stderr
    rows = read_manifest(manifest)
    meta = [line.split("|") for line in (src / "LJSpeech-1.1" / "metadata.csv").read_text().splitlines()]
    assert [r["id"] for r in rows] == [m[0] for m in meta]
    assert [r["text"] for r in rows] == [m[2] for m in meta]  # the normalized column
    assert "eighteen eighty-four" in rows[-1]["text"]
    assert {r["speaker"] for r in rows} == {"LJ"}
    for r in rows:
        info = sf.info(r["path"])
        assert Path(r["path"]).parent == out / "LJSpeech-1.1" / "wavs"
        assert info.samplerate == 22050 and info.channels == 1 and info.subtype == "PCM_16"


@pytest.mark.slow
def test_cmu_arctic_download_verify_prepare(standins, tmp_path):
    src = standins / "cmu_arctic"
    out = tmp_path / "downloads"
    res = run_script("cmu_arctic", "download.py", "--speakers", "bdl,slt", "--source", src,
                     "--checksums", _sums(src), "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    res = run_script("cmu_arctic", "download.py", "--speakers", "bdl,xyz", "--source", src, "--out", out)
    assert res.returncode == 1 and "unknown CMU ARCTIC speaker 'xyz'" in res.stderr

    manifest = tmp_path / "arctic.csv"
    res = run_script("cmu_arctic", "prepare.py", "--root", out, "-o", manifest)
    assert res.returncode == 0, res.stderr
    rows = read_manifest(manifest)
    assert [r["id"] for r in rows] == ["bdl_arctic_a0001", "bdl_arctic_a0002", "slt_arctic_a0001", "slt_arctic_a0002"]
    for r in rows:
        spk, utt = r["id"].split("_", 1)
        listing = (out / f"cmu_us_{spk}_arctic" / "etc" / "txt.done.data").read_text()
        assert f'( {utt} "{r["text"]}" )' in listing
        assert r["speaker"] == spk and sf.info(r["path"]).samplerate == 16000
    res = run_script("cmu_arctic", "prepare.py", "--root", out, "-o", manifest, "--speakers", "slt")
    assert res.returncode == 0 and {r["speaker"] for r in read_manifest(manifest)} == {"slt"}
    res = run_script("cmu_arctic", "prepare.py", "--root", out, "-o", manifest, "--speakers", "rms")
    assert res.returncode == 1 and "rms" in res.stderr and "download" in res.stderr


@pytest.mark.slow
def test_vctk_download_verify_prepare(standins, tmp_path):
    src = standins / "vctk"
    out = tmp_path / "downloads"
    res = run_script("vctk", "download.py", "--source", src / "VCTK-Corpus-0.92.zip",
                     "--checksums", _sums(src), "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    base = out / "VCTK-Corpus-0.92"
    assert (base / "speaker-info.txt").is_file() and (base / "wav48_silence_trimmed" / "p225").is_dir()

    manifest = tmp_path / "vctk.csv"
    res = run_script("vctk", "prepare.py", "--root", out, "-o", manifest)
    assert res.returncode == 0, res.stderr
    rows = read_manifest(manifest)
    assert [r["id"] for r in rows] == ["p225_001", "p225_002", "p226_001", "p226_002"]
    for r in rows:
        assert r["path"].endswith(f"{r['id']}_mic1.flac") and r["speaker"] == r["id"][:4]
        info = sf.info(r["path"])
        assert info.samplerate == 48000 and info.format == "FLAC"
        txt = base / "txt" / r["speaker"] / f"{r['id']}.txt"
        assert r["text"] == (txt.read_text().strip() if txt.exists() else "")
    assert rows[-1]["text"] == ""  # like p315: no transcript
    res = run_script("vctk", "prepare.py", "--root", out, "-o", manifest, "--require-text", "--mic", "mic2")
    assert res.returncode == 0, res.stderr
    rows = read_manifest(manifest)
    assert len(rows) == 3 and all(r["path"].endswith("_mic2.flac") and r["text"] for r in rows)


@pytest.mark.slow
def test_tampered_archive_is_refused(standins, tmp_path):
    src = standins / "ljspeech"
    bad = tmp_path / "mirror"
    bad.mkdir()
    data = bytearray((src / "LJSpeech-1.1.tar.bz2").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "LJSpeech-1.1.tar.bz2").write_bytes(bytes(data))
    res = run_script("ljspeech", "download.py", "--source", bad, "--checksums", _sums(src), "--out", tmp_path / "d")
    assert res.returncode == 1 and "checksum mismatch" in res.stderr
    assert read_checksums(_sums(src))["LJSpeech-1.1.tar.bz2"] in res.stderr  # names the expected checksum


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one payload at /<name>, honouring 'Range: bytes=N-'; records the ranges asked for."""

    payload = b""
    ranges: list = []

    def do_GET(self):  # noqa: N802 (http.server API)
        start = 0
        rng = self.headers.get("Range")
        self.ranges.append(rng)
        if rng:
            start = int(rng.split("=")[1].rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        body = self.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_http_download_resumes_a_partial_file(tmp_path):
    payload = bytes(range(256)) * 4096  # 1 MiB
    _RangeHandler.payload, _RangeHandler.ranges = payload, []
    server = http.server.HTTPServer(("127.0.0.1", 0), _RangeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        arch = Archive(name="corpus.tar.gz", url="unused", sha256=hashlib.sha256(payload).hexdigest(),
                       extract_to="", marker="x")
        part = tmp_path / "downloads" / "corpus.tar.gz.part"
        part.parent.mkdir(parents=True)
        part.write_bytes(payload[:300_000])  # an interrupted earlier run
        url = f"http://127.0.0.1:{server.server_port}/"
        got = fetch_archive(arch, tmp_path, source=url, progress=False)
        assert got.read_bytes() == payload and not part.exists()
        assert _RangeHandler.ranges == ["bytes=300000-"]  # only the missing bytes were requested
        # a wrong checksum removes the bad download so the next run starts afresh
        got.unlink()
        wrong = Archive(name="corpus.tar.gz", url="unused", sha256="0" * 64, extract_to="", marker="x")
        with pytest.raises(DataError, match="checksum mismatch"):
            fetch_archive(wrong, tmp_path, source=url, progress=False)
        assert not (tmp_path / "downloads" / "corpus.tar.gz").exists()
    finally:
        server.shutdown()
        thread.join()


def test_extract_refuses_members_outside_the_target(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("ok.txt", "fine")
        zf.writestr("../escaped.txt", "bad")
    with pytest.raises(DataError, match="refusing"):
        extract_archive(evil, tmp_path / "target")
    assert not (tmp_path / "escaped.txt").exists()
    assert not list((tmp_path / "target").iterdir())  # staging cleaned up, nothing half-extracted
    with pytest.raises(DataError, match="not a tar or zip"):
        (tmp_path / "junk.bin").write_bytes(b"junk" * 100)
        extract_archive(tmp_path / "junk.bin", tmp_path / "t2")
    shutil.rmtree(tmp_path / "t2")


@pytest.mark.slow
@pytest.mark.parametrize("corpus,archives", [
    ("ljspeech", ["LJSpeech-1.1.tar.bz2"]),
    ("cmu_arctic", ["cmu_us_bdl_arctic.tar.bz2", "cmu_us_slt_arctic.tar.bz2"]),
    ("vctk", ["VCTK-Corpus-0.92.zip"]),
])
def test_make_standin_writes_archives_and_checksums(espeak_bin, tmp_path, corpus, archives):
    if corpus == "cmu_arctic":  # one of them as a user runs it (the scripts are the same two lines)
        res = run_script(corpus, "make_standin.py", "--out", tmp_path, "-n", "1")
        assert res.returncode == 0, res.stderr
    else:
        assert standin.build_standin_cli(corpus, ["--out", str(tmp_path), "-n", "1"]) == 0
    sums = read_checksums(tmp_path / "SHA256SUMS")
    assert sorted(sums) == sorted(archives)
    for name in archives:
        assert sums[name] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
