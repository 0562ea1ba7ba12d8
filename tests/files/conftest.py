"""A small valid sequences folder and templates folder, written fresh for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

PIPELINE = '''\
[[stage]]
id = "prospecting"
probability = 0.05
max_days = 45
on_stale = "disqualified"

[[stage]]
id = "qualification"
team = "sales"
probability = 0.15
max_days = 21
on_stale = "prospecting"

[scoring]
half_life_days = 30
points = { opened = 1, clicked = 5 }

[[scoring.bonus]]
event = "clicked"
when = "'/pricing' in event.url"
points = 10

[scoring.fit]
A = "lead.employees >= 200"

[[rule]]
name = "mql"
from = "prospecting"
to = "qualification"
when = "score >= 40 and fit in ['A', 'B']"
handoff = true
'''

TOUCH = '''
[[touch]]
wait = "{wait}"
template = "intro.md.j2"
subject = "Hello {{{{ lead.company | default('there') }}}}"
'''


def sequence_text(touches: int = 6, head: str = "") -> str:
    text = ('id = "cold-intro"\nstage = "prospecting"\n' + head +
            'send_window = { days = "mon-fri", from = "09:00", to = "17:30" }\n')
    for number in range(touches):
        text += TOUCH.format(wait="0d" if number == 0 else "3d")
    return text


@pytest.fixture
def project_dirs(tmp_path: Path) -> tuple[Path, Path]:
    sequences = tmp_path / "sequences"
    templates = tmp_path / "templates"
    (sequences / "prospecting").mkdir(parents=True)
    templates.mkdir()
    (sequences / "pipeline.toml").write_text(PIPELINE)
    (sequences / "prospecting" / "cold-intro.toml").write_text(sequence_text())
    body = "Hi {{ lead.first_name | default('there') }},\n\nA note.\n"
    (templates / "intro.md.j2").write_text(body)
    layout = Path(__file__).parents[2] / "templates" / "_layout.html.j2"
    if layout.exists():
        (templates / "_layout.html.j2").write_text(layout.read_text())
    return sequences, templates
