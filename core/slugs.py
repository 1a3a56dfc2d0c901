"""Stable slugs from Danish titles.

`Indhentning af børne- og straffeattester` becomes `indhentning-af-boerne-og-straffeattester`.
"""

from __future__ import annotations

import re
import unicodedata

_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ß": "ss"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 120


def slugify(text: str, fallback: str = "proces") -> str:
    folded = text.casefold().translate(_DANISH)
    folded = unicodedata.normalize("NFKD", folded)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    slug = _NON_ALNUM.sub("-", folded).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug or fallback
