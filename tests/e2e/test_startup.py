"""`nurture run` checks sequences and templates as `nurture validate` does before it sends
anything: a broken file keeps it from starting, and it says where."""

from __future__ import annotations

from tests.e2e.harness import PATIENCE, Site


def test_run_refuses_to_start_with_a_template_that_does_not_compile(sqlite_site: Site) -> None:
    site = sqlite_site
    site.write("templates/note.md.j2", "Hi {{ lead.first_name | default('there') }}\n{% if %}\n")
    site.seed(3)
    daemon = site.start()
    assert daemon.exit_code(PATIENCE) == 1
    message = " ".join(daemon.log.split())
    assert "welcome.toml:" in message and "template" in message and "note.md.j2" in message
    assert "nurture running" not in message
    assert site.sink.messages == []
