"""Spelling numbers out as English words (cardinals, ordinals, decimals, years, money).

Used by :mod:`wavekit.tts.frontend` before phonemisation, so that "3rd",
"1999", "$5.50" and "2.5" reach espeak-ng (or the character model) as the
words a reader would say.
"""

from __future__ import annotations

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def cardinal(n: int) -> str:
    """``cardinal(1234) == "one thousand two hundred thirty four"``; negatives get "minus"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _ONES[hundreds] + " hundred" + ("" if rest == 0 else " " + cardinal(rest))
    for scale, name in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return cardinal(head) + " " + name + ("" if rest == 0 else " " + cardinal(rest))
    raise AssertionError("unreachable")


def ordinal(n: int) -> str:
    """``ordinal(21) == "twenty first"``, ``ordinal(12) == "twelfth"``."""
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last = last + "th"
    return " ".join(words[:-1] + [last])


def year(n: int) -> str:
    """Read a year as people do: 1999 -> "nineteen ninety nine", 2005 -> "two thousand five"."""
    if not 1000 <= n <= 9999:
        return cardinal(n)
    head, tail = divmod(n, 100)
    if tail == 0 and head % 10 == 0:
        return cardinal(n)  # 2000 -> two thousand
    if tail == 0:
        return cardinal(head) + " hundred"  # 1900 -> nineteen hundred
    if 2000 <= n <= 2009:
        return cardinal(n)  # 2005 -> two thousand five
    if tail < 10:
        return cardinal(head) + " oh " + cardinal(tail)  # 1905 -> nineteen oh five
    return cardinal(head) + " " + cardinal(tail)


def decimal(text: str) -> str:
    """``decimal("3.14") == "three point one four"`` (digits after the point read one by one)."""
    whole, frac = text.split(".", 1)
    head = cardinal(int(whole)) if whole else "zero"
    return head + " point " + " ".join(_ONES[int(d)] for d in frac)


def money(amount: str, unit: str, subunit: str) -> str:
    """``money("5.50", "dollar", "cent") == "five dollars fifty cents"``."""
    whole, _, frac = amount.partition(".")
    n = int(whole) if whole else 0
    cents = int((frac + "00")[:2]) if frac else 0
    parts = []
    if n or not cents:
        parts.append(cardinal(n) + " " + unit + ("" if n == 1 else "s"))
    if cents:
        parts.append(cardinal(cents) + " " + subunit + ("" if cents == 1 else "s"))
    return " ".join(parts)


_MONTHS = (
    "january february march april may june july august september october november december".split()
)
_MONTH_RE = "|".join(m.capitalize() for m in _MONTHS)  # capitalised only: "you may 2" is no date

_CURRENCY = {"$": ("dollar", "cent"), "£": ("pound", "penny"), "€": ("euro", "cent")}
_RE_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_RE_MONEY = re.compile(r"([$£€])(\d+(?:\.\d+)?)")
_RE_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_RE_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\b")
_RE_MONTH_DAY = re.compile(rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b")
_RE_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_RE_DECIMAL = re.compile(r"(?<![\w.])\d*\.\d+\b")
_RE_YEAR = re.compile(r"\b(1[1-9]\d\d|20\d\d)\b(?!\s*(?:%|percent))")
_RE_NUMBER = re.compile(r"(?<![\w.])-?\d+\b")


def expand_numbers(text: str) -> str:
    """Replace every number in ``text`` by words.

    Order matters: thousands separators go first, then money, percentages,
    dates ("3 May" -> "the third of May", "May 3" -> "May third"), ordinals,
    decimals, four-digit years, and finally plain (possibly negative) integers.
    """
    text = _RE_THOUSANDS.sub("", text)

    def _money(m: re.Match) -> str:
        unit, sub = _CURRENCY[m.group(1)]
        return money(m.group(2), unit, sub)

    text = _RE_MONEY.sub(_money, text)
    text = _RE_PERCENT.sub(lambda m: m.group(1) + " percent", text)
    text = _RE_DAY_MONTH.sub(lambda m: f"the {ordinal(int(m.group(1)))} of {m.group(2)}", text)
    text = _RE_MONTH_DAY.sub(lambda m: f"{m.group(1)} {ordinal(int(m.group(2)))}", text)
    text = _RE_ORDINAL.sub(lambda m: ordinal(int(m.group(1))), text)
    text = _RE_DECIMAL.sub(lambda m: decimal(m.group(0)), text)
    text = _RE_YEAR.sub(lambda m: year(int(m.group(1))), text)
    text = _RE_NUMBER.sub(lambda m: cardinal(int(m.group(0))), text)
    return text
