"""Hostile sequence files: whatever text is in sequences/, loading it gives FILE:LINE: field:
message problems (ProblemsFound from load_project), never another exception.

The documents are the repository's own pipeline.toml and a real sequence, mutated (values
replaced by random TOML values and hostile expressions, lines deleted, duplicated, cut or
spliced with random text), plus text that is not TOML at all.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.files.loader import load_project, read_project
from nurture.files.problems import Problem, ProblemsFound
from nurture.files.validate import validate

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = (ROOT / "sequences" / "pipeline.toml").read_text(encoding="utf-8")
SEQUENCE = (ROOT / "sequences" / "prospecting" / "inbound-welcome.toml").read_text(
    encoding="utf-8")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_VALUE_LINE = re.compile(r"^(\s*[A-Za-z0-9_.\"'-]+\s*=\s*)(.+)$")
HOSTILE_EXPRESSIONS = [
    "(" * 200 + "1" + ")" * 200,
    "[" * 300 + "]" * 300,
    "lead" + "[0]" * 600,
    "1" + " + 1" * 500,
    "not " * 400 + "true",
    "cycler.__init__.__globals__.os.system('id')",
    "lead.__class__.__mro__[1].__subclasses__()",
    "lead|attr('__class__')",
    "'a' * 10**9",
    "range(10**9) | list",
    "lead.custom.update({'x': 1})",
    "{% raw %}",
    "{{ 7*7 }}",
    "\x00\ud7ff\ufffe",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A sequences folder (pipeline.toml, prospecting/x.toml) that each example rewrites."""
    sequences = tmp_path_factory.mktemp("hostile") / "sequences"
    (sequences / "prospecting").mkdir(parents=True)
    yield sequences
    shutil.rmtree(sequences)


def toml_values() -> st.SearchStrategy[str]:
    """TOML values of every kind, as source text."""
    scalars = st.one_of(
        st.text(max_size=40).map(json.dumps),
        st.sampled_from(HOSTILE_EXPRESSIONS).map(json.dumps),
        st.integers().map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(["true", "false", "inf", "nan", "1979-05-27T07:32:00Z", "07:32:00",
                         "'literal'", '"""multi\nline"""', "0x1F", "1_000"]),
    )
    keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,8}", fullmatch=True)
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.dictionaries(keys, inner, max_size=3).map(
            lambda table: "{ " + ", ".join(f"{k} = {v}" for k, v in table.items()) + " }"),
    ), max_leaves=8)


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` after one to three random edits."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["value", "value", "delete", "duplicate", "insert", "cut"]))
        found = _VALUE_LINE.match(lines[index])
        if edit == "value" and found:
            lines[index] = found.group(1) + draw(toml_values())
        elif edit == "delete":
            del lines[index]
        elif edit == "duplicate":
            lines.insert(index, lines[index])
        elif edit == "insert":
            lines.insert(index, draw(st.text(max_size=60)))
        elif edit == "cut":
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))]
        if not lines:
            lines = [""]
    return "\n".join(lines) + "\n"


def load_and_check(folder: Path, pipeline: str, sequence: str) -> list[Problem]:
    """Load the folder both ways and check every problem is located and phrased for people."""
    (folder / "pipeline.toml").write_text(pipeline, encoding="utf-8", errors="surrogatepass")
    path = folder / "prospecting" / "x.toml"
    path.write_text(sequence, encoding="utf-8", errors="surrogatepass")
    _, problems = read_project(folder)
    sizes = {str(folder / "pipeline.toml"): pipeline.count("\n") + 1,
             str(path): sequence.count("\n") + 1}
    for problem in problems:
        assert problem.file in sizes, problem
        assert 0 <= problem.line <= sizes[problem.file], problem
        assert problem.message.strip() and "Traceback" not in problem.message, problem
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        assert str(problem).startswith(where + ": "), problem
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        with pytest.raises(ProblemsFound) as found:
            load_project(folder)
        assert found.value.problems == errors
    else:
        load_project(folder)
    return problems


@FUZZ
@given(st.data())
def test_a_mutated_sequence_gives_located_problems_never_a_crash(
        folder: Path, data: st.DataObject) -> None:
    load_and_check(folder, PIPELINE, data.draw(mutated(SEQUENCE)))


@FUZZ
@given(st.data())
def test_a_mutated_pipeline_gives_located_problems_never_a_crash(
        folder: Path, data: st.DataObject) -> None:
    load_and_check(folder, data.draw(mutated(PIPELINE)), SEQUENCE)


@FUZZ
@given(st.text(max_size=300) | st.binary(max_size=300).map(
    lambda raw: raw.decode("utf-8", "surrogateescape")))
def test_random_text_as_a_sequence_gives_located_problems_never_a_crash(
        folder: Path, text: str) -> None:
    problems = load_and_check(folder, PIPELINE, text)
    assert [p for p in problems if p.severity == "error"]  # a sequence needs id, stage, touches


@pytest.mark.parametrize("value", ["[" * 2000 + "]" * 2000,
                                   "{a = " * 600 + "1" + "}" * 600],
                         ids=["array", "inline-table"])
def test_toml_nested_too_deeply_is_a_problem_not_a_crash(folder: Path, value: str) -> None:
    [problem] = load_and_check(folder, PIPELINE, f'id = "x"\nnested = {value}\n')
    assert problem.line in (0, 2)


@pytest.mark.parametrize("expression", HOSTILE_EXPRESSIONS[:5])
def test_an_expression_nested_too_deeply_is_a_problem_at_its_line(
        folder: Path, expression: str) -> None:
    sequence = SEQUENCE.replace(
        "enroll_when = \"lead.source not in ['outbound', 'partner']\"",
        f"enroll_when = {json.dumps(expression)}")
    problems = load_and_check(folder, PIPELINE, sequence)
    line = sequence.splitlines().index(f"enroll_when = {json.dumps(expression)}") + 1
    assert [(p.line, p.field) for p in problems] == [(line, "enroll_when")]


def test_a_template_bomb_is_reported_by_validate_at_the_touch(tmp_path: Path) -> None:
    sequences, templates = tmp_path / "sequences", tmp_path / "templates"
    (sequences / "prospecting").mkdir(parents=True)
    templates.mkdir()
    shutil.copy(ROOT / "templates" / "_layout.html.j2", templates)
    (templates / "bomb.md.j2").write_text("{{ 'a' * 10**9 }}\n")
    (sequences / "pipeline.toml").write_text('[[stage]]\nid = "prospecting"\nprobability = 0.1\n')
    touches = "".join(f'\n[[touch]]\nwait = "1d"\ntemplate = "bomb.md.j2"\nsubject = "S{n}"\n'
                      for n in range(6))
    (sequences / "prospecting" / "x.toml").write_text(
        f'id = "x"\nstage = "prospecting"\n{touches}')
    checked = validate(sequences, templates, {"name": "A", "email": "a@example.com",
                                              "postal_address": "1 Main Street"})
    assert {(p.line, p.field) for p in checked.errors} == {(6 + 5 * n, f"touch[{n + 1}].template")
                                                           for n in range(6)}
    assert all("bomb.md.j2:1: repeating a value past" in p.message for p in checked.errors)
