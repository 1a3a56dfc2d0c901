"""Identifier-aware analysis for source code.

`hent_straffeattest_fra_politiet` is indexed as the whole identifier (`hentstraffeattestfrapolitiet`), each
tail of it from a part boundary (`straffeattestfrapolitiet`, …) and its parts (`hent`, `straffeattest`, …,
also stemmed), so `hent_straffeattest` (a prefix), `straffeattest_fra` (a tail) and `politi` find it.
camelCase splits the same way: `eDocClient` and `EDocClient` are both `edocclient`, `edoc`, `client`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from search.stemming import JoinedForms, fold, stem

IDENTIFIER = re.compile(r"[^\W\d][\w]*", re.UNICODE)
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
        out.extend(m.group() for m in _CAMEL.finditer(chunk))
    return [p.casefold() for p in out if p]


@lru_cache(maxsize=200_000)
def code_forms(identifier: str) -> tuple[str, ...]:
    ps = parts(identifier[:100])
    if not ps:
        return ()
    forms = [fold("".join(ps))]
    for i in range(1, len(ps)):
        tail = fold("".join(ps[i:]))
        if len(tail) >= 3 and tail not in forms:
            forms.append(tail)
    for p in ps:
        for form in (fold(p), stem(p)):
            if form and form not in forms:
                forms.append(form)
    return tuple(forms)


_forms = JoinedForms(code_forms, 200_000)


def analyze_code(text: str) -> str:
    """The index forms of a text's identifiers (each identifier's looked up once, in a shared cache)."""
    return " ".join([f for f in map(_forms.__getitem__, IDENTIFIER.findall(text[:MAX_INDEXED])) if f is not None])


def analyze_code_plainly(text: str) -> str:
    """`analyze_code` the straightforward way (the reference it is tested against)."""
    out: list[str] = []
    for match in IDENTIFIER.finditer(text[:MAX_INDEXED]):
        out.extend(code_forms(match.group()))
    return " ".join(out)


_KEYWORD_DEFINITION = (
    r"^\s*(?:(?:async\s+)?def|class|function|func|fn|interface|struct|enum|record|module|Sub|Function)\s+([^\W\d]\w*)"
)
_ACCESS = ("public", "private", "protected", "internal")
_DEFINITION = re.compile(
    _KEYWORD_DEFINITION + r"|^\s*(?:" + "|".join(_ACCESS) + r")\b[^=;(\n]*?\s([^\W\d]\w*)\s*[({]",
    re.UNICODE | re.MULTILINE,
)
# the same without the second branch, which can only match after one of _ACCESS (its lazy scan is slow)
_KEYWORD_ONLY = re.compile(_KEYWORD_DEFINITION, re.UNICODE | re.MULTILINE)


def definitions(text: str) -> list[str]:
    """Names a file defines (functions, classes, methods): they rank that file first for the name."""
    text = text[:MAX_INDEXED]
    if not any(word in text for word in _ACCESS):
        return _KEYWORD_ONLY.findall(text)
    return [m.group(1) or m.group(2) for m in _DEFINITION.finditer(text)]
