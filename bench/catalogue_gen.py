"""A generator of realistic Danish municipal processes, for benchmarks (deterministic by seed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, get_args

from catalogue.vocab import Domain, Phase
from search.documents import Document

ACTIONS = [
    "Indhentning af",
    "Betaling af",
    "Registrering af",
    "Kontrol af",
    "Opkrævning af",
    "Udbetaling af",
    "Journalisering af",
    "Oprettelse af",
    "Afregning af",
    "Overvågning af",
    "Afstemning af",
    "Behandling af",
    "Udsendelse af",
    "Opfølgning på",
    "Validering af",
    "Arkivering af",
]
OBJECTS = [
    "straffeattester",
    "børneattester",
    "tolkeregninger",
    "helbredstillæg",
    "medicinregninger",
    "lægeerklæringer",
    "sygedagpengerefusioner",
    "leverandørfakturaer",
    "indkøbsordrer",
    "affaldsgebyrer",
    "ejendomsskatter",
    "kontanthjælpssager",
    "boligstøttesager",
    "aktindsigtsanmodninger",
    "vikarkonti",
    "brugerrettigheder",
    "ansættelsesbreve",
    "lønsedler",
    "feriepenge",
    "flyttemeddelelser",
    "pasansøgninger",
    "byggetilladelser",
    "parkeringstilladelser",
    "hjælpemidler",
    "madudbringninger",
    "fripladstilskud",
    "skoleindskrivninger",
    "sygefraværssamtaler",
    "restancer",
    "rykkere",
    "kørselsgodtgørelser",
    "udlandsrejser",
    "folkeregisteradresser",
    "pensionsindbetalinger",
    "dødsboer",
    "begravelseshjælp",
    "handicapbiler",
    "tandplejeregninger",
    "dagtilbudspladser",
]
CONTEXTS = [
    "i eDoc",
    "i KMD Opus",
    "via Serviceplatformen",
    "i KMD Nexus",
    "med Digital Post",
    "i SAPA",
    "i KY",
    "i KSD",
    "i Aula",
    "i DUBU",
    "i NemRefusion",
    "fra CPR",
    "i SharePoint",
    "i Outlook",
    "",
]
SYSTEMS = [
    "eDoc",
    "KMD Opus",
    "KMD Nexus",
    "SAPA",
    "KY",
    "KSD",
    "CPR",
    "Digital Post",
    "Serviceplatformen",
    "DUBU",
    "Aula",
    "NemRefusion",
    "SOFD Core",
    "OS2rollekatalog",
    "FK Organisation",
    "SharePoint",
]
TECH = ["Power Automate", "Python", "C#", "UiPath", "Generativ AI", "Blue Prism"]
DOMAINS = list(get_args(Domain))  # the catalogue's own vocabulary, in its order
PHASES = list(get_args(Phase))
SENTENCES = [
    "Robotten henter hver morgen nye sager fra {system} og lægger dem i arbejdskøen.",
    "Sagsbehandleren slipper for at taste de samme oplysninger to gange.",
    "Ved fejl sendes sagen til manuel behandling med en forklaring til medarbejderen.",
    "Softwarerobotten journaliserer alle dokumenter på borgerens sag i {system}.",
    "Processen er beskrevet sammen med {town} Kommune og genbruges af flere kommuner.",
    "Forretningsfejl og systemfejl håndteres forskelligt, så driften kan reagere hurtigt.",
    "Der logges aldrig CPR-numre, og adgangen styres med en servicekonto.",
    "Gevinsten er målt til {minutes} minutter pr. sag efter en baseline-måling.",
    "Robotten kører i {tech} og bruger {system}s API i stedet for skærmklik.",
    "Når en regning ikke kan matches, oprettes en opgave til økonomimedarbejderen.",
    "Borgeren får besked via Digital Post, når sagen er afgjort.",
    "Køhåndteringen sikrer, at ingen sag behandles to gange, og at genkørsel er sikker.",
    "Der er lavet en konsekvensanalyse, fordi processen behandler personoplysninger.",
    "Attester og erklæringer gemmes på personalesagen, og fristerne overvåges dagligt.",
]
TOWNS = ["Greve", "Køge", "Roskilde", "Holbæk", "Næstved", "Slagelse", "Vordingborg", "Lejre", "Ringsted"]


# the municipalities the generated processes belong to (code → name), for benches that write a catalogue
MUNICIPALITIES = {
    "253": "Greve",
    "259": "Køge",
    "265": "Roskilde",
    "316": "Holbæk",
    "326": "Kalundborg",
    "329": "Ringsted",
    "330": "Slagelse",
    "350": "Lejre",
    "370": "Næstved",
    "376": "Guldborgsund",
    "390": "Vordingborg",
}


def municipality_rows(now: Any) -> list[dict[str, Any]]:
    """The `municipalities` rows of MUNICIPALITIES, made at `now`."""
    return [
        {"code": c, "name": name, "aliases": [], "created_at": now, "updated_at": now}
        for c, name in MUNICIPALITIES.items()
    ]


def processes(n: int, seed: int = 7) -> Iterator[Document]:
    rng = random.Random(seed)
    for i in range(n):
        action, obj, ctx = rng.choice(ACTIONS), rng.choice(OBJECTS), rng.choice(CONTEXTS)
        title = f"{action} {obj} {ctx}".strip()
        systems = rng.sample(SYSTEMS, rng.randint(1, 4))
        tech = rng.sample(TECH, rng.randint(1, 2))
        sentences = [
            rng.choice(SENTENCES).format(
                system=rng.choice(systems), tech=tech[0], town=rng.choice(TOWNS), minutes=rng.randint(2, 25)
            )
            for _ in range(rng.randint(3, 40))
        ]
        description = "\n\n".join(" ".join(sentences[j : j + 4]) for j in range(0, len(sentences), 4))
        yield Document(
            type="process",
            id=f"proces-{i}",
            title=title,
            url=f"/processes/proces-{i}",
            summary=f"{title}: {sentences[0]}",
            body=description,
            meta=" · ".join([*systems, *tech]),
            facets={
                "domain": [rng.choice(DOMAINS)],
                "phase": [rng.choice(PHASES)],
                "status": ["active"],
                "system": systems,
                "technology": tech,
                "municipality": [rng.choice(list(MUNICIPALITIES))],
            },
        )


QUERIES = [
    "straffeattester",
    "attest",
    "tolk",
    "helbredstilæg",
    "tolkeregnig",
    "Power Automate",
    "robot",
    "kø",
    "eDoc",
    "sygedagpenge refusion",
    "børneattest",
    "lægeerklæring",
    "fakturaer",
    "Koege",
    "exception handling",
    "CPR",
    "digital post borger",
    "økonomimedarbejder",
    "okonomi",
    "byggetilladelse",
    "",
    "affaldsgebyr ejendomsskat",
    "konsekvensanalyse personoplysninger",
    "restancer rykkere",
    "hjælpemidler",
    "kontanthjælp",
    "vikarkonti nexus",
    "RPA",
    "journalisering af dokumenter",
    "pas",
]
