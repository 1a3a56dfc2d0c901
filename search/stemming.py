"""The word level of the Danish analysis: data files, folding and stemming.

Kept apart from `search.analysis` so that the code analysis (`search.code`) can use it without a cycle.
Snowball stemmer objects keep state while they stem, so each thread gets its own (`threading.local`); the
cache in front of them is keyed by the word alone and so safe to share.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

import snowballstemmer

_SPECIAL = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "þ": "th", "ð": "d"}
)
DATA = Path(__file__).resolve().parent / "data"


# ---------------------------------------------------------------- data files


def data_lines(name: str) -> list[str]:
    text = (DATA / name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def stopwords() -> frozenset[str]:
    return frozenset(data_lines("stopwords.txt"))


@cache
def english_words() -> frozenset[str]:
    return frozenset(data_lines("english.txt"))


@cache
def weak_words() -> frozenset[str]:
    return frozenset(data_lines("weak_words.txt"))


@cache
def english_danish() -> list[tuple[str, list[str]]]:
    """(English word or phrase, the Danish terms it means) from english_da.txt."""
    pairs = []
    for line in data_lines("english_da.txt"):
        english, _, danish = line.partition("=")
        alternatives = [a.strip().lower() for a in danish.split(",") if a.strip()]
        if english.strip() and alternatives:
            pairs.append((english.strip().lower(), alternatives))
    return pairs


@cache
def stem_overrides() -> dict[str, str]:
    pairs = (line.split() for line in data_lines("stem_overrides.txt"))
    return {words[0]: words[1] for words in pairs if len(words) >= 2}


@cache
def synonym_groups() -> list[list[str]]:
    return [[part.strip().lower() for part in line.split(",") if part.strip()] for line in data_lines("synonyms.txt")]


# ---------------------------------------------------------------- word level


def fold(word: str) -> str:
    """Case-fold and reduce Danish letters: `Køge`, `Koege`, `Koge` → `koge`; `Æble`, `aeble` → `able`."""
    if word.isascii():  # the common case: casefold is lower(), and no letter to translate or decompose
        text = word.lower()
    else:
        text = word.casefold().translate(_SPECIAL)
        if not text.isascii():
            text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if ch.isalnum()).casefold()
    return text.replace("ae", "a").replace("oe", "o").replace("aa", "a")


_local = threading.local()


def _stemmer() -> snowballstemmer.stemmer:
    """This thread's Danish Snowball stemmer (one object must never be used by two threads at once)."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("danish")
    return stemmer


def _english_stemmer() -> snowballstemmer.stemmer:
    """This thread's English Snowball stemmer (for the English layer of queries)."""
    stemmer = getattr(_local, "english", None)
    if stemmer is None:
        stemmer = _local.english = snowballstemmer.stemmer("english")
    return stemmer


@lru_cache(maxsize=50_000)
def english_stem(word: str) -> str:
    """The English stem of a lower-case word (`invoices`, `invoicing` → `invoic`)."""
    return str(_english_stemmer().stemWord(word))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The Danish stem of a lower-case word, folded. English loanwords and overrides are respected."""
    if word in english_words() or word.isdigit():
        return fold(word)
    override = stem_overrides().get(word)
    if override is not None:
        return fold(override)
    return fold(_stemmer().stemWord(word))


class JoinedForms(dict[str, str | None]):
    """word → its index forms joined by spaces (None when it has none), filled on a miss from `forms`. A word's
    forms never change, so threads may share one: a race computes a word twice, with the same answer. Bounded:
    emptied when it holds `limit` words (a dict's single operations are atomic, so that is safe as well)."""

    def __init__(
        self,
        forms: Callable[[str], tuple[str, ...]],
        limit: int,
        on_new: Callable[[str, tuple[str, ...]], object] | None = None,
    ) -> None:
        super().__init__()
        self.forms = forms
        self.limit = limit
        self.on_new = on_new  # told each joined text it makes, with the forms it joined

    def __missing__(self, word: str) -> str | None:
        found = self.forms(word)
        joined = " ".join(found) if found else None
        if len(self) >= self.limit:
            self.clear()
        self[word] = joined
        if joined is not None and self.on_new is not None:
            self.on_new(joined, found)
        return joined
