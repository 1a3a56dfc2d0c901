"""Fixed vocabularies of the catalogue: stored as keys, shown with Danish labels."""

from __future__ import annotations

from typing import Literal

DOMAINS: dict[str, str] = {
    "administration": "Administration",
    "beskaeftigelse": "Beskæftigelse",
    "borgerservice": "Borgerservice",
    "boern_og_unge": "Børn og unge",
    "erhverv": "Erhverv",
    "familie": "Familie",
    "hr_og_loen": "HR og løn",
    "it": "IT",
    "kultur": "Kultur",
    "miljoe": "Miljø",
    "pension": "Pension",
    "social": "Social",
    "sundhed_og_omsorg": "Sundhed og omsorg",
    "teknik": "Teknik",
    "uddannelse": "Uddannelse",
    "oekonomi": "Økonomi",
}

PHASES: dict[str, str] = {
    "idea": "Idé",
    "analysis": "Analyse",
    "development": "Udvikling",
    "test": "Test",
    "operation": "Drift",
    "retired": "Udfaset",
}

STATUSES: dict[str, str] = {
    "active": "Aktiv",
    "on_hold": "På pause",
    "rejected": "Afvist",
    "duplicate": "Dublet",
}

ADOPTION_STATUSES: dict[str, str] = {
    "interested": "Interesse",
    "planned": "Planlagt",
    "implementing": "Under implementering",
    "operation": "I drift",
    "stopped": "Stoppet",
}

VISIBILITIES: dict[str, str] = {
    "network": "Netværket",
    "municipality": "Kun kommunen (kladde)",
}

# Term kinds: free vocabularies kept normalised so facets and renames work.
TERM_KINDS = ("system", "technology", "tag")

Domain = Literal[
    "administration",
    "beskaeftigelse",
    "borgerservice",
    "boern_og_unge",
    "erhverv",
    "familie",
    "hr_og_loen",
    "it",
    "kultur",
    "miljoe",
    "pension",
    "social",
    "sundhed_og_omsorg",
    "teknik",
    "uddannelse",
    "oekonomi",
]
Phase = Literal["idea", "analysis", "development", "test", "operation", "retired"]
Status = Literal["active", "on_hold", "rejected", "duplicate"]
AdoptionStatus = Literal["interested", "planned", "implementing", "operation", "stopped"]
Visibility = Literal["network", "municipality"]
Role = Literal["admin", "editor", "reader"]
TermKind = Literal["system", "technology", "tag"]


def term_key(label: str) -> str:
    """The normalised key of a vocabulary term: case-folded, inner white space collapsed."""
    return " ".join(label.split()).casefold()


def term_label(label: str) -> str:
    return " ".join(label.split())
