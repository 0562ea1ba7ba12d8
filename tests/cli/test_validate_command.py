"""`nurture validate`: the examples pass; each kind of broken file is named by FILE:LINE: field."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.workspace import REPO, Workspace

WELCOME = "prospecting/inbound-welcome.toml"
REP_INTRO = "sql/rep-introduction.toml"
PIPELINE = "pipeline.toml"


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of `text` containing `needle`."""
    return next(number for number, line in enumerate(text.splitlines(), start=1)
                if needle in line)


def edit(path: Path, old: str, new: str) -> str:
    """Replace the first `old` in the file by `new`; return the new text."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {path}: update this test"
    changed = text.replace(old, new, 1)
    path.write_text(changed, encoding="utf-8")
    return changed


def summary_counts(output: str) -> tuple[int, int]:
    found = re.search(r"(\d+) errors, (\d+) warnings", output)
    assert found, output
    return int(found.group(1)), int(found.group(2))


def test_the_repository_examples_validate_cleanly(workspace: Workspace) -> None:
    result = workspace.run("validate")
    sequence_files = len(list((REPO / "sequences").rglob("*.toml"))) - 1
    assert result.exit_code == 0, result.output
    assert re.search(rf"\d+ stages, \d+ rules, {sequence_files} sequences, \d+ touches: "
                     r"0 errors, 0 warnings", result.stdout)
    assert result.stderr == ""


@dataclass(frozen=True)
class Break:
    """One way to break a sequences folder: in `file`, `old` becomes `new`."""

    file: str
    old: str
    new: str
    field: str  # what the problem line names after FILE:LINE:
    message: str  # a part of the message that says what is wrong


BREAKS = {
    "toml syntax": Break(WELCOME, 'stage = "prospecting"', 'stage = "prospecting',
                         "TOML syntax", "Illegal character"),
    "unknown field": Break(WELCOME, 'name = "Inbound welcome"', 'nmae = "Inbound welcome"',
                           "nmae", "unknown field"),
    "bad wait": Break(WELCOME, 'wait = "4d"', 'wait = "4 fortnights"',
                      "touch[3].wait", "unknown unit 'fortnights'"),
    "bad send window": Break(WELCOME, 'from = "09:00"', 'from = "9am"',
                             "send_window", "'9am' is not a time of day"),
    "unknown holiday calendar": Break(WELCOME, 'holidays = "lead"', 'holidays = "ZZ"',
                                      "send_window.holidays", "'ZZ' is neither"),
    "expression syntax": Break(WELCOME, "skip_when = \"fit == 'D'\"",
                               "skip_when = \"fit === 'D'\"", "touch[6].skip_when",
                               "does not parse"),
    "unknown name in a rule": Break(PIPELINE, "when = \"days_since_engagement > 21\"",
                                    "when = \"days_since_engagment > 21\"", "rule[6].when",
                                    "unknown name 'days_since_engagment'"),
    "unknown stage in a rule": Break(PIPELINE, 'to = "mql"', 'to = "mq"',
                                     "rule[4].to", "no stage 'mq' in pipeline.toml"),
    "unknown stage in a sequence": Break(WELCOME, 'stage = "prospecting"',
                                         'stage = "prospect"', "stage", "no stage 'prospect'"),
    "missing template": Break(WELCOME, 'template = "prospecting/handoffs.md.j2"',
                              'template = "prospecting/hand-offs.md.j2"', "touch[2].template",
                              "template 'prospecting/hand-offs.md.j2' not found in "),
    "undefined variable in a subject": Break(
        WELCOME, 'subject = "How Northwind Freight approves invoices in a day"',
        'subject = "How {{ company }} approves invoices"', "touch[3].subject",
        "'company' is undefined"),
    "subject syntax error": Break(
        WELCOME, '"Want to see Relay on your own process?"', '"Want to see {{ lead.company"',
        "touch[6].subject[1]", "syntax error"),
    "undefined field in a task": Break(
        REP_INTRO, "task = \"Call {{ lead.first_name | default('the lead') }}",
        'task = "Call {{ lead.nickname }}', "touch[2].task", "has no attribute 'nickname'"),
}


@pytest.mark.parametrize("broken", BREAKS.values(), ids=BREAKS.keys())
def test_each_broken_file_is_named_by_file_line_and_field(workspace: Workspace,
                                                          broken: Break) -> None:
    path = workspace.sequences / broken.file
    text = edit(path, broken.old, broken.new)
    result = workspace.run("validate")
    assert result.exit_code == 1, result.output
    prefix = f"{path}:{line_of(text, broken.new)}: {broken.field}: "
    problem = next((line for line in result.stderr.splitlines() if line.startswith(prefix)), "")
    assert broken.message in problem, result.stderr
    assert summary_counts(result.stdout) == (1, 0), result.output


def test_a_template_syntax_error_names_the_touch_and_the_template_line(
        workspace: Workspace) -> None:
    template = workspace.templates / "prospecting" / "handoffs.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\nSee {{ 1 + }}\n",
                        encoding="utf-8")
    broken_line = len(template.read_text(encoding="utf-8").splitlines())
    sequence = workspace.sequences / WELCOME
    touch_line = line_of(sequence.read_text(encoding="utf-8"), "prospecting/handoffs.md.j2")
    result = workspace.run("validate")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"{sequence}:{touch_line}: touch[2].template: prospecting/handoffs.md.j2:{broken_line}: "
        "syntax error"), result.stderr


def test_a_field_used_without_fallback_is_a_warning_at_the_subject(workspace: Workspace) -> None:
    path = workspace.sequences / WELCOME
    text = edit(path, 'subject = "Three workflows you could copy this week"',
                'subject = "Three workflows for {{ lead.company }}"')
    result = workspace.run("validate")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        f"{path}:{line_of(text, 'Three workflows for')}: touch[4].subject: warning: fails for a "
        "lead with only an email address"), result.stderr
    assert "default(" in result.stderr
    assert summary_counts(result.stdout) == (0, 1)


@pytest.mark.parametrize(("keep", "warned_touch"), [(5, 1), (9, 9)])
def test_a_sequence_outside_six_to_eight_touches_is_only_a_warning(
        workspace: Workspace, keep: int, warned_touch: int) -> None:
    path = workspace.sequences / WELCOME
    head, *touches = path.read_text(encoding="utf-8").split("[[touch]]")
    touches = (touches * 2)[:keep]
    text = head + "".join(f"[[touch]]{touch}" for touch in touches)
    path.write_text(text, encoding="utf-8")
    touch_lines = [n for n, line in enumerate(text.splitlines(), start=1) if line == "[[touch]]"]
    result = workspace.run("validate")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"{path}:{touch_lines[warned_touch - 1]}: touch: warning: "
                                    f"{keep} touches"), result.stderr
    assert summary_counts(result.stdout) == (0, 1)


def test_the_same_problem_is_reported_once(workspace: Workspace) -> None:
    path = workspace.sequences / PIPELINE
    text = edit(path, 'from = ["sql", "meeting"]', 'from = ["sqll", "sqll"]')
    result = workspace.run("validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:{line_of(text, 'sqll')}: rule[7].from: no stage 'sqll' in pipeline.toml "
        "(stages: customer, lost, meeting, mql, negotiation, nurture, proposal, prospecting, "
        "sql, won)"]


def test_the_folder_can_be_given_on_the_command_line(workspace: Workspace,
                                                     tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    workspace.sequences.rename(elsewhere)
    assert workspace.run("validate").exit_code == 1
    result = workspace.run("validate", elsewhere, "--templates", workspace.templates)
    assert result.exit_code == 0, result.output


def test_schema_is_a_json_schema_of_the_sequence_format(workspace: Workspace) -> None:
    result = workspace.run("validate", "--schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"id", "stage", "touch", "send_window"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_pipeline_schema_describes_stages_and_rules(workspace: Workspace) -> None:
    schema = json.loads(workspace.run("validate", "--pipeline-schema").stdout)
    assert {"stage", "rule", "scoring"} <= set(schema["properties"])
