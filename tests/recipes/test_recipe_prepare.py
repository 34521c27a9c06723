"""fillets_cs corpus preparation on the real installed speech, and the shared manifest helpers."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import pytest
from recipe_helpers import RECIPES, run_script

from common.corpus import balanced_subset, read_manifest, write_manifest  # isort: skip (needs recipe_helpers)
from wavekit.errors import DataError

FILLETS = "fillets_cs"


def _fillets_module():
    spec = importlib.util.spec_from_file_location("fillets_prepare", RECIPES / FILLETS / "local" / "prepare.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def fillets_manifest(fillets_files, tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("fillets") / "manifest.csv"
    res = run_script(FILLETS, "prepare.py", "-o", out)
    assert res.returncode == 0, res.stderr
    return out, read_manifest(out)


def test_fillets_manifest_keeps_the_two_main_voices(fillets_manifest, fillets_files):
    _, rows = fillets_manifest
    assert {r["speaker"] for r in rows} == {"m", "v"}
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        p = Path(r["path"])
        assert p.is_file() and p.parent.name == "cs" and p.suffix == ".ogg"
        fields = p.stem.split("-")
        assert r["speaker"] in (fields[1:2] if len(fields) >= 3 else fields)
    # every m/v file of the installed corpus with the standard three-field name is listed
    standard = {str(f) for f in fillets_files if len(f.stem.split("-")) == 3 and f.stem.split("-")[1] in ("m", "v")}
    assert standard <= {r["path"] for r in rows}


def test_fillets_text_comes_from_the_level_dialog_script(fillets_manifest):
    _, rows = fillets_manifest
    with_text = [r for r in rows if r["text"]]
    assert len(with_text) > 0.95 * len(rows)
    for r in with_text[::97]:
        p = Path(r["path"])
        sound_root = next(a for a in p.parents if a.name == "sound")
        level = p.relative_to(sound_root).parts[0]
        lua = "".join(f.read_text(encoding="utf-8") for f in (sound_root.parent / "script" / level).glob("*dialogs_cs.lua"))
        assert f'dialogId("{p.stem}"' in lua
        if "\\" not in lua.split(f'dialogId("{p.stem}"')[1][:400]:
            assert f'"{r["text"]}"' in lua


def test_fillets_manifest_reads_into_preprocess_sources(fillets_manifest):
    from wavekit.audio.sources import list_sources

    path, rows = fillets_manifest
    items = list_sources(path)
    assert [(i.id, str(i.path), i.speaker, i.text) for i in items] == [
        (r["id"], r["path"], r["speaker"], r["text"]) for r in rows
    ]


def test_fillets_limit_is_balanced_spread_and_deterministic(fillets_files, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (a, b):
        res = run_script(FILLETS, "prepare.py", "-o", out, "--limit", "10")
        assert res.returncode == 0, res.stderr
    assert a.read_bytes() == b.read_bytes()
    rows = read_manifest(a)
    assert Counter(r["speaker"] for r in rows) == {"m": 5, "v": 5}
    assert len({Path(r["path"]).parents[1].name for r in rows}) >= 5  # spread over levels, not the first one


def test_fillets_all_speakers_and_missing_root(fillets_manifest, tmp_path):
    _, rows = fillets_manifest
    out = tmp_path / "all.csv"
    res = run_script(FILLETS, "prepare.py", "-o", out, "--all-speakers")
    assert res.returncode == 0, res.stderr
    all_rows = read_manifest(out)
    assert {r["path"] for r in rows} < {r["path"] for r in all_rows}
    assert len({r["speaker"] for r in all_rows}) > 2
    res = run_script(FILLETS, "prepare.py", "-o", tmp_path / "x.csv", "--root", tmp_path / "nothing")
    assert res.returncode == 1
    assert res.stderr.startswith("Error:") and "fillets-ng-data-cs" in res.stderr and "Traceback" not in res.stderr


def test_fillets_speaker_rule():
    speaker_of = _fillets_module().speaker_of
    assert speaker_of("vit-hs-klid1") == "hs"
    assert speaker_of("let-m-divna") == "m"
    assert speaker_of("m-hraje") == "m"
    assert speaker_of("ted5-m") == "m"
    assert speaker_of("kd-zelva") == "kd"
    assert speaker_of("help20") == "unknown"


def test_balanced_subset():
    rows = [{"speaker": "a", "i": i} for i in range(10)] + [{"speaker": "b", "i": i} for i in range(3)]
    sub = balanced_subset(rows, 8)
    assert Counter(r["speaker"] for r in sub) == {"a": 5, "b": 3}  # b runs out, a takes the rest
    assert [r["i"] for r in sub if r["speaker"] == "a"] == [0, 2, 4, 6, 8]  # spread evenly
    assert sub == [r for r in rows if r in sub]  # input order kept
    assert balanced_subset(rows, None) == rows
    with pytest.raises(DataError):
        balanced_subset(rows, 0)


def test_write_manifest_round_trips_awkward_text(tmp_path):
    rows = [{"path": "/x/a b.wav", "text": 'He said, "no"\nthen left.', "speaker": "s1", "id": "a"}]
    out = tmp_path / "m.csv"
    assert write_manifest(rows, out) == 1
    back = read_manifest(out)
    assert back == [{"path": "/x/a b.wav", "text": 'He said, "no" then left.', "speaker": "s1", "id": "a"}]
    with pytest.raises(DataError, match="no utterances"):
        write_manifest([], tmp_path / "empty.csv")
    assert not (tmp_path / "empty.csv").exists()
