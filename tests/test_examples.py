"""The shipped examples — sequences/, templates/, examples/leads.csv — are valid and consistent.

They are what a marketer copies first, so a broken example is a broken product.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from nurture.core.sequences import MAX_TOUCHES, MIN_TOUCHES, Pipeline, Sequence
from nurture.files.leads_csv import LeadRow, read_leads_csv

ROOT = Path(__file__).resolve().parents[1]
SEQUENCES, TEMPLATES, EXAMPLES = ROOT / "sequences", ROOT / "templates", ROOT / "examples"
SEQUENCE_FILES = sorted(p for p in SEQUENCES.rglob("*.toml") if p.name != "pipeline.toml")
OUTREACH_STAGES = {"prospecting", "mql", "sql", "meeting", "proposal", "negotiation",
                   "customer", "nurture"}
RESERVED_DOMAINS = {"example.com", "example.org", "example.net"}

FULL_LEAD = {
    "email": "zoe.clarke@example.org", "first_name": "Zoë", "last_name": "Clarke",
    "company": "Hart, Lowe & Partners", "title": "Head of Procurement",
    "industry": "Financial Services", "employees": 1200, "source": "webinar", "country": "GB",
    "timezone": "Europe/London", "deal_value": 24000.0, "stage": "mql", "score": 42.0,
    "fit": "A", "custom": {"plan_interest": "business"},
}
MINIMAL_LEAD = {"email": "someone@example.com", "stage": "prospecting", "score": 0.0,
                "fit": "D", "custom": {}}  # absent fields are absent, not None
OWNER = {"name": "Sam Rivera", "email": "sam@example.com", "title": "Account Executive",
         "phone": "+1 555 0100"}
SENDER = {"name": "Maya Lindqvist", "email": "maya@example.com",
          "postal_address": "Relay Labs, 1 Harbour Street, Bristol, UK"}


def load(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def sequence_ids(path: Path) -> str:
    return path.relative_to(SEQUENCES).as_posix()


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline.model_validate(load(SEQUENCES / "pipeline.toml"))


@pytest.fixture(scope="module")
def sequences() -> list[Sequence]:
    return [Sequence.model_validate(load(path)) for path in SEQUENCE_FILES]


@pytest.fixture(scope="module")
def jinja() -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                                autoescape=True)


def test_pipeline_has_the_stages_scoring_and_rules_of_a_b2b_funnel(pipeline: Pipeline) -> None:
    outcomes = {stage.outcome: stage.id for stage in pipeline.stages if stage.outcome}
    assert outcomes == {"won": "won", "lost": "lost"}
    assert pipeline.first_stage == "prospecting"
    assert set(pipeline.scoring.fit) == {"A", "B", "C"}
    assert any(rule.handoff for rule in pipeline.rules)


def test_rules_and_stale_moves_name_stages_that_exist(pipeline: Pipeline) -> None:
    stage_ids = {stage.id for stage in pipeline.stages}
    named = {stage.on_stale for stage in pipeline.stages if stage.on_stale}
    for rule in pipeline.rules:
        named |= {*rule.from_, rule.to}
    assert named - stage_ids == set()


def test_every_stage_with_outreach_has_a_sequence(
    pipeline: Pipeline, sequences: list[Sequence]
) -> None:
    stage_ids = {stage.id for stage in pipeline.stages}
    assert {s.stage for s in sequences} - stage_ids == set()
    assert OUTREACH_STAGES - {s.stage for s in sequences} == set()


def test_sequence_ids_are_unique(sequences: list[Sequence]) -> None:
    ids = [s.id for s in sequences]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", SEQUENCE_FILES, ids=sequence_ids)
def test_sequence_has_six_to_eight_touches_in_its_stage_folder(path: Path) -> None:
    sequence = Sequence.model_validate(load(path))
    assert MIN_TOUCHES <= len(sequence.touches) <= MAX_TOUCHES
    assert path.parent.name == sequence.stage


@pytest.mark.parametrize("path", SEQUENCE_FILES, ids=sequence_ids)
def test_templates_exist_and_compile(path: Path, jinja: SandboxedEnvironment) -> None:
    for touch in Sequence.model_validate(load(path)).touches:
        if touch.template:
            assert (TEMPLATES / touch.template).is_file(), touch.template
            jinja.get_template(touch.template)
        for text in [*touch.subject, touch.task or ""]:
            jinja.from_string(text)


@pytest.mark.parametrize("path", SEQUENCE_FILES, ids=sequence_ids)
@pytest.mark.parametrize(("lead", "owner"), [(FULL_LEAD, OWNER), (MINIMAL_LEAD, None)],
                         ids=["full-lead", "email-only-lead"])
def test_every_template_subject_and_task_renders_even_for_an_email_only_lead(
    path: Path, lead: dict[str, Any], owner: dict[str, str] | None, jinja: SandboxedEnvironment
) -> None:
    sequence = Sequence.model_validate(load(path))
    for number, touch in enumerate(sequence.touches, 1):
        context = {"lead": lead, "sender": SENDER, "owner": owner, "touch_number": number,
                   "sequence": {"id": sequence.id, "name": sequence.name},
                   "unsubscribe_url": "https://example.com/u/sample"}
        if touch.template:
            body = jinja.get_template(touch.template).render(context)
            assert (owner or SENDER)["name"] in body
        for text in [*touch.subject, touch.task or "-"]:
            line = jinja.from_string(text).render(context).strip()
            assert line and "\n" not in line


def test_every_template_file_is_used_by_a_sequence(sequences: list[Sequence]) -> None:
    used = {t.template for s in sequences for t in s.touches if t.template}
    files = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.j2")}
    assert {f for f in files if not f.startswith("_")} - used == set()


def test_leads_csv_has_300_valid_rows_with_unique_emails_at_reserved_domains() -> None:
    rows = list(read_leads_csv(EXAMPLES / "leads.csv"))
    assert [r for r in rows if not isinstance(r, LeadRow)] == []
    emails = [r.email.lower() for r in rows if isinstance(r, LeadRow)]
    assert len(emails) >= 300
    assert len(set(emails)) == len(emails)
    assert {e.rpartition("@")[2] for e in emails} <= RESERVED_DOMAINS


def test_leads_csv_is_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    out = tmp_path / "leads.csv"
    subprocess.run([sys.executable, str(EXAMPLES / "make_leads.py"), "--out", str(out)],
                   check=True, capture_output=True)
    assert out.read_bytes() == (EXAMPLES / "leads.csv").read_bytes()
