"""Text front end: normalisation, English phonemes via espeak-ng, and the symbol table.

    text --normalize_text--> "doctor smith paid five dollars on the third of may."
         --phonemize (espeak-ng) or characters--> list of symbols
         --SymbolTable.encode--> list of ids ending in EOS

A :class:`SymbolTable` fixes the mode ("phonemes" or "characters"), the
espeak-ng voice and the symbol inventory. It is stored in every acoustic
model checkpoint (``to_dict``/``from_dict``) so a model always reads text
the way it was trained. Phonemes come from the ``espeak-ng`` binary
(``espeak-ng -q --ipa -v VOICE``), which is deterministic; without it,
:func:`make_symbol_table` falls back to characters.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any, Literal

from wavekit.errors import CheckpointError, TextError
from wavekit.tts.numbers import expand_numbers

PAD = "_"  # id 0: padding
EOS = "~"  # id 1: appended to every sequence so the attention sees where the text ends
PUNCTUATION = ",.?!"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Everything espeak-ng writes for English with --ipa: the IPA block, a few extra
# letters, stress and length marks, and plain latin letters.
_IPA = (
    "".join(chr(c) for c in range(0x250, 0x2B0))
    + "æçðøŋœθβχᵻ"
    + "ˈˌːˑ"
    + _LETTERS
)

# --- normalisation ---------------------------------------------------------------

_TITLES = {  # before a name; the period is optional ("Mr Smith", "Dr. Who")
    "mr": "mister",
    "mrs": "missus",
    "ms": "miz",
    "dr": "doctor",
    "prof": "professor",
    "capt": "captain",
    "col": "colonel",
    "gen": "general",
    "lt": "lieutenant",
    "sgt": "sergeant",
    "gov": "governor",
    "rev": "reverend",
    "hon": "honorable",
    "mt": "mount",
    "ft": "fort",
}
_ABBREVIATIONS = {  # need their period
    "jr": "junior",
    "sr": "senior",
    "etc": "et cetera",
    "vs": "versus",
    "approx": "approximately",
    "co": "company",
    "ltd": "limited",
    "inc": "incorporated",
    "ave": "avenue",
    "e.g": "for example",
    "i.e": "that is",
}
_RE_TITLE = re.compile(r"\b(" + "|".join(_TITLES) + r")\.?(?=\s+[A-Z])", re.IGNORECASE)
_RE_SAINT = re.compile(r"\bSt\.?(?=\s+[A-Z])")
_RE_STREET = re.compile(r"\bSt\.")
_RE_ABBREV = re.compile(r"\b(" + "|".join(re.escape(a) for a in _ABBREVIATIONS) + r")\.", re.IGNORECASE)
_RE_NUMBER_ABBREV = re.compile(r"\bno\.\s*(?=\d)", re.IGNORECASE)
_SYMBOL_WORDS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals "}
_PUNCT_MAP = {
    "--": ",", ";": ",", ":": ",", "\u2014": ",", "\u2013": ",", "\u2026": ".", "\u00a1": "", "\u00bf": "",
    "\u2018": "'", "\u2019": "'", "`": "'",
}


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize_text(text: str) -> str:
    """Spell out numbers and abbreviations and clean punctuation; lower case.

    The result holds only ``a-z``, the apostrophe inside words, spaces and
    ``, . ? !`` (";", ":" and dashes become commas, brackets and quotes go).
    ``normalize_text("Dr. Smith paid $5 on 3 May")`` ==
    ``"doctor smith paid five dollars on the third of may"``.
    """
    text = _spell_out(text)
    text = re.sub(r"[^a-z' ,.?!]", " ", text)  # anything else cannot be spoken
    text = re.sub(r"\s+([,.?!])", r"\1", text)
    text = re.sub(r"([,.?!])[,.?!]+", r"\1", text)  # "?!" -> "?", ",." -> ","
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^[,.?!\s]+", "", text)
    return text


def _spell_out(text: str) -> str:
    """:func:`normalize_text` up to the point where what cannot be spoken is dropped."""
    text = unicodedata.normalize("NFKC", text)
    for k, v in _PUNCT_MAP.items():
        text = text.replace(k, v)
    text = _RE_SAINT.sub("saint", text)
    text = _RE_STREET.sub(lambda m: "street" + ("." if m.end() == len(text.rstrip()) else ""), text)
    text = _RE_TITLE.sub(lambda m: _TITLES[m.group(1).lower()], text)
    text = _RE_NUMBER_ABBREV.sub("number ", text)
    text = _RE_ABBREV.sub(lambda m: _ABBREVIATIONS[m.group(1).lower()] + ("." if m.end() == len(text.rstrip()) else ""), text)
    text = expand_numbers(text)
    for k, v in _SYMBOL_WORDS.items():
        text = text.replace(k, v)
    text = _strip_accents(text).lower()
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # well-known -> well known
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)  # quotes, not apostrophes
    return text


def dropped_characters(text: str) -> list[str]:
    """The characters of ``text`` that :func:`normalize_text` drops unspoken, in order of appearance.

    Letters of other scripts, emoji and symbols count; punctuation (brackets,
    quotes, ``#``) does not, since leaving it out changes nothing a listener hears.
    ``dropped_characters("tea \u2615 or \u0447\u0430\u0439")`` == ``["\u2615", "\u0447", "\u0430", "\u0439"]``.
    """
    gone = {
        c for c in _spell_out(text)
        if not re.match(r"[a-z' ,.?!\s]", c) and not (c.isascii() and not c.isalnum())
        and not unicodedata.category(c).startswith(("P", "M"))
    }
    if not gone:
        return []
    out: dict[str, None] = {}
    for c in unicodedata.normalize("NFKC", text):
        if any(d in gone for d in _strip_accents(c).lower()):
            out.setdefault(c)
    return list(out)


# --- phonemes --------------------------------------------------------------------


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` binary is on PATH."""
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=4096)
def _espeak_clause(words: str, voice: str) -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise TextError("espeak-ng is not installed; install it (apt-get install espeak-ng) to read phonemes")
    out = subprocess.run(
        [exe, "-q", "--ipa", "-v", voice, "--", words], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise TextError(f"espeak-ng failed on {words!r} with voice {voice!r}: {out.stderr.strip()}")
    ipa = " ".join(line.strip() for line in out.stdout.splitlines() if line.strip())
    ipa = re.sub(r"\([a-z-]+\)", "", ipa)  # language-switch markers such as (fr)
    return unicodedata.normalize("NFC", ipa.replace("\u200d", ""))


def phonemize(text: str, voice: str = "en-us") -> str:
    """IPA for already normalised ``text``, punctuation kept in place.

    Each clause (text between punctuation marks) is phonemised by one
    ``espeak-ng -q --ipa`` call; results are cached. Deterministic.
    """
    pieces = re.split(r"([,.?!])", text)
    out = []
    for piece in pieces:
        if piece in PUNCTUATION and piece:
            out.append(piece)
        elif piece.strip():
            out.append((" " if out else "") + _espeak_clause(piece.strip(), voice))
    return re.sub(r"\s+", " ", "".join(out)).strip()


# --- symbol table ----------------------------------------------------------------

Mode = Literal["phonemes", "characters"]


@dataclass(frozen=True)
class SymbolTable:
    """The symbols an acoustic model reads: id 0 is padding, id 1 end of sequence.

    ``mode`` "phonemes" runs espeak-ng with ``voice``; "characters" uses the
    normalised letters. ``encode(text)`` is the whole front end.
    """

    mode: Mode
    symbols: tuple[str, ...]
    voice: str = "en-us"

    def __post_init__(self) -> None:
        if self.mode not in ("phonemes", "characters"):
            raise ValueError(f"mode must be 'phonemes' or 'characters', got {self.mode!r}")
        if len(self.symbols) < 3 or self.symbols[0] != PAD or self.symbols[1] != EOS:
            raise ValueError(f"symbols must start with pad {PAD!r} and eos {EOS!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("symbols must be unique")
        object.__setattr__(self, "_index", {s: i for i, s in enumerate(self.symbols)})

    @classmethod
    def default(cls, mode: Mode, voice: str = "en-us") -> "SymbolTable":
        """The standard inventory for ``mode``."""
        base = _IPA if mode == "phonemes" else _LETTERS + "'"
        seen = dict.fromkeys(PAD + EOS + " " + PUNCTUATION + base)
        return cls(mode=mode, symbols=tuple(seen), voice=voice)

    def __len__(self) -> int:
        return len(self.symbols)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "symbols": list(self.symbols), "voice": self.voice}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SymbolTable":
        try:
            return cls(mode=d["mode"], symbols=tuple(d["symbols"]), voice=d.get("voice", "en-us"))
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"malformed symbol table in checkpoint ({e}); retrain or re-save it") from None

    def text_to_symbols(self, text: str) -> list[str]:
        """Normalise and (in phoneme mode) phonemise ``text``; symbols as strings, no EOS.

        Raises :class:`TextError` for text with nothing speakable in it.
        """
        if not isinstance(text, str) or not text.strip():
            raise TextError("empty text: give at least one word to speak")
        norm = normalize_text(text)
        dropped = dropped_characters(text)
        shown = " ".join(dropped[:20]) + (" ..." if len(dropped) > 20 else "")
        if not re.search(r"[a-z]", norm):
            raise TextError(f"no speakable words in {text[:60]!r} (only unknown symbols or punctuation"
                            + (f"; cannot read: {shown}" if dropped else "") + ")")
        if dropped:
            warnings.warn(f"cannot read {shown} in {text[:60]!r} (the front end reads English letters, digits "
                          "and punctuation): dropped them", stacklevel=2)
        if self.mode == "phonemes":
            if not espeak_available():
                raise TextError(
                    "this model reads espeak-ng phonemes but espeak-ng is not installed; "
                    "install it (apt-get install espeak-ng)"
                )
            seq = list(phonemize(norm, self.voice))
        else:
            seq = list(norm)
        unknown = sorted({s for s in seq if s not in self._index})  # type: ignore[attr-defined]
        if unknown:
            warnings.warn(f"dropping symbols unknown to this model: {''.join(unknown)!r}", stacklevel=2)
        seq = [s for s in seq if s in self._index]  # type: ignore[attr-defined]
        if not any(s not in PUNCTUATION + " " for s in seq):
            raise TextError(f"no symbols this model knows in {text[:60]!r}")
        return seq

    def encode(self, text: str) -> list[int]:
        """Ids for ``text`` ending in the EOS id (1)."""
        index = self._index  # type: ignore[attr-defined]
        return [index[s] for s in self.text_to_symbols(text)] + [1]

    def decode(self, ids: list[int]) -> str:
        """Inverse of :meth:`encode` up to normalisation (pad and EOS dropped)."""
        return "".join(self.symbols[i] for i in ids if i > 1)


def make_symbol_table(frontend: str = "auto", voice: str = "en-us") -> SymbolTable:
    """Table for ``frontend`` "phonemes", "characters" or "auto" (phonemes when espeak-ng is installed)."""
    if frontend == "auto":
        frontend = "phonemes" if espeak_available() else "characters"
    if frontend == "phonemes" and not espeak_available():
        raise TextError("frontend 'phonemes' needs espeak-ng; install it or use frontend 'characters'")
    if frontend not in ("phonemes", "characters"):
        raise TextError(f"unknown frontend {frontend!r}; use 'auto', 'phonemes' or 'characters'")
    return SymbolTable.default(frontend, voice)  # type: ignore[arg-type]
