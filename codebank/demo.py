"""Demo repositories: real git repositories with commits and tags, made on the spot (people invented)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

from git import Actor as GitActor
from git import Repo

AUTHOR = GitActor("Mette Lund", "mette.lund@greve-demo.dk")
START = dt.datetime(2023, 3, 1, 9, 0, tzinfo=dt.UTC)

STRAFFEATTEST = "straffeattest-robot"
TOLK = "tolkeregninger-flow"
EDOC = "edoc-api-klient"
PRINCIPLES = "kodeprincipper"


def _commit(repo: Repo, files: dict[str, str], message: str, when: dt.datetime, tag: str | None = None) -> None:
    root = Path(repo.working_tree_dir or ".")
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content).lstrip("\n"), "utf-8")
    repo.index.add(list(files))
    stamp = f"{int(when.timestamp())} +0000"
    repo.index.commit(message, author=AUTHOR, committer=AUTHOR, author_date=stamp, commit_date=stamp)
    if tag:
        with repo.git.custom_environment(GIT_COMMITTER_DATE=stamp):  # the tag is as old as its commit
            repo.create_tag(tag, message=f"Version {tag}")


def _init(path: Path) -> Repo:
    repo = Repo.init(path, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", AUTHOR.name)
        cfg.set_value("user", "email", AUTHOR.email)
    return repo


def make_straffeattest_robot(path: Path) -> None:
    repo = _init(path)
    _commit(
        repo,
        {
            "README.md": """
            # Straffeattest-robotten

            Python-robot, der bestiller børne- og straffeattester hos politiet, når en ny medarbejder er ansat,
            og journaliserer attesten på personalesagen i eDoc. Sagerne behandles fra en arbejdskø, så en fejl
            aldrig taber en ansættelse.

            ## Sådan kører den

            ```sh
            python -m straffeattest_robot --koe ansaettelser
            ```

            | Trin | System |
            |---|---|
            | Hent nye ansættelser | KMD Opus |
            | Bestil attest | Politiets attestløsning |
            | Journalisér | eDoc |
            """,
            "rpabank.yaml": """
            name: Straffeattest-robotten
            summary: Bestiller børne- og straffeattester og journaliserer dem i eDoc.
            processes: [indhentning-af-boerne-og-straffeattester]
            technologies: [Python]
            systems: [Politiets attestløsning, eDoc, KMD Opus]
            principles: [koe-haandtering, fejlhaandtering, logning-uden-cpr, ingen-hemmeligheder-i-git]
            licence: MPL-2.0
            """,
            "pyproject.toml": """
            [project]
            name = "straffeattest-robot"
            version = "1.0.0"
            requires-python = ">=3.11"
            dependencies = ["httpx"]

            [project.scripts]
            straffeattest-robot = "straffeattest_robot.__main__:main"
            """,
            "src/straffeattest_robot/__init__.py": '"""Straffeattest-robotten."""\n',
            "src/straffeattest_robot/__main__.py": """
            from straffeattest_robot.koe import WorkQueue
            from straffeattest_robot.politi import hent_straffeattest_fra_politiet
            from straffeattest_robot.edoc import journaliser_attest
            from straffeattest_robot.fejl import ForretningsFejl


            def behandl(sag):
                attest = hent_straffeattest_fra_politiet(sag["ansaettelse_id"])
                journaliser_attest(sag["personalesag"], attest)


            def main():
                koe = WorkQueue("ansaettelser")
                for sag in koe:
                    try:
                        behandl(sag)
                        koe.afslut(sag)
                    except ForretningsFejl as fejl:
                        koe.til_manuel_behandling(sag, str(fejl))


            if __name__ == "__main__":
                main()
            """,
            "src/straffeattest_robot/koe.py": """
            class WorkQueue:
                \"\"\"Arbejdskø: hver sag behandles én gang; genkørsel er sikker.\"\"\"

                def __init__(self, navn):
                    self.navn = navn
                    self.sager = []

                def __iter__(self):
                    return iter(list(self.sager))

                def afslut(self, sag):
                    sag["status"] = "afsluttet"

                def til_manuel_behandling(self, sag, aarsag):
                    sag["status"] = "manuel"
                    sag["aarsag"] = aarsag
            """,
            "src/straffeattest_robot/fejl.py": """
            class ForretningsFejl(Exception):
                \"\"\"Sagen kan ikke behandles automatisk; sagsbehandleren får en forklaring.\"\"\"


            class SystemFejl(Exception):
                \"\"\"Et system svarer ikke; sagen prøves igen senere.\"\"\"
            """,
            "src/straffeattest_robot/politi.py": """
            from straffeattest_robot.fejl import SystemFejl


            def hent_straffeattest_fra_politiet(ansaettelse_id, klient=None):
                \"\"\"Bestil og hent en straffeattest i politiets attestløsning. CPR-numre logges aldrig.\"\"\"
                if klient is None:
                    raise SystemFejl("ingen forbindelse til attestløsningen")
                return klient.bestil(ansaettelse_id, attesttype="straffeattest")
            """,
            "src/straffeattest_robot/edoc.py": """
            def journaliser_attest(personalesag, attest, edoc_client=None):
                \"\"\"Læg attesten på personalesagen gennem eDoc's API (API før UI).\"\"\"
                if edoc_client is None:
                    return None
                return edoc_client.tilfoej_dokument(personalesag, attest, titel="Straffeattest")
            """,
        },
        "Første version: bestil straffeattester fra en arbejdskø",
        START,
        tag="v1.0.0",
    )
    _commit(
        repo,
        {
            "src/straffeattest_robot/politi.py": """
            import time

            from straffeattest_robot.fejl import SystemFejl


            def hent_straffeattest_fra_politiet(ansaettelse_id, klient=None, forsoeg=3):
                \"\"\"Bestil og hent en straffeattest; prøv igen ved systemfejl. CPR-numre logges aldrig.\"\"\"
                for runde in range(forsoeg):
                    try:
                        if klient is None:
                            raise SystemFejl("ingen forbindelse til attestløsningen")
                        return klient.bestil(ansaettelse_id, attesttype="straffeattest")
                    except SystemFejl:
                        time.sleep(2 ** runde)
                raise SystemFejl("attestløsningen svarede ikke efter flere forsøg")


            def hent_boerneattest_fra_politiet(ansaettelse_id, klient=None):
                \"\"\"Børneattester bestilles på samme måde; samtykke skal foreligge.\"\"\"
                return hent_straffeattest_fra_politiet(ansaettelse_id, klient)
            """,
        },
        "Genforsøg med voksende pause ved systemfejl; børneattester",
        START + dt.timedelta(days=60),
        tag="v1.1.0",
    )
    _commit(
        repo,
        {"CHANGELOG.md": "# Ændringer\n\n- 1.1.0: genforsøg ved systemfejl, børneattester.\n"},
        "Ændringslog",
        START + dt.timedelta(days=75),
    )


def make_tolkeregninger_flow(path: Path) -> None:
    repo = _init(path)
    definition: dict[str, Any] = {
        "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
        "triggers": {"Ny_tolkeregning_i_postkassen": {"type": "OpenApiConnection"}},
        "actions": {
            "Find_bestilling_i_bookinglisten": {"type": "OpenApiConnection"},
            "Kontroller_takst_mod_rammeaftalen": {"type": "If"},
            "Send_til_betaling_i_KMD_Opus": {"type": "OpenApiConnection"},
            "Fejlhaandtering_send_til_manuel_behandling": {
                "type": "Scope",
                "runAfter": {"Kontroller_takst_mod_rammeaftalen": ["Failed"]},
            },
        },
    }
    _commit(
        repo,
        {
            "README.md": """
            # Tolkeregninger – Power Automate-flow

            Eksport af det flow, der kontrollerer tolkeregninger mod bestillingen og rammeaftalens takster og
            sender dem til betaling i KMD Opus. Afvigelser sendes til manuel behandling.
            """,
            "rpabank.yaml": """
            name: Tolkeregninger-flowet
            processes: [betaling-af-tolkeregninger]
            technologies: [Power Automate]
            systems: [KMD Opus, SharePoint]
            principles: [power-automate-konventioner, fejlhaandtering]
            licence: MPL-2.0
            """,
            "Microsoft.Flow/flows/7f1c2a9e-tolkeregninger/definition.json": json.dumps(definition, indent=2),
            "manifest.json": json.dumps(
                {"schema": "1.0", "details": {"displayName": "Betaling af tolkeregninger"}}, indent=2
            ),
        },
        "Eksport af tolkeregninger-flowet",
        START + dt.timedelta(days=10),
        tag="v1.0.0",
    )
    definition["actions"]["Log_uden_CPR"] = {"type": "Compose"}
    _commit(
        repo,
        {"Microsoft.Flow/flows/7f1c2a9e-tolkeregninger/definition.json": json.dumps(definition, indent=2)},
        "Logning uden CPR-numre",
        START + dt.timedelta(days=120),
        tag="v2.0.0",
    )


def make_edoc_client(path: Path) -> None:
    repo = _init(path)
    _commit(
        repo,
        {
            "README.md": """
            # eDoc API-klient (C#)

            Fælles C#-komponent, som robotterne bruger til at oprette sager, parter og dokumenter i eDoc gennem
            API'et i stedet for skærmklik.
            """,
            "rpabank.yaml": """
            name: eDoc API-klient
            processes: [automatisk-sagsoprettelse-i-edoc-via-api]
            technologies: [C#]
            systems: [eDoc]
            principles: [api-foer-ui, servicekonti, ingen-hemmeligheder-i-git]
            licence: MPL-2.0
            """,
            "EDocApiClient.csproj": """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net8.0</TargetFramework><OutputType>Exe</OutputType></PropertyGroup>
            </Project>
            """,
            "src/EDocClient.cs": """
            namespace Kommune.EDoc;

            /// <summary>Klient til eDoc's API: sager, parter og dokumenter.</summary>
            public class EDocClient
            {
                private readonly HttpClient http;

                public EDocClient(HttpClient http) => this.http = http;

                public Task<string> OpretSag(string titel, string kleNummer) =>
                    Post("cases", new { titel, kleNummer });

                public Task<string> TilfoejDokument(string sagsnummer, byte[] indhold, string titel) =>
                    Post($"cases/{sagsnummer}/documents", new { titel, indhold });

                private Task<string> Post(string sti, object data) => Task.FromResult(sti);
            }
            """,
            "src/Program.cs": """
            using Kommune.EDoc;

            var client = new EDocClient(new HttpClient());
            Console.WriteLine(await client.OpretSag("Testsag", "00.01.00"));
            """,
        },
        "eDoc-klient: opret sag og tilføj dokument",
        START + dt.timedelta(days=20),
        tag="v0.9.0",
    )
    client = (path / "src" / "EDocClient.cs").read_text("utf-8")
    client = client.replace("dokumenter.</summary>", "dokumenter. Servicekontoen læses fra miljøet.</summary>")
    hent_sag = '    public Task<string> HentSag(string sagsnummer) => Post($"cases/{sagsnummer}", new { });\n\n'
    client = client.replace("    private Task<string> Post(", hent_sag + "    private Task<string> Post(")
    _commit(
        repo,
        {"src/EDocClient.cs": client},
        "HentSag og servicekonto fra miljøet",
        START + dt.timedelta(days=90),
        tag="v1.0.0",
    )


PRINCIPLE_TEXTS = {
    "koe-haandtering": (
        "Kø-håndtering",
        "Drift",
        ["kø", "queue", "genforsøg"],
        """
        Alle robotter arbejder fra en **arbejdskø**. En sag tages fra køen, behandles og markeres som afsluttet,
        så en genstart aldrig behandler den samme sag to gange.

        - Giv hver sag et entydigt id og en status (ny, i gang, afsluttet, manuel).
        - Prøv igen ved systemfejl med voksende pause; aldrig ved forretningsfejl.
        - Prioritér køen, så sager med frist kommer først.
        """,
    ),
    "fejlhaandtering": (
        "Exception handling: forretningsfejl og systemfejl",
        "Drift",
        ["exception handling", "fejl"],
        """
        Skeln mellem **forretningsfejl** (sagen kan ikke behandles automatisk) og **systemfejl** (et system
        svarer ikke). Forretningsfejl går til manuel behandling med en forklaring, sagsbehandleren forstår.
        Systemfejl prøves igen og giver alarm, hvis de bliver ved.
        """,
    ),
    "api-foer-ui": (
        "API før UI",
        "Arkitektur",
        ["api", "edoc"],
        """
        Brug systemets API, når der er et, fx eDoc's API, i stedet for at klikke sig gennem brugerfladen.
        API'er er hurtigere, stabilere og lettere at teste end skærmrobotter.
        """,
    ),
    "ingen-hemmeligheder-i-git": (
        "Ingen hemmeligheder i git",
        "Sikkerhed",
        ["secrets", "adgangskoder"],
        """
        Adgangskoder, nøgler og certifikater ligger aldrig i repositoriet. Læs dem fra miljøet eller en
        hemmelighedsboks, og brug `.gitignore` til lokale filer.
        """,
    ),
    "logning-uden-cpr": (
        "Logning uden CPR-numre",
        "GDPR",
        ["gdpr", "cpr", "logning"],
        """
        Log hvad robotten gjorde og hvorfor, men aldrig CPR-numre eller andre personoplysninger. Brug sagens
        id i loggen, og gem logs kun så længe, det er nødvendigt (dataminimering).
        """,
    ),
    "power-automate-konventioner": (
        "Konventioner for Power Automate",
        "Værktøjer",
        ["power automate", "navngivning"],
        """
        Navngiv handlinger, så flowet kan læses: `Find_bestilling`, `Send_til_betaling`. Saml fejlhåndtering i
        et *Scope* med `runAfter` på fejl, og brug miljøvariabler til alt, der skifter mellem kommuner.
        """,
    ),
    "servicekonti": (
        "Servicekonti og adgang for robotter",
        "Sikkerhed",
        ["adgang", "servicekonto"],
        """
        Robotter kører på egne servicekonti med præcis de rettigheder, de behøver. Kontoen tilhører en navngiven
        ansvarlig, og adgangen gennemgås hvert halve år.
        """,
    ),
    "versionering-med-tags": (
        "Versionering med tags",
        "Udvikling",
        ["versioner", "release"],
        """
        Hver version, der sættes i drift, får et tag (`v1.2.0`). Kommunerne registrerer, hvilken version de kører,
        så en fejlrettelse kan spores til alle, der bør opdatere.
        """,
    ),
    "syntetiske-testdata": (
        "Syntetiske testdata",
        "Udvikling",
        ["test", "gdpr"],
        """
        Test med opdigtede personer og sager, aldrig med kopier af rigtige borgeres data.
        """,
    ),
    "licens-ved-deling": (
        "Licens ved deling",
        "Deling",
        ["licens", "mpl"],
        """
        Kode, der deles i netværket, får licensen MPL-2.0, som OS2-fællesskabet bruger.
        """,
    ),
}


def make_principles(path: Path) -> None:
    repo = _init(path)
    files = {"README.md": "# Kodeprincipper\n\nNetværkets fælles principper for robotudvikling.\n"}
    for pid, (title, category, tags, body) in PRINCIPLE_TEXTS.items():
        front = (
            f"---\nid: {pid}\ntitle: {json.dumps(title, ensure_ascii=False)}\ncategory: {category}\n"
            f"tags: {json.dumps(tags, ensure_ascii=False)}\n---\n"
        )
        files[f"principper/{pid}.md"] = front + f"\n# {title}\n" + textwrap.dedent(body)
    _commit(repo, files, "Netværkets kodeprincipper", START)


def make_demo_repositories(root: Path) -> dict[str, Path]:
    """Create the demo repositories under `root` (once) and return their paths by name."""
    makers = {
        STRAFFEATTEST: make_straffeattest_robot,
        TOLK: make_tolkeregninger_flow,
        EDOC: make_edoc_client,
        PRINCIPLES: make_principles,
    }
    paths = {}
    for name, make in makers.items():
        path = root / name
        if not (path / ".git").exists():
            path.mkdir(parents=True, exist_ok=True)
            make(path)
        paths[name] = path.resolve()
    return paths


async def register_demo(session: object, config: object) -> dict[str, int]:
    """Register the demo bots and principles and let some demo adoptions run pinned bot versions."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    from catalogue.models import Adoption
    from codebank.models import Bot
    from codebank.schemas import BotCreate
    from codebank.services import BotService, CodebankConfig, PrincipleService
    from core.actors import Actor
    from core.indexing import EntityKind, mark_for_index

    assert isinstance(session, AsyncSession) and isinstance(config, CodebankConfig)
    repos = make_demo_repositories(config.data_dir / "demo-repos")
    admin = Actor(role="admin", name="demo data")
    bots = BotService(session, config)
    owners = {STRAFFEATTEST: "253", TOLK: "376", EDOC: "265"}
    registered = 0
    for name, owner in owners.items():
        bot = await bots.register(admin, BotCreate(url=str(repos[name])))
        model = await session.get(Bot, bot.slug)
        assert model is not None
        model.owner_municipality = owner
        tags: list[str | None] = list(bot.tags) or [None]
        adoptions = (
            await session.scalars(
                select(Adoption)
                .where(
                    Adoption.process_id.in_(bot.processes),
                    Adoption.status.in_(["operation", "implementing", "stopped"]),
                )
                .order_by(Adoption.municipality_code)
            )
        ).all()
        for i, adoption in enumerate(adoptions):
            adoption.bot_repo, adoption.bot_slug = bot.url, bot.slug
            adoption.bot_ref = tags[-1] if i % 3 else tags[0]
        mark_for_index(session, EntityKind.BOT, bot.slug)
        registered += 1
    await session.flush()
    principles = await PrincipleService(session, config).sync()
    return {"bots": registered, "principles": len(principles)}
