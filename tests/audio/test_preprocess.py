"""preprocess_corpus on real fillets-ng speech: aligned items, rejects, resume, determinism, folder mode."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from wavekit.audio import FeatureStats, MelConfig, load_wav, log_mel_spectrogram, preprocess_corpus
from wavekit.audio.sources import assign_splits
from wavekit.errors import DataError


def rows_of(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_items_are_aligned_and_match_their_source(corpus, speech_subset):
    cfg = MelConfig()
    rows = rows_of(corpus)
    assert len(rows) == len(speech_subset) == 12
    sources = {str(p): p for p in speech_subset}
    for r in rows:
        with np.load(corpus / r["file"]) as z:
            wav, mel = z["wav"], z["mel"]
        assert wav.dtype == np.int16 and mel.dtype == np.float32
        assert len(wav) == r["samples"] == r["frames"] * cfg.hop_length
        assert mel.shape == (cfg.n_mels, r["frames"])
        # the stored mel is exactly the features of the stored audio
        np.testing.assert_allclose(mel, log_mel_spectrogram(wav.astype(np.float32) / 32768, cfg), atol=1e-5)
        # the stored audio is the source resampled to 16 kHz, trimmed to whole frames
        src = load_wav(sources[r["source"]], cfg.sample_rate)
        assert r["frames"] == len(src) // cfg.hop_length
        np.testing.assert_allclose(wav / 32768, src[: r["samples"]], atol=1.0 / 32768)


def test_speakers_splits_and_stats(corpus):
    rows = rows_of(corpus)
    speakers = json.loads((corpus / "speakers.json").read_text())
    assert speakers == {"m": 0, "v": 1}
    assert all(r["speaker_id"] == speakers[r["speaker"]] for r in rows)
    assert sorted(r["split"] for r in rows) == ["dev"] + ["test"] + ["train"] * 10
    train = [np.load(corpus / r["file"])["mel"] for r in rows if r["split"] == "train"]
    stats = FeatureStats.from_dict(json.loads((corpus / "stats.json").read_text()))
    allx = np.concatenate(train, axis=1).astype(np.float64)
    np.testing.assert_allclose(stats.mean, allx.mean(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats.std, np.maximum(allx.std(axis=1), 1e-3), rtol=1e-4)
    meta = json.loads((corpus / "meta.json").read_text())
    assert meta["mel"]["hop_length"] == 256 and meta["mel"]["n_mels"] == 80


def test_bad_files_land_in_rejects_with_reasons(corpus):
    rejects = dict(line.split("\t") for line in (corpus / "rejects.tsv").read_text().splitlines())
    by_name = {p.rsplit("/", 1)[-1]: reason for p, reason in rejects.items()}
    assert set(by_name) == {"corrupt.wav", "empty.wav", "silent.wav", "short.wav", "missing.wav"}
    assert "cannot read" in by_name["corrupt.wav"]
    assert "empty" in by_name["empty.wav"]
    assert "silent" in by_name["silent.wav"]
    assert "too short" in by_name["short.wav"]
    assert "not found" in by_name["missing.wav"]


def test_rerun_does_no_work(corpus_src, corpus_copy):
    before = {p.name: p.stat().st_mtime_ns for p in (corpus_copy / "items").iterdir()}
    summary = preprocess_corpus(corpus_src, corpus_copy, valid_count=1, test_count=1, progress=False)
    assert (summary.processed, summary.skipped, summary.kept, summary.rejected) == (0, 17, 12, 5)
    assert "nothing to do" in str(summary)
    assert {p.name: p.stat().st_mtime_ns for p in (corpus_copy / "items").iterdir()} == before


def test_resume_redoes_only_missing_items_identically(corpus_src, corpus, corpus_copy):
    removed = sorted((corpus_copy / "items").iterdir())[:2]
    for p in removed:
        p.unlink()
    summary = preprocess_corpus(corpus_src, corpus_copy, valid_count=1, test_count=1, progress=False)
    assert (summary.processed, summary.new_rejects) == (2, 0)
    for p in removed:
        with np.load(corpus / "items" / p.name) as a, np.load(p) as b:
            np.testing.assert_array_equal(a["wav"], b["wav"])
            np.testing.assert_array_equal(a["mel"], b["mel"])
    assert rows_of(corpus_copy) == rows_of(corpus)
    assert (corpus_copy / "stats.json").read_text() == (corpus / "stats.json").read_text()


def test_different_mel_settings_are_refused(corpus_src, corpus_copy):
    with pytest.raises(DataError, match="hop_length: 256 there, 200 now"):
        preprocess_corpus(corpus_src, corpus_copy, MelConfig(hop_length=200), progress=False)


def test_missing_src(tmp_path):
    with pytest.raises(DataError, match="SRC not found: .*nope"):
        preprocess_corpus(tmp_path / "nope", tmp_path / "out", progress=False)


def test_split_is_deterministic_and_seeded():
    ids = [f"utt{i:03d}" for i in range(200)]
    a = assign_splits(ids, 0.1, 0.05, seed=0)
    assert a == assign_splits(list(reversed(ids)), 0.1, 0.05, seed=0)
    assert sum(v == "dev" for v in a.values()) == 20 and sum(v == "test" for v in a.values()) == 10
    assert a != assign_splits(ids, 0.1, 0.05, seed=1)
    with pytest.raises(DataError, match="no training items"):
        assign_splits(ids[:3], valid_count=2, test_count=1)


@pytest.mark.slow
def test_folder_mode_parallel_equals_serial(tmp_path, speech_subset):
    """Folder mode (speaker = parent folder, recursive); --jobs 2 writes exactly what --jobs 1 writes."""
    src = tmp_path / "src"
    for spk, files in (("anna", speech_subset[:2]), ("bob", speech_subset[-2:])):
        (src / "deep" / spk).mkdir(parents=True)
        for p in files:
            shutil.copy(p, src / "deep" / spk / p.name)
    (src / "notes.txt").write_text("not audio, ignored")
    cfg = MelConfig(hop_length=200, n_fft=800, win_length=800)
    serial = preprocess_corpus(src, tmp_path / "serial", cfg, jobs=1, progress=False)
    parallel = preprocess_corpus(src, tmp_path / "parallel", cfg, jobs=2, progress=False)
    assert serial.kept == parallel.kept == 4 and parallel.processed == 4
    assert json.loads((tmp_path / "parallel" / "speakers.json").read_text()) == {"anna": 0, "bob": 1}
    rows = rows_of(tmp_path / "parallel")
    assert rows == rows_of(tmp_path / "serial")
    assert all(r["id"].startswith("deep__") and r["samples"] == r["frames"] * 200 for r in rows)
    for r in rows:
        with np.load(tmp_path / "serial" / r["file"]) as a, np.load(tmp_path / "parallel" / r["file"]) as b:
            np.testing.assert_array_equal(a["wav"], b["wav"])
            np.testing.assert_array_equal(a["mel"], b["mel"])
