from nurture.files.toml_lines import field_name, key_lines, line_of

DOCUMENT = '''id = "x"
send_window = { days = "mon-fri", from = "09:00" }

[[touch]]
wait = "0d"
subject = ["a",
  "b = c"]
note = """
wait = "not a key"
"""

[[touch]]
wait = "3d"

[scoring]
points = { opened = 1 }

[[scoring.bonus]]
event = "clicked"

[[scoring.bonus]]
event = "replied"
'''


def test_keys_and_arrays_of_tables_get_their_lines() -> None:
    lines = key_lines(DOCUMENT)
    assert lines[("id",)] == 1
    assert lines[("send_window", "from")] == 2
    assert lines[("touch", 0)] == 4
    assert lines[("touch", 0, "wait")] == 5
    assert lines[("touch", 1, "wait")] == 13
    assert lines[("scoring", "points", "opened")] == 16
    assert lines[("scoring", "bonus", 1, "event")] == 22


def test_text_inside_multiline_strings_and_arrays_is_not_a_key() -> None:
    lines = key_lines(DOCUMENT)
    assert ("touch", 0, "note") in lines
    assert lines[("touch", 0, "wait")] == 5  # the "wait = " inside the string did not move it


def test_a_missing_key_falls_back_to_its_table() -> None:
    lines = key_lines(DOCUMENT)
    assert line_of(lines, ("touch", 1, "template")) == 12
    assert line_of(lines, ("nothing",)) == 0


def test_field_names_count_touches_from_one() -> None:
    assert field_name(("touch", 2, "wait")) == "touch[3].wait"
    assert field_name(("scoring", "bonus", 0, "when")) == "scoring.bonus[1].when"
