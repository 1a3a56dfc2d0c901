"""Danish text analysis, shared by every search backend for documents and queries alike.

A word becomes a few index *forms*, all plain ASCII `[a-z0-9]`:

- its **fold**: lower case, æ/ø/å written out and then reduced, so that `Køge`, `Koege` and `Koge` (and
  `lægeerklæring` / `laegeerklaering`) give the same form;
- its **stem** (Danish Snowball, with a list of overrides for words it mangles such as `proces`/`processer`;
  English loanwords are not stemmed);
- for a compound, the stems of its **parts** (`straffeattester` → `straffe`, `attest`), found with a Danish
  lexicon, so that a search for the head or the modifier finds the compound;
- for a suspended compound (`børne- og straffeattester`) the **completed** word (`børneattester`).

A stop word (`og`, `af`, `til`) has no forms in the index: queries never search for one.

Queries are analysed the same way and then expanded: prefixes, domain and everyday synonyms (a data file; also
for the parts of a compound: `papirregninger` finds `papirfakturaer`), English words and phrases mapped to the
Danish terms (`english_da.txt`: `invoice matching` finds fakturamatch), and for words the index does not know,
the known words one or two letters away (typos). A word the lexicon cannot split is tried as a known modifier
followed by a misspelt or half-typed head (`bankafstemmning`, `bankafst` → bank + afstemning / afst…). Question
words and everyday fillers (`weak_words.txt`) are left out when the query has other words.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from search.code import code_forms, looks_like_identifier
from search.code import parts as code_parts
from search.stemming import (
    JoinedForms,
    data_lines,
    english_danish,
    english_stem,
    english_words,
    synonym_groups,
    weak_words,
)
from search.stemming import fold as fold
from search.stemming import stem as stem
from search.stemming import stopwords as stopwords

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_WORD_CHARS = re.compile(r"\w+", re.UNICODE)  # _WORD in a text without "_" (faster: one category, no set)
# a word directly followed by a hyphen and then a space: the first half of a suspended compound
_SUSPENDED = re.compile(r"([^\W_]+)-(?=\s|,)", re.UNICODE)
# the hyphen of one: found by a fast scan for "-", then the word is read backwards from it (the pattern above,
# run over a whole text, backtracks through every word at every letter)
_SUSPENDING_HYPHEN = re.compile(r"-(?=\s|,)")
_JOINERS = frozenset({"og", "eller", "samt"})
MAX_QUERY_WORDS = 32
CONTEXT_WORDS = 2  # a query's context words searched beside its own (the context's rarest)
MIN_HEAD = 4
KNOWN_MIN_HEAD = 5
MIN_MODIFIER = 3
MAX_WORD = 100  # longer runs of letters are cut (no word is that long)
MAX_COMPOUND = 40  # longer "words" are not split (no real compound is; keeps the work bounded)
MAX_REPAIRS = 3  # modifier + repaired head readings tried for a word the lexicon cannot split
MAX_PART_SYNONYMS = 8  # compound readings with a synonym in place of a part


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
        if min_head == KNOWN_MIN_HEAD and not _plausible(modifier, head):
            # a known word whose reading with the longest head is implausible is not split at all: its shorter
            # heads are mostly its own endings (borgerens: not bor + gerens, nor borg + erens)
            break
        # Beyond the first, only plain two-part readings with a real head: enkelt+ydelser, not straf+feat+tester.
        if found and (len(modifier) > 1 or len(head) < KNOWN_MIN_HEAD):
            continue
        found.append((*modifier, head))
        if len(found) == 3:
            break
    return tuple(found)


# Endings (-else, -ing, -ning, -hed, -ion, -ist …) by their stems: a general word list also has them as words (names,
# abbreviations, foreign words), but they never make the head of a word the lexicon knows (afgørelsen is not
# afgør + elsen, regninger not regn + inger)
_ENDINGS = frozenset(
    {"els", "ing", "ning", "ling", "ion", "hed", "ist", "ern", "eren", "ett", "end", "ent", "ere", "ens"}
)


@cache
def _short_modifiers() -> frozenset[str]:
    """Words of fewer than four letters that begin real compounds (jobcenter, dagtilbud, målgruppe, køhåndtering),
    folded (so `lonmodtager` splits as `lønmodtager` does)."""
    return frozenset(fold(w) for w in (*_short_domain_words(), *data_lines("short_modifiers.txt")))


def _short_modifier(part: str) -> bool:
    """Whether a modifier's part is long enough, or a short word that begins compounds."""
    return len(part) >= MIN_HEAD or fold(part) in _short_modifiers()


def _plausible(modifier: tuple[str, ...], head: str) -> bool:
    """Whether a split of a word the lexicon knows is one: its modifier's parts words of four letters or more (or
    short ones known to begin compounds: job, dag, mål), its head not an ending. The general word list has many
    short words (bor, rob, sys, per, reg) that would otherwise split every word they begin: borgeren is not
    bor + geren, systemer not sys + temer, robotten not rob + otten."""
    return stem(head) not in _ENDINGS and all(map(_short_modifier, modifier))


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
    found = _latin1_words(text)
    lowered = None
    if found is None:
        lowered = text.casefold()
        found = _WORD_CHARS.findall(lowered.replace("_", " ") if "_" in lowered else lowered)
    # no hyphen before a space or comma, no suspended compound (case-folding moves neither: looked for in the text)
    if "-" in text and _SUSPENDING_HYPHEN.search(text):
        found.extend(_completed_suspensions(text.casefold() if lowered is None else lowered))
    return found


def _latin1_word_byte(byte: int) -> int:
    char = chr(byte)
    if not _WORD.match(char):
        return ord(" ")
    folded = char.casefold()
    return ord(folded) if len(folded) == 1 and ord(folded) < 256 else byte


# Latin-1 (most Danish and English text): each letter or digit case-folded, any other character a space, so that
# `str.split` gives what _WORD finds in the case-folded text, far faster. `µ` and `ß` fold to what Latin-1 has not
# (μ, ss): a text with them takes the regular expression.
_LATIN1_WORDS = bytes(map(_latin1_word_byte, range(256)))


def _latin1_words(text: str) -> list[str] | None:
    """The case-folded words of a Latin-1 text without `µ` and `ß` by a byte table; None for any other text."""
    if "µ" in text or "ß" in text:
        return None
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return data.translate(_LATIN1_WORDS).decode("latin-1").split()


def _completed_suspensions(text: str) -> Iterator[str]:
    """The completed words of the suspended compounds of a lower-case text (`børne- og straffeattester` →
    `børneattester`): the first half joined to the head of the next compound within a few words."""
    for hyphen in _SUSPENDING_HYPHEN.finditer(text):
        end = start = hyphen.start()
        while start and text[start - 1].isalnum():  # [^\W_] is exactly str.isalnum
            start -= 1
        if start == end:
            continue
        # skip joiners and further suspended halves: "børne-, ungdoms- og straffeattester"
        for candidate in _WORD.findall(text, hyphen.end(), hyphen.end() + 120)[:6]:
            if candidate in _JOINERS:
                continue
            parts = split_compound(candidate)
            if parts:
                yield text[start:end] + parts[-1]
                break


def _completed_suspensions_plainly(text: str) -> Iterator[str]:
    """`_completed_suspensions` the straightforward way, with `_SUSPENDED` (the reference it is tested against)."""
    for match in _SUSPENDED.finditer(text):
        rest = text[match.end() :]
        for candidate in _WORD.findall(rest[:120])[:6]:
            if candidate in _JOINERS:
                continue
            parts = split_compound(candidate)
            if parts:
                yield match.group(1) + parts[-1]
                break


def index_forms(word: str) -> tuple[str, ...]:
    """The forms a lower-case word is indexed under: its `word_forms`, none for a stop word (a query never searches
    for one: `_query_words` drops them, and so do phrases and compound parts). Indexed, they were a tenth of a
    generated process's distinct forms and a sixth of its body's tokens."""
    return () if word in stopwords() else word_forms(word)


MAX_CACHED_WORDS = 200_000
_forms = JoinedForms(index_forms, MAX_CACHED_WORDS)


def analyze(text: str) -> str:
    """A text as the space-separated index forms of its words (what the backends index)."""
    # Equal to " ".join(f for w in words(text) for f in index_forms(w)) (`analyze_plainly`), a word looked up once
    return " ".join(filter(None, map(_forms.__getitem__, words(text))))


def analyze_plainly(text: str) -> str:
    """`analyze` the straightforward way, without the cache of joined forms (the reference it is tested against)."""
    lowered = text.casefold()
    out: list[str] = []
    for word in [*_WORD.findall(lowered), *_completed_suspensions_plainly(lowered)]:
        out.extend(index_forms(word))
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
    # multi-word alternatives whose last word is a prefix (a half-typed compound: bank + afst…)
    prefix_phrases: list[list[str]] = field(default_factory=list)
    typos: bool = True  # False for English words: never corrected into a Danish word
    own: list[str] = field(default_factory=list)  # the forms of the word itself (not of its synonyms)
    unknown: bool = False  # set by a backend: the index has no word of this form (typo tolerance applies)

    def all_exact(self) -> list[str]:
        return self.exact + self.fuzzy

    def whole_words(self) -> tuple[list[str], list[str]]:
        """(whole forms, prefixes) of the word itself and its typo corrections, without synonyms or parts."""
        whole, prefixes = self.reduced()
        return [f for f in whole if f in self.own or f in self.fuzzy], prefixes

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


def _term_forms(term: QueryTerm) -> tuple[str, ...]:
    return (*term.exact, "|", *term.prefixes, "|", *(" ".join(p) for p in term.phrases + term.prefix_phrases))


def distinctive(terms: Sequence[QueryTerm], context: Sequence[QueryTerm], counts: Sequence[int]) -> list[int]:
    """The positions of the context's terms searched beside the query's `terms`, in their order: its CONTEXT_WORDS
    rarest by their document counts (`counts`), of the words the index knows that are not among `terms` already.
    A rare word tells most of which documents a text duplicates, and a common one costs a search the most."""
    seen = {_term_forms(t) for t in terms}
    chosen: list[int] = []
    for i in sorted(range(len(context)), key=lambda i: (counts[i], i)):
        if len(chosen) == CONTEXT_WORDS:
            break
        if counts[i] and _term_forms(context[i]) not in seen:
            seen.add(_term_forms(context[i]))
            chosen.append(i)
    return sorted(chosen)


def _query_words(text: str) -> list[str]:
    """The query's words without stop words; weak words (question words, fillers) only when nothing else is left."""
    ws = [w for w in _WORD.findall(text[:2000].casefold()) if w not in stopwords()]
    strong = [w for w in ws if w not in weak_words()]
    return (strong or ws)[:MAX_QUERY_WORDS]


@cache
def _synonym_index() -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """(stems of one alternative, stems of every alternative in its group)."""
    index = []
    for group in synonym_groups():
        # (without stop words: a query has none, and the index neither: `løn- og økonomisystem` is løn økonomisystem)
        analyzed = [tuple(stem(w) for w in _WORD.findall(alt) if w not in stopwords()) for alt in group]
        analyzed = [a for a in analyzed if a]
        for alt in analyzed:
            index.append((alt, analyzed))
    index.sort(key=lambda item: -len(item[0]))
    return index


@cache
def _word_synonyms() -> dict[str, list[tuple[str, ...]]]:
    """The stem of a one-word synonym → the other alternatives of its group (for the parts of compounds)."""
    found: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for alt, group in _synonym_index():
        if len(alt) == 1:
            found[alt[0]].extend(g for g in group if g != alt and g not in found[alt[0]])
    return dict(found)


@cache
def _english_index() -> list[tuple[tuple[str, ...], list[str]]]:
    """(English stems of a word or phrase without its function words, its Danish terms), longest first."""
    merged: dict[tuple[str, ...], list[str]] = {}
    for english, danish in english_danish():
        key = tuple(english_stem(w) for w in _WORD.findall(english) if w not in stopwords() and w not in weak_words())
        if key:
            merged.setdefault(key, [])
            merged[key].extend(d for d in danish if d not in merged[key])
    return sorted(merged.items(), key=lambda item: -len(item[0]))


@cache
def _english_stems() -> frozenset[str]:
    """The English stems the English layer knows (such words are never typo-corrected into Danish ones)."""
    return frozenset(w for key, _ in _english_index() for w in key)


def parse_query(text: str) -> AnalyzedQuery:
    """Analyse what a person typed. Never fails: any text gives terms or an empty query.

    Identifiers (`hent_straffeattest`, `eDocClient`) become code terms; the other words prose terms.
    """
    terms: list[QueryTerm] = []
    prose: list[str] = []
    for chunk in text[:2000].split()[: MAX_QUERY_WORDS * 2]:
        stripped = chunk.strip("\"'()[]{}.,;:!?*")
        forms = code_forms(stripped) if looks_like_identifier(stripped) else ()
        if forms:  # an identifier (one whose every letter folds to nothing is searched as prose)
            if prose:
                terms.extend(_prose_terms(" ".join(prose)))
                prose = []
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
    english = [english_stem(w) for w in ws]
    terms: list[QueryTerm] = []
    i = 0
    while i < len(ws):
        synonyms: list[tuple[str, ...]] = []
        length = 1
        for alt, group in _synonym_index():
            if tuple(stems[i : i + len(alt)]) == alt:
                synonyms, length = group, len(alt)
                break
        translations: list[str] = []
        for key, danish in _english_index():
            if len(key) >= length and tuple(english[i : i + len(key)]) == key:
                translations, length = danish, len(key)
                if len(key) > len(synonyms[0] if synonyms else ()):
                    synonyms = []
                break
        phrase_words = ws[i : i + length]
        term = QueryTerm(text=" ".join(phrase_words))
        if length == 1:
            _add_word(term, ws[i])
        else:
            term.phrases.append([stem(w) for w in phrase_words])
        for alt in synonyms:
            _add_stems(term, list(alt))
        for meaning in translations:
            _add_alternative(term, meaning)
        if translations or all(e in _english_stems() for e in english[i : i + length]):
            term.typos = False
        terms.append(term)
        i += length
    return terms


def _add_stems(term: QueryTerm, stems: list[str]) -> None:
    if len(stems) == 1:
        if stems[0] not in term.exact:
            term.exact.append(stems[0])
    elif stems not in term.phrases:
        term.phrases.append(stems)


def _add_alternative(term: QueryTerm, text: str) -> None:
    """A Danish word or phrase that the term also means (an English word's translation)."""
    ws = [w for w in _WORD.findall(text.casefold()) if w not in stopwords()]
    if len(ws) == 1:
        _add_word(term, ws[0])
    elif ws:
        _add_stems(term, [stem(w) for w in ws])


def _add_word(term: QueryTerm, word: str) -> None:
    for form in (fold(word), stem(word)):
        if form not in term.exact:
            term.exact.append(form)
        if form not in term.own:
            term.own.append(form)
        if len(form) >= 4 and form not in term.prefixes:
            term.prefixes.append(form)
    splits = compound_splits(word)
    for parts in splits:  # `lægeerklæring` also finds "erklæring fra lægen"
        _add_stems(term, [stem(part) for part in parts])
    if splits:
        for variant in _part_synonyms(splits[0]):
            _add_stems(term, variant)
    if splits and not is_word(word) and len(splits[0][-1]) == MIN_HEAD:
        # a head of four letters may be half-typed too: `tolkebest` is tolke + best, and tolke + best…
        # (`tolkebestilling`); not a shorter one (a domain word: `personalesag`), whose prefix begins too many words
        half = [*(stem(p) for p in splits[0][:-1] if p not in stopwords()), fold(splits[0][-1])]
        if half not in term.prefix_phrases:
            term.prefix_phrases.append(half)
    # not a known word, and no split or only one into short pieces (ban+kaf+tem+ning): a misspelt or half-typed head?
    if len(word) > 2 * MIN_MODIFIER and not is_word(word) and (not splits or min(map(len, splits[0])) < MIN_HEAD):
        for stems, prefix in _repairs(word):
            if prefix:
                if stems not in term.prefix_phrases:
                    term.prefix_phrases.append(stems)
            else:
                _add_stems(term, stems)
                for variant in _part_synonyms(tuple(stems), stemmed=True):
                    _add_stems(term, variant)


def _part_synonyms(parts: tuple[str, ...], stemmed: bool = False) -> list[list[str]]:
    """A compound's readings with a synonym in place of one part or a run of parts: `papir` + `regninger` →
    papir faktura; `hjemme` + `hjælp` + `visitation` → hjemmepleje visitation."""
    stems = list(parts) if stemmed else [stem(p) for p in parts]
    variants: list[list[str]] = []
    for i in range(len(parts)):
        for j in range(i + 1, len(parts) + 1):
            run = parts[i] if stemmed and j == i + 1 else stem("".join(parts[i:j]))
            for alt in _word_synonyms().get(run, ()):
                variant = [*stems[:i], *alt, *stems[j:]]
                if variant not in variants:
                    variants.append(variant)
                if len(variants) >= MAX_PART_SYNONYMS:
                    return variants
    return variants


@cache
def _lexicon_sorted() -> list[str]:
    return sorted(_lexicon())


@cache
def _lexicon_by_length() -> dict[int, list[str]]:
    by_length: dict[int, list[str]] = defaultdict(list)
    for word in _lexicon():
        by_length[len(word)].append(word)
    return dict(by_length)


def _lexicon_near(form: str) -> list[str]:
    """Lexicon stems one or two letters away from `form` (two from 8 letters), the nearest first, at most two."""
    distance = allowed_typos(form)
    if not distance:
        return []
    candidates = [
        w for n in range(len(form) - distance, len(form) + distance + 1) for w in _lexicon_by_length().get(n, ())
    ]
    return [w for w, _, _ in extract(form, candidates, scorer=OSA.distance, score_cutoff=distance, limit=2)]


def _lexicon_has_prefix(prefix: str) -> bool:
    words = _lexicon_sorted()
    i = bisect.bisect_left(words, prefix)
    return i < len(words) and words[i].startswith(prefix)


@lru_cache(maxsize=20_000)
def _repairs(word: str) -> tuple[tuple[list[str], bool], ...]:
    """A compound the lexicon cannot split, read as a known modifier followed by a misspelt head (the head's
    nearest lexicon words) or a half-typed one (a prefix of a lexicon word): (stems, last one is a prefix)."""
    found: list[tuple[list[str], bool]] = []
    for i in range(MIN_MODIFIER, len(word) - MIN_MODIFIER + 1):  # the longest head first
        modifier = _modifier(word[:i])
        if not modifier or not all(map(_short_modifier, modifier)):
            continue
        head = word[i:]
        stems = [stem(p) for p in modifier if p not in stopwords()]
        near = _lexicon_near(stem(head)) if len(head) >= 5 else []
        for fixed in near:
            found.append(([*stems, fixed], False))
        if not near and len(head) >= MIN_MODIFIER and _lexicon_has_prefix(fold(head)):
            found.append(([*stems, fold(head)], True))
        if len(found) >= MAX_REPAIRS:
            break
    return tuple(found[:MAX_REPAIRS])


def corrections(query: AnalyzedQuery) -> dict[str, list[list[str]]]:
    """The words of a query the index does not know, and what was searched instead: word → alternatives, each
    the forms one word of a hit must all have (a known word one or two letters away; a repaired compound's
    parts). Empty when every word was known."""
    found = {}
    for term in query.terms:
        if term.unknown and (term.fuzzy or term.phrases):
            found[term.text] = [[f] for f in term.fuzzy] + [list(p) for p in term.phrases]
    return found


def allowed_typos(form: str) -> int:
    """Letters that may be wrong: none in short words, one from 5 letters, two from 8."""
    if len(form) >= 8:
        return 2
    if len(form) >= 5:
        return 1
    return 0
