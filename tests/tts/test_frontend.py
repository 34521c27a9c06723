"""Text front end: normalisation, espeak-ng phonemes, character fallback, symbol table."""

from __future__ import annotations

import pytest

from wavekit.errors import CheckpointError, TextError
from wavekit.tts import frontend
from wavekit.tts.frontend import SymbolTable, make_symbol_table, normalize_text, phonemize
from wavekit.tts.numbers import cardinal, ordinal, year


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Dr. Smith paid $5 on 3 May", "doctor smith paid five dollars on the third of may"),
        ("Mr Brown lives at 221 Baker St.", "mister brown lives at two hundred twenty one baker street."),
        ("St. Paul, born in 1999 -- or 2005?", "saint paul, born in nineteen ninety nine, or two thousand five?"),
        ("It costs $5.50, about 3.5% of 1,000,000 etc.",
         "it costs five dollars fifty cents, about three point five percent of one million et cetera."),
        ("The 21st and the 12th; May 3rd!!", "the twenty first and the twelfth, may third!"),
        ("\u201cI don\u2019t know\u2026\u201d  well-known caf\u00e9 (really)",
         "i don't know. well known cafe really"),
        ("No. 7 vs. No. 8, e.g. Tom & Jerry", "number seven versus number eight, for example tom and jerry"),
        ("-4 degrees in 1905", "minus four degrees in nineteen oh five"),
    ],
)
def test_normalize_known_cases(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_number_words() -> None:
    assert cardinal(0) == "zero"
    assert cardinal(1_002_013) == "one million two thousand thirteen"
    assert [ordinal(n) for n in (1, 2, 3, 5, 8, 9, 12, 20, 101)] == [
        "first", "second", "third", "fifth", "eighth", "ninth", "twelfth", "twentieth", "one hundred first"]
    assert [year(n) for n in (1066, 1900, 2000, 2008, 2024)] == [
        "ten sixty six", "nineteen hundred", "two thousand", "two thousand eight", "twenty twenty four"]


def test_normalized_text_uses_only_table_characters() -> None:
    table = SymbolTable.default("characters")
    text = "Über-cool™ 42nd St. — 10:30, §5 ½ [x] {y} <z> #1 *** ©2020 ~ ^ | \\ / ¿qué? ñ"
    norm = normalize_text(text)
    assert set(norm) <= set(table.symbols[2:])
    assert normalize_text(norm) == norm  # idempotent


def test_phonemes_deterministic_and_keep_punctuation(espeak_bin: str) -> None:
    text = "Doctor Smith, how are you? Fine."
    norm = normalize_text(text)
    frontend._espeak_clause.cache_clear()
    first = phonemize(norm)
    frontend._espeak_clause.cache_clear()
    second = phonemize(norm)
    assert first == second
    assert [c for c in first if c in ",.?!"] == [",", "?", "."]
    assert "θ" in first and "ˈ" in first  # smith: real IPA with stress marks, not letters
    table = make_symbol_table("auto")
    assert table.mode == "phonemes"
    ids = table.encode(text)
    assert ids == table.encode(text) and ids[-1] == 1 and 0 not in ids


def test_character_fallback_without_espeak(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frontend.shutil, "which", lambda name: None)
    assert not frontend.espeak_available()
    table = make_symbol_table("auto")
    assert table.mode == "characters"
    assert table.decode(table.encode("Dr. Who, 2nd")) == "doctor who, second"
    with pytest.raises(TextError, match="espeak-ng"):
        make_symbol_table("phonemes")
    with pytest.raises(TextError, match="espeak-ng"):
        SymbolTable.default("phonemes").encode("hello")


def test_symbol_table_round_trip() -> None:
    for mode in ("phonemes", "characters"):
        table = SymbolTable.default(mode, voice="en-gb")
        back = SymbolTable.from_dict(table.to_dict())
        assert back == table and back.symbols[:2] == ("_", "~")
        assert len(set(back.symbols)) == len(back)
    with pytest.raises(CheckpointError):
        SymbolTable.from_dict({"mode": "characters", "symbols": ["a", "b"]})


@pytest.mark.parametrize("bad", ["", "   \n", "...!?", "日本語", "♪ ★ ©", "(( ))"])
def test_bad_text_is_a_clear_error(bad: str) -> None:
    table = SymbolTable.default("characters")
    with pytest.raises(TextError):
        table.encode(bad)


def test_symbols_unknown_to_the_table_are_dropped_or_refused() -> None:
    small = SymbolTable("characters", ("_", "~", " ", "a", "b"))
    with pytest.warns(UserWarning, match="unknown"):
        assert small.decode(small.encode("abc")) == "ab"
    with pytest.warns(UserWarning), pytest.raises(TextError, match="no symbols this model knows"):
        small.encode("xyz")
