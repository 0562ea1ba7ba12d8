"""The repository's own sequences and templates, composed as the daemon sends them
(nurture.engine.compose: tracked links, open pixel, one-click unsubscribe, a DKIM signature
from a key made for the session) for leads from examples/leads.csv, and SpamAssassin from
Debian's `spamassassin` package to score them, local tests only."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from nurture.core.sequences import Sequence
from nurture.engine.compose import Identity, compose, message_id
from nurture.files.leads_csv import LEAD_FIELDS, LeadRow, read_leads_csv
from nurture.files.loader import Project, load_project
from nurture.mail.dkim import DkimSigner
from nurture.render import TemplateRenderer
from nurture.store.models import Lead

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)  # a Tuesday afternoon
SELECTOR, DOMAIN = "nurture", "relay.example.com"
OWNER = {"name": "Sam Rivera", "email": "sam@relay.example.com"}
LEADS_PER_TOUCH = 4
SPAMASSASSIN = "spamassassin"  # the Debian package, and its command
_STATUS = re.compile(r"^X-Spam-Status: (.*(?:\n[ \t].*)*)", re.MULTILINE)
_SCORE = re.compile(r"\bscore=(-?[\d.]+) .*\btests=(.*?)(?: autolearn=| version=|$)")


@dataclass(frozen=True)
class Sample:
    """One composed email: which touch, subject variant and lead, and its bytes."""

    template: str
    name: str  # "sequence touch N subject V lead EMAIL"
    lead: Lead
    raw: bytes


@dataclass(frozen=True)
class Examples:
    samples: list[Sample]
    public_key: bytes  # DER SubjectPublicKeyInfo, as the DNS TXT record's p= holds it
    identity: Identity

    def one_per_template_and_subject(self) -> list[Sample]:
        """The first lead's email for each touch and subject variant."""
        return list({s.name.rpartition(" lead ")[0]: s for s in reversed(self.samples)}.values())


@pytest.fixture(scope="session")
def examples() -> Examples:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    identity = Identity(
        "Relay Labs", f"hello@{DOMAIN}", f"replies@{DOMAIN}",
        "Relay Labs, 100 Market Street, San Francisco, CA 94105, USA",
        f"https://t.{DOMAIN}", "deliverability-secret", True, DkimSigner(SELECTOR, DOMAIN, pem))
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    project = load_project(ROOT / "sequences")
    renderer = TemplateRenderer(ROOT / "templates")
    rows = [row for row in read_leads_csv(ROOT / "examples" / "leads.csv")
            if isinstance(row, LeadRow)]
    samples = [sample for number, sample in enumerate(_touches(project))
               for sample in _compose(renderer, identity, project, sample, rows, number)]
    return Examples(samples, public, identity)


def _touches(project: Project) -> list[tuple[Sequence, int]]:
    return [(sequence, index) for sequence in project.sequences
            for index, touch in enumerate(sequence.touches) if touch.kind == "email"]


def _compose(renderer: TemplateRenderer, identity: Identity, project: Project,
             touch: tuple[Sequence, int], rows: list[LeadRow], number: int) -> list[Sample]:
    sequence, index = touch
    stage = project.pipeline.stage(sequence.stage)
    owner = OWNER if stage is not None and stage.team != "marketing" else None
    template = sequence.touches[index].template or ""
    samples = []
    for pick in range(LEADS_PER_TOUCH):
        row = rows[(number * 37 + pick * 101) % len(rows)]
        lead = Lead(id=1000 + number * 10 + pick, stage=sequence.stage, custom=row.custom,
                    stage_entered_at=NOW, created_at=NOW, updated_at=NOW,
                    **{name: getattr(row, name) for name in LEAD_FIELDS})
        enrollment = 500 + number * 10 + pick
        for variant in range(len(sequence.touches[index].subject) if pick == 0 else 1):
            composed = compose(renderer, identity, sequence, index, variant, lead, owner,
                               message_id(identity, enrollment, index), NOW, enrollment)
            samples.append(Sample(template, f"{sequence.id} touch {index + 1} subject "
                                  f"{variant + 1} lead {lead.email}", lead, composed.message))
    return samples


@dataclass(frozen=True)
class Score:
    points: float
    rules: list[str]


def spamassassin_scores(samples: list[Sample], home: Path) -> dict[str, Score]:
    """Each sample's SpamAssassin score and rules hit, from one `spamassassin --mbox` run
    with network tests (-L) and Bayes off: local rules only, deterministic."""
    command = shutil.which(SPAMASSASSIN)
    if command is None:
        pytest.skip(f"SpamAssassin is not installed: apt-get install {SPAMASSASSIN}")
    mbox = b"".join(b"From nurture@relay.example.com Tue Mar  3 14:00:00 2026\n"
                    + f"X-Sample: {number}\n".encode()
                    + re.sub(rb"(?m)^(>*From )", rb">\1", sample.raw.replace(b"\r\n", b"\n"))
                    + b"\n" for number, sample in enumerate(samples))
    result = subprocess.run(
        [command, "--local", "--nocreate-prefs", "--mbox", "--cf=use_bayes 0",
         "--cf=bayes_auto_learn 0"], input=mbox, capture_output=True, timeout=300,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, check=True)
    scored: dict[str, Score] = {}
    for message in re.split(rb"(?m)^From ", result.stdout)[1:]:
        text = message.decode("utf-8", "replace")
        number = re.search(r"^X-Sample: (\d+)$", text, re.MULTILINE)
        status = _STATUS.search(text)
        found = _SCORE.search(" ".join(status.group(1).split())) if status else None
        assert number is not None and found is not None, text[:2000]
        rules = [rule for rule in found.group(2).replace(" ", "").split(",") if rule]
        scored[samples[int(number.group(1))].name] = Score(float(found.group(1)), rules)
    assert len(scored) == len(samples), result.stderr.decode()[-2000:]
    return scored
