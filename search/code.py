"""Identifier-aware analysis for source code.

`hent_straffeattest_fra_politiet` is indexed as the whole identifier (`hentstraffeattestfrapolitiet`), each
tail of it from a part boundary (`straffeattestfrapolitiet`, …) and its parts (`hent`, `straffeattest`, …,
also stemmed), so `hent_straffeattest` (a prefix), `straffeattest_fra` (a tail) and `politi` find it.
camelCase splits the same way: `eDocClient` and `EDocClient` are both `edocclient`, `edoc`, `client`.
A part that is a stop word (`fra`) is not indexed on its own, nor is a word of a comment that is one (`og`, `for`,
`and`): a query never searches for one (as in prose, see `search.analysis.index_forms`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import chain

from search.stemming import JoinedForms, fold, stem, stopwords

IDENTIFIER = re.compile(r"[^\W\d][\w]*", re.UNICODE)
# a run of word characters holds at most one identifier: the run from its first non-digit on
_RUN = re.compile(r"\w+", re.UNICODE)
# Latin-1 (any ASCII or Danish text): each word character kept, any other one a space, so that `str.split` gives the
# runs of word characters (`\w+`) far faster than a regular expression finds them
_LATIN1_RUNS = bytes(c if _RUN.match(chr(c)) else ord(" ") for c in range(256))
MAX_CACHED_NUMBER = 4  # a run without an identifier (a number) is cached up to this length; longer ones are many
_CAMEL = re.compile(r"[A-ZÆØÅ]+(?=[A-ZÆØÅ][a-zæøå])|[A-ZÆØÅ]?[a-zæøå]+|[A-ZÆØÅ]+|\d+|[^\W\d_]+", re.UNICODE)
MAX_INDEXED = 200_000  # characters of one file that are indexed


def looks_like_identifier(token: str) -> bool:
    """`get_case_id`, `eDocClient`, `EDocClient`, `v2Api`: not a plain word."""
    if not IDENTIFIER.fullmatch(token):
        return False
    return "_" in token.strip("_") or bool(re.search(r"[a-zæøå][A-ZÆØÅ]|[A-ZÆØÅ]{2}[a-zæøå]|[A-Za-z]\d", token))


def parts(identifier: str) -> list[str]:
    out: list[str] = []
    for chunk in identifier.split("_"):
        if chunk.isascii() and (chunk.isdigit() or chunk.isalpha() and chunk.islower()):
            out.append(chunk)  # snake_case's parts, and numbers: one part each, as the camelCase pattern finds them
        else:
            out.extend(m.group().casefold() for m in _CAMEL.finditer(chunk))
    return out  # (no part is empty: the pattern matches one character or more)


@lru_cache(maxsize=200_000)
def code_forms(identifier: str) -> tuple[str, ...]:
    """The whole identifier (folded), its tails of three or more letters from a part boundary, then each part and
    its stem: as `code_forms_plainly`, without folding what is folded already."""
    ps = parts(identifier[:100])
    stop = stopwords()
    if not ps or len(ps) == 1 and ps[0] in stop:
        return ()
    whole = "".join(ps)
    # ASCII without the letter pairs that `fold` reduces: the identifier is its own folded form, as is each part
    # and tail of it
    if not whole.isascii() or "ae" in whole or "oe" in whole or "aa" in whole:
        return code_forms_plainly(identifier)
    forms = [whole]
    start = 0
    for p in ps[:-1]:
        start += len(p)
        if len(whole) - start >= 3:
            tail = whole[start:]
            if tail not in forms:
                forms.append(tail)
    for p in ps:
        if p in stop:
            continue
        if p not in forms:
            forms.append(p)
        stemmed = stem(p)
        if stemmed and stemmed not in forms:
            forms.append(stemmed)
    return tuple(forms)


def code_forms_plainly(identifier: str) -> tuple[str, ...]:
    """`code_forms` the straightforward way, each form folded (the reference it is tested against)."""
    ps = parts(identifier[:100])
    if not ps or len(ps) == 1 and ps[0] in stopwords():
        return ()
    forms = [fold("".join(ps))]
    for i in range(1, len(ps)):
        tail = fold("".join(ps[i:]))
        if len(tail) >= 3 and tail not in forms:
            forms.append(tail)
    for p in ps:
        if p in stopwords():
            continue
        for form in (fold(p), stem(p)):
            if form and form not in forms:
                forms.append(form)
    return tuple(form for form in forms if form)  # (the whole folds to nothing when every letter does: `ͺ_ﹰ`)


def _run_forms(run: str) -> tuple[str, ...]:
    """The forms of the identifier in a run of word characters (`2ndCase` → those of `ndCase`; none in `2024`)."""
    identifier = IDENTIFIER.search(run)
    return code_forms(identifier.group()) if identifier else ()


class _Words(dict[str, tuple[str, ...]]):
    """joined forms (a value of `_forms`) → its words: the very forms the joined text was made of (kept when it was
    made, so no word is a string of its own here), or split again once the cache was emptied. Shared by threads and
    bounded as `_forms` is."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, joined: str, words: tuple[str, ...]) -> tuple[str, ...]:
        if len(self) >= self.limit:
            self.clear()
        self[joined] = words
        return words

    def __missing__(self, joined: str) -> tuple[str, ...]:
        return self.keep(joined, tuple(joined.split()))


_words = _Words(200_000)


class _RunForms(JoinedForms):
    """run of word characters → the joined forms of its identifier. Numbers have none; only short ones are kept
    (a data file's many long numbers would push the identifiers out of the cache)."""

    def __missing__(self, run: str) -> str | None:
        if len(run) > MAX_CACHED_NUMBER and not IDENTIFIER.search(run):
            return None
        return super().__missing__(run)


_forms = _RunForms(_run_forms, 200_000, _words.keep)


def word_runs(text: str) -> list[str]:
    """The runs of word characters of a text, in order (`_RUN.findall`; Latin-1 text by a byte table)."""
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return _RUN.findall(text)
    return data.translate(_LATIN1_RUNS).decode("latin-1").split()


def analyze_code(text: str) -> str:
    """The index forms of a text's identifiers: its runs of word characters, each looked up in a shared cache (so a
    distinct identifier is analysed once), numbers dropped."""
    return " ".join(filter(None, map(_forms.__getitem__, word_runs(text[:MAX_INDEXED]))))  # (no form is empty)


def analyze_definitions(text: str) -> str:
    """The index forms of the names a file defines (`definitions`): `analyze_code` of them, each name being a run
    of word characters of its own."""
    return " ".join(filter(None, map(_forms.__getitem__, definitions(text))))


def analyze_code_words(text: str) -> tuple[str, set[str]]:
    """`analyze_code`, and the distinct words of what it gives: the forms of each distinct identifier (`_words`).
    Splitting a file's analysed text anew made hundreds of new strings to hash, for some fifty words."""
    joined = list(filter(None, map(_forms.__getitem__, word_runs(text[:MAX_INDEXED]))))
    return " ".join(joined), set(chain.from_iterable(map(_words.__getitem__, set(joined))))


def analyze_code_plainly(text: str) -> str:
    """`analyze_code` the straightforward way (the reference it is tested against)."""
    out: list[str] = []
    for match in IDENTIFIER.finditer(text[:MAX_INDEXED]):
        out.extend(code_forms(match.group()))
    return " ".join(out)


_KEYWORD_DEFINITION = (  # each after a line's leading space
    r"(?:(?:async\s+)?def|class|function|func|fn|interface|struct|enum|record|module|Sub|Function)\s+([^\W\d]\w*)"
)
_ACCESS = ("public", "private", "protected", "internal")
_ACCESS_DEFINITION = r"(?:" + "|".join(_ACCESS) + r")\b[^=;(\n]*?\s([^\W\d]\w*)\s*[({]"
# at the start of a line (the reference the patterns below are tested against)
_DEFINITION = re.compile(r"^\s*" + _KEYWORD_DEFINITION + r"|^\s*" + _ACCESS_DEFINITION, re.UNICODE | re.MULTILINE)
# The same searched in "\n" + text, the start of a line being the newline before it: a pattern that starts with a
# character is searched for by that character, one that starts with `^` is tried at every position (twice as
# slow). After the leading space, a lookahead for the letters that begin a definition turns any other line down at
# one character, where the alternatives were tried one by one: half the time again, and the lazy scan of the second
# branch runs only on a line that starts with p or i (it was kept for files with one of _ACCESS, looked for first).
_AFTER_NEWLINE = re.compile(
    r"\n\s*(?=[adcfimsreSFp])(?:" + _KEYWORD_DEFINITION + "|" + _ACCESS_DEFINITION + ")", re.UNICODE
)


def definitions(text: str) -> list[str]:
    """Names a file defines (functions, classes, methods): they rank that file first for the name."""
    return [keyword or access for keyword, access in _AFTER_NEWLINE.findall("\n" + text[:MAX_INDEXED])]
