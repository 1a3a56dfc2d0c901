"""Danish text analysis, shared by every search backend for documents and queries alike.

A word becomes a few index *forms*, all plain ASCII `[a-z0-9]`:

- its **fold**: lower case, æ/ø/å written out and then reduced, so that `Køge`, `Koege` and `Koge` (and
  `lægeerklæring` / `laegeerklaering`) give the same form;
- its **stem** (Danish Snowball, with a list of overrides for words it mangles such as `proces`/`processer`;
  English loanwords are not stemmed);
- for a compound, the stems of its **parts** (`straffeattester` → `straffe`, `attest`), found with a Danish
  lexicon, so that a search for the head or the modifier finds the compound;
- for a suspended compound (`børne- og straffeattester`) the **completed** word (`børneattester`).

Queries are analysed the same way and then expanded: prefixes, domain synonyms (a data file) and, for
words the index does not know, the known words one or two letters away (typos).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache

from search.code import code_forms, looks_like_identifier
from search.code import parts as code_parts
from search.stemming import data_lines, english_words, synonym_groups
from search.stemming import fold as fold
from search.stemming import stem as stem
from search.stemming import stopwords as stopwords

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# a word directly followed by a hyphen and then a space: the first half of a suspended compound
_SUSPENDED = re.compile(r"([^\W_]+)-(?=\s|,)", re.UNICODE)
_JOINERS = frozenset({"og", "eller", "samt"})
MAX_QUERY_WORDS = 32
MIN_HEAD = 4
KNOWN_MIN_HEAD = 5
MIN_MODIFIER = 3
MAX_WORD = 100  # longer runs of letters are cut (no word is that long)
MAX_COMPOUND = 40  # longer "words" are not split (no real compound is; keeps the work bounded)


@cache
def _lexicon() -> frozenset[str]:
    general = {stem(w) for w in data_lines("lexicon_da.txt") if len(w) >= MIN_MODIFIER}
    domain = {stem(w) for w in data_lines("lexicon_domain.txt")}  # may be short: kø, it
    return frozenset((general - {stem(w) for w in stopwords()}) | domain)


def is_word(word: str) -> bool:
    """Whether the lexicon knows this word (in any inflection)."""
    return (len(word) >= MIN_MODIFIER or word in _short_domain_words()) and stem(word) in _lexicon()


@cache
def _short_domain_words() -> frozenset[str]:
    """Short domain words that still make compounds: kø (køhåndtering), sag (personalesag)."""
    return frozenset(w for w in data_lines("lexicon_domain.txt") if len(w) < MIN_HEAD)


def split_compound(word: str) -> tuple[str, ...] | None:
    """The parts of a Danish compound (`straffeattester` → `straffe`, `attester`), or None.

    The head is the longest known word that ends the compound; what comes before it, less a linking
    `s` or `e`, must be a known word or a compound itself.
    """
    splits = compound_splits(word)
    return splits[0] if splits else None


@lru_cache(maxsize=200_000)
def compound_splits(word: str) -> tuple[tuple[str, ...], ...]:
    """Every plausible split of a compound, the longest head first (at most three).

    `enkeltydelser` is both enkel+tydelser and enkelt+ydelser: both are indexed, so neither is lost.
    """
    if not MIN_HEAD + 2 <= len(word) <= MAX_COMPOUND or not word.isalpha() or word in english_words():
        return ()
    # A word the lexicon knows is split only into a long head (registrering is not registre+ring).
    min_head = KNOWN_MIN_HEAD if is_word(word) else MIN_HEAD
    found: list[tuple[str, ...]] = []
    for i in range(2, len(word) - 2):
        head = word[i:]
        if len(head) < min_head and head not in _short_domain_words():
            continue
        if not is_word(head):
            continue
        modifier = _modifier(word[:i])
        if not modifier:
            continue
        # Beyond the first, only plain two-part readings with a real head: enkelt+ydelser, not straf+feat+tester.
        if found and (len(modifier) > 1 or len(head) < KNOWN_MIN_HEAD):
            continue
        found.append((*modifier, head))
        if len(found) == 3:
            break
    return tuple(found)


def _modifier(left: str) -> tuple[str, ...] | None:
    candidates = [left]
    if left.endswith(("s", "e")) and len(left) > 2:
        candidates.append(left[:-1])
    for candidate in candidates:
        if is_word(candidate):
            return (candidate,)
    for candidate in candidates:
        parts = split_compound(candidate)
        if parts:
            return parts
    return None


def word_forms(word: str) -> tuple[str, ...]:
    """The index forms of one lower-case word: fold, stem, and the stems of its compound parts."""
    return _word_forms(word[:MAX_WORD])


@lru_cache(maxsize=500_000)
def _word_forms(word: str) -> tuple[str, ...]:
    forms = [fold(word)]
    s = stem(word)
    if s not in forms:
        forms.append(s)
    for parts in compound_splits(word):
        for part in parts:
            if part in stopwords():
                continue
            for form in (stem(part), fold(part)):
                if form not in forms:
                    forms.append(form)
    return tuple(forms)


# ---------------------------------------------------------------- text level


def words(text: str) -> list[str]:
    """The lower-case words of a text, with suspended compounds completed.

    `børne- og straffeattester` → `børne`, `og`, `straffeattester`, `børneattester`.
    """
    lowered = text.casefold()
    found = _WORD.findall(lowered)
    completed = list(_completed_suspensions(lowered))
    return found + completed


def _completed_suspensions(text: str) -> Iterator[str]:
    for match in _SUSPENDED.finditer(text):
        rest = text[match.end() :]
        following = _WORD.findall(rest[:120])
        # skip joiners and further suspended halves: "børne-, ungdoms- og straffeattester"
        for candidate in following[:6]:
            if candidate in _JOINERS:
                continue
            parts = split_compound(candidate)
            if parts and rest.find(candidate + "-") != rest.find(candidate):
                head = parts[-1]
                yield match.group(1) + head
                break
            if parts:
                yield match.group(1) + parts[-1]
                break


def analyze(text: str) -> str:
    """A text as the space-separated index forms of its words (what the backends index)."""
    out: list[str] = []
    for word in words(text):
        out.extend(word_forms(word))
    return " ".join(out)


# ---------------------------------------------------------------- queries


@dataclass
class QueryTerm:
    """One query word (or synonym alternative) with the forms that may match it."""

    text: str
    exact: list[str] = field(default_factory=list)  # forms that must match a whole index token
    prefixes: list[str] = field(default_factory=list)  # forms that may match the start of a token
    phrases: list[list[str]] = field(default_factory=list)  # multi-word alternatives (synonyms)
    fuzzy: list[str] = field(default_factory=list)  # known tokens one or two letters away

    def all_exact(self) -> list[str]:
        return self.exact + self.fuzzy

    def reduced(self) -> tuple[list[str], list[str]]:
        """(whole forms, prefixes) to match, without redundancy: a prefix makes every longer form starting with
        it redundant, and a shorter prefix a longer one (each alternative costs the backends scoring time)."""
        kept: list[str] = []
        for p in sorted({p for p in self.prefixes if p}, key=len):
            if not any(p.startswith(k) for k in kept):
                kept.append(p)
        whole = [f for f in dict.fromkeys(self.all_exact()) if f and not any(f.startswith(k) for k in kept)]
        return whole, kept


@dataclass
class AnalyzedQuery:
    text: str
    terms: list[QueryTerm]

    @property
    def empty(self) -> bool:
        return not self.terms


def _query_words(text: str) -> list[str]:
    ws = [w for w in _WORD.findall(text[:2000].casefold()) if w not in stopwords()]
    return ws[:MAX_QUERY_WORDS]


@cache
def _synonym_index() -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """(stems of one alternative, stems of every alternative in its group)."""
    index = []
    for group in synonym_groups():
        analyzed = [tuple(stem(w) for w in _WORD.findall(alt)) for alt in group]
        analyzed = [a for a in analyzed if a]
        for alt in analyzed:
            index.append((alt, analyzed))
    index.sort(key=lambda item: -len(item[0]))
    return index


def parse_query(text: str) -> AnalyzedQuery:
    """Analyse what a person typed. Never fails: any text gives terms or an empty query.

    Identifiers (`hent_straffeattest`, `eDocClient`) become code terms; the other words prose terms.
    """
    terms: list[QueryTerm] = []
    prose: list[str] = []
    for chunk in text[:2000].split()[: MAX_QUERY_WORDS * 2]:
        stripped = chunk.strip("\"'()[]{}.,;:!?*")
        if looks_like_identifier(stripped):
            if prose:
                terms.extend(_prose_terms(" ".join(prose)))
                prose = []
            forms = code_forms(stripped)
            term = QueryTerm(text=stripped, exact=[forms[0]], prefixes=[forms[0]])
            words_of = [stem(p) for p in code_parts(stripped) if p not in stopwords()]
            if len(words_of) > 1:
                term.phrases.append(words_of)
            terms.append(term)
        else:
            prose.append(chunk)
    if prose:
        terms.extend(_prose_terms(" ".join(prose)))
    return AnalyzedQuery(text=text, terms=terms[:MAX_QUERY_WORDS])


def _prose_terms(text: str) -> list[QueryTerm]:
    ws = _query_words(text)
    stems = [stem(w) for w in ws]
    terms: list[QueryTerm] = []
    i = 0
    while i < len(ws):
        synonyms = None
        length = 1
        for alt, group in _synonym_index():
            n = len(alt)
            if tuple(stems[i : i + n]) == alt:
                synonyms, length = group, n
                break
        phrase_words = ws[i : i + length]
        term = QueryTerm(text=" ".join(phrase_words))
        if length == 1:
            _add_word(term, ws[i])
        else:
            term.phrases.append([stem(w) for w in phrase_words])
        for alt in synonyms or []:
            if len(alt) == 1:
                for form in (alt[0],):
                    if form not in term.exact:
                        term.exact.append(form)
            elif list(alt) not in term.phrases:
                term.phrases.append(list(alt))
        terms.append(term)
        i += length
    return terms


def _add_word(term: QueryTerm, word: str) -> None:
    for form in (fold(word), stem(word)):
        if form not in term.exact:
            term.exact.append(form)
        if len(form) >= 4 and form not in term.prefixes:
            term.prefixes.append(form)
    parts = split_compound(word)
    if parts:  # `lægeerklæring` also finds "erklæring fra lægen"
        term.phrases.append([stem(part) for part in parts])


def allowed_typos(form: str) -> int:
    """Letters that may be wrong: none in short words, one from 5 letters, two from 8."""
    if len(form) >= 8:
        return 2
    if len(form) >= 5:
        return 1
    return 0
