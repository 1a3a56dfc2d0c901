"""Snippets: a short piece of the original text with the words that matched the query marked."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from itertools import islice

from search.analysis import AnalyzedQuery, word_forms
from search.code import IDENTIFIER, code_forms

_WORD_SPAN = re.compile(r"[^\W_]+", re.UNICODE)
# (pattern, replacement, a string every match holds: a text without it is left alone without running the pattern)
_MD = [
    (re.compile(r"```.*?```", re.S), " ", "```"),
    (re.compile(r"`([^`]*)`"), r"\1", "`"),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1", "]("),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1", "]("),
    (re.compile(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", re.M), "", "^"),
    (re.compile(r"[*_]{1,3}([^*_]+)[*_]{1,3}"), r"\1", "*_"),
    (re.compile(r"\|"), " ", "|"),
]
# A heading, quote or list mark (the pattern with "^") starts a line: at the start, or after a newline (what `^`
# means with re.M), within 3 spaces. Searched for by its newline (a fast scan), where the pattern itself is tried
# at every position of the text.
_FIRST_LINE_MARK = re.compile(r"\s{0,3}[#>*+\-\d]")
_LINE_MARK = re.compile(r"\n\s{0,3}[#>*+\-\d]")
WINDOW = 28
MATCHER_MEMORY = 50_000  # words whose answer one matcher remembers


def plain_text(markdown: str) -> str:
    """Markdown as the plain words a snippet shows."""
    text = markdown
    for pattern, replacement, needs in _MD:
        if needs == "*_":
            if "*" not in text and "_" not in text:
                continue
        elif needs == "^":
            if not _FIRST_LINE_MARK.match(text) and not _LINE_MARK.search(text):
                continue
        elif needs not in text:
            continue
        text = pattern.sub(replacement, text)
    # what `re.sub(r"\s+", " ", text).strip()` gives (`\s`, split() and strip() share one notion of space)
    return " ".join(text.split())


class Matcher:
    """Decides whether a word of a document matches the (expanded) query; remembers its answers, so the hits of
    one search (and the same search again) analyse each distinct word once (see `matcher_for`)."""

    def __init__(self, exact: frozenset[str], prefixes: tuple[str, ...]) -> None:
        self.exact = exact
        self.prefixes = prefixes
        self._seen: dict[str, bool] = {}
        self._yes: set[str] = set()  # the words seen that match

    def matches(self, word: str) -> bool:
        known = self._seen.get(word)
        if known is None:
            key = word.casefold()
            known = any(form in self.exact or form.startswith(self.prefixes) for form in word_forms(key))
            if len(self._seen) < MATCHER_MEMORY:
                self._seen[word] = known
                if known:
                    self._yes.add(word)
        return known

    def matching(self, words: set[str]) -> set[str]:
        """The words of `words` that match (set operations for the words already seen)."""
        for word in words.difference(self._seen.keys()):
            self.matches(word)
        found = words & self._yes
        if len(self._seen) >= MATCHER_MEMORY:  # past its memory: the rest is decided word by word
            found.update(w for w in words.difference(self._seen.keys()) if self.matches(w))
        return found


def matcher_for(query: AnalyzedQuery) -> Matcher:
    """The matcher of a query's forms (shared by every snippet made for the same forms)."""
    exact: set[str] = set()
    prefixes: list[str] = []
    for term in query.terms:
        exact.update(term.all_exact())
        prefixes.extend(term.prefixes)
        for phrase in term.phrases:
            exact.update(phrase)
        for phrase in term.prefix_phrases:
            exact.update(phrase[:-1])
            prefixes.append(phrase[-1])
    return _matcher(frozenset(exact), tuple(sorted(set(prefixes))))


@lru_cache(maxsize=64)
def _matcher(exact: frozenset[str], prefixes: tuple[str, ...]) -> Matcher:
    return Matcher(exact, prefixes)


def snippet(texts: list[str], query: AnalyzedQuery, window: int = WINDOW) -> str:
    """HTML: the window of the first text with the most matching words, matches in <mark>."""
    matcher = matcher_for(query)
    best: tuple[int, str, int] | None = None
    for text in texts:
        if not text:
            continue
        words = _WORD_SPAN.findall(text)
        if not words:
            continue
        hits: list[int] = []
        if not query.empty:  # each distinct word is looked at once
            matched = matcher.matching(set(words))
            if matched:
                hits = [i for i, word in enumerate(words) if word in matched]
        start, count = _best_window(hits, len(words), window)
        if best is None or count > best[2]:
            best = (start, text, count)
    if best is None:
        return ""
    start, text, _ = best
    spans = list(islice(_WORD_SPAN.finditer(text), start + window + 1))
    end = min(len(spans), start + window)
    more = len(spans) > end
    begin_char = spans[start].start() if start > 0 else 0
    end_char = spans[end - 1].end() if more else len(text)
    out = ["…" if start > 0 else ""]
    cursor = begin_char
    for m in spans[start:end]:
        out.append(html.escape(text[cursor : m.start()]))
        word = m.group()  # letters and digits: nothing to escape
        out.append(f"<mark>{word}</mark>" if not query.empty and matcher.matches(word) else word)
        cursor = m.end()
    out.append(html.escape(text[cursor:end_char]))
    if more:
        out.append("…")
    return "".join(out).strip()


def _best_window(hits: list[int], n: int, window: int) -> tuple[int, int]:
    """(start, matches) of the window with the most hits; it starts a few words before the first."""
    if not hits:
        return 0, 0
    best_start, best_count = 0, 0
    j = 0
    for i, first in enumerate(hits):
        while j < len(hits) and hits[j] < first + window:
            j += 1
        if j - i > best_count:
            best_start, best_count = first, j - i
    start = max(0, min(best_start - 3, n - window))
    return start, best_count


def code_snippet(text: str, query: AnalyzedQuery, max_lines: int = 20_000) -> tuple[str, int | None]:
    """(HTML of the first line whose identifiers match, its 1-based number); the first line if none does."""
    matcher = matcher_for(query)
    strong = {form for term in query.terms for form in term.all_exact()}
    strong_prefixes = tuple(p for term in query.terms for p in term.prefixes)

    def matches(identifier: str) -> bool:
        return any(form in matcher.exact or form.startswith(matcher.prefixes) for form in code_forms(identifier))

    def matches_strongly(identifier: str) -> bool:
        forms = code_forms(identifier)
        return bool(forms) and (
            forms[0] in strong or forms[0].startswith(strong_prefixes) if strong_prefixes else forms[0] in strong
        )

    first: tuple[str, int] | None = None
    weak: tuple[str, int] | None = None
    for number, line in enumerate(text.splitlines()[:max_lines], start=1):
        if first is None and line.strip():
            first = (line, number)
        if query.empty:
            break
        identifiers = [m.group() for m in IDENTIFIER.finditer(line)]
        if any(matches_strongly(i) for i in identifiers):  # the whole identifier asked for
            return _mark_line(line, matches), number
        if weak is None and any(matches(i) for i in identifiers):
            weak = (line, number)
    if weak is not None:
        return _mark_line(weak[0], matches), weak[1]
    if first is None:
        return "", None
    return html.escape(first[0].strip()[:300]), first[1]


def _mark_line(line: str, matches: object) -> str:
    out = []
    cursor = 0
    text = line.rstrip()[:400]
    for m in IDENTIFIER.finditer(text):
        out.append(html.escape(text[cursor : m.start()]))
        word = html.escape(m.group())
        out.append(f"<mark>{word}</mark>" if matches(m.group()) else word)  # type: ignore[operator]
        cursor = m.end()
    out.append(html.escape(text[cursor:]))
    return "".join(out).strip()
