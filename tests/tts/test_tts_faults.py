"""The text front end never drops characters silently: other scripts, emoji and symbols are named."""

from __future__ import annotations

import warnings

import pytest

from wavekit.errors import TextError
from wavekit.tts.frontend import SymbolTable


def test_dropped_characters_are_named() -> None:
    table = SymbolTable.default("characters")
    with pytest.warns(UserWarning, match="cannot read \U0001f600 \u0447 \u0430 \u0439 ") as record:
        symbols = table.text_to_symbols("Hello \U0001f600 world, \u0447\u0430\u0439 please")
    assert len(record) == 1
    assert "".join(symbols) == "hello world, please"


def test_only_unreadable_text_names_what_it_could_not_read() -> None:
    with pytest.raises(TextError, match="cannot read: \u2615 \u0447 \u0430 \u0439"):
        SymbolTable.default("characters").text_to_symbols("\u2615 \u0447\u0430\u0439")


def test_punctuation_accents_and_numbers_are_not_reported() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails
        symbols = SymbolTable.default("characters").text_to_symbols("\u201cNa\u00efve\u201d caf\u00e9 (really) #1, $5 & 20%!")
    assert "".join(symbols) == "naive cafe really one, five dollars and twenty percent!"
