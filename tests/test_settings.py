from datetime import date
from pathlib import Path

import pytest

from nurture.settings import (
    ConfigError,
    DateRange,
    HandoffSettings,
    RepSettings,
    load_settings,
)

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NURTURE_CONFIG", raising=False)


def test_defaults_work_with_no_file_at_all() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///nurture.db"
    assert settings.outbox == "maildir"
    assert settings.maildir == Path("outbox")
    assert settings.sequences_dir == Path("sequences")


def test_the_example_file_is_valid_and_documents_every_key() -> None:
    example = ROOT / "config.example.toml"
    settings = load_settings(example)
    assert settings.sender.name == "Relay Labs"
    text = example.read_text()
    for key in type(settings).model_fields:
        assert key in text, f"config.example.toml does not document {key}"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[smtp]\nhost = "file.example.com"\nport = 25\n')
    monkeypatch.setenv("NURTURE_SMTP__PORT", "2525")
    settings = load_settings(config)
    assert (settings.smtp.host, settings.smtp.port) == ("file.example.com", 2525)


def test_nurture_config_variable_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('database_url = "sqlite:///elsewhere.db"\n')
    monkeypatch.setenv("NURTURE_CONFIG", str(config))
    assert load_settings().database_url == "sqlite:///elsewhere.db"


def test_wrong_key_and_wrong_value_are_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[smtp]\nhots = "x"\nport = 70000\n[sender]\nname = "A"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "smtp.hots: unknown key" in message
    assert "smtp.port: Input should be less than or equal to 65535" in message


def test_bad_time_zone_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('default_timezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match="default_timezone: .*not an IANA time zone"):
        load_settings(config)


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("database_url = \n")
    with pytest.raises(ConfigError, match=str(config)):
        load_settings(config)


def test_a_dkim_key_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[dkim]\nprivate_key_file = "missing.pem"\n')
    with pytest.raises(ConfigError, match=r"dkim\.private_key_file: .*missing\.pem is not a file"):
        load_settings(path)


@pytest.mark.parametrize(("text", "key"), [
    ('[sender]\nname = "Sales\\r\\nBcc: all@evil.test"\n', "sender.name"),
    ('[sender]\nemail = "a@b.test\\nX: y"\n', "sender.email"),
    ('[sender]\nreply_to = "a@b.test\\r"\n', "sender.reply_to"),
    ('[tracking]\nbase_url = "https://t.test/\\r\\nX: y"\n', "tracking.base_url"),
    ('[dkim]\nselector = "s1\\n"\n', "dkim.selector"),
])
def test_a_line_break_in_a_setting_that_reaches_a_header_is_refused(
        tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"{key}: .*one line without control characters"):
        load_settings(path)


def test_the_tracking_address_must_be_a_web_address(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[tracking]\nbase_url = "javascript:alert(1)"\n')
    with pytest.raises(ConfigError, match="tracking.base_url: .*not an http:// or https://"):
        load_settings(path)


def test_the_example_file_documents_every_handoff_and_rep_key() -> None:
    text = (ROOT / "config.example.toml").read_text()
    for section in (HandoffSettings, RepSettings, DateRange):
        for key in section.model_fields:
            assert f"{key} =" in text, (
                f"config.example.toml does not document {section.__name__}.{key}")


def test_reps_and_the_handoff_section_load(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[handoff]\nstrategy = "round_robin"\nfallback_rep = "Sam@Relay.test"\n'
        'webhook_url = "https://hooks.example.com/x"\n'
        '[[reps]]\nname = "Sam"\nemail = "SAM@relay.test"\ncountries = ["us"]\n'
        'regions = ["West"]\nweight = 3\nworking_hours = "08:30-16:30"\nworking_days = "mon-thu"\n'
        "out_of_office = [{ start = 2026-07-01, end = 2026-07-14 }]\n")
    secret = "whsec_" + "A" * 44
    monkeypatch.setenv("NURTURE_HANDOFF__WEBHOOK_SECRET", secret)
    settings = load_settings(config)
    [rep] = settings.reps
    assert (rep.email, rep.countries, rep.weight) == ("sam@relay.test", ["US"], 3)
    assert rep.out_of_office == [DateRange(start=date(2026, 7, 1), end=date(2026, 7, 14))]
    handoff = settings.handoff
    assert (handoff.strategy, handoff.fallback_rep, handoff.sla_working_hours,
            handoff.digest_hour) == ("round_robin", "sam@relay.test", 4, 8)
    assert handoff.webhook_secret is not None
    assert handoff.webhook_secret.get_secret_value() == secret


@pytest.mark.parametrize(("text", "message"), [
    ('[handoff]\nfallback_rep = "nobody@relay.test"\n',
     "handoff.fallback_rep 'nobody@relay.test' is not one of the \\[\\[reps\\]\\]"),
    ('[[reps]]\nname = "A"\nemail = "a@x.test"\n[[reps]]\nname = "B"\nemail = "A@x.test"\n',
     "reps: a@x.test listed more than once"),
    ('[handoff]\nwebhook_secret = "hunter2"\n', "handoff.webhook_secret: .*whsec_"),
    ('[handoff]\nwebhook_url = "hooks.example.com"\n', "handoff.webhook_url: .*http"),
    ('[handoff]\ndigest_hour = 24\n', "handoff.digest_hour"),
    ('[[reps]]\nname = "A"\nemail = "a@x.test"\nworking_hours = "9-5"\n',
     "reps.0: .*working_hours / working_days: '9' is not a time of day"),
    ('[[reps]]\nname = "A"\nemail = "a@x.test"\n'
     "out_of_office = [{ start = 2026-07-14, end = 2026-07-01 }]\n",
     "reps.0.out_of_office.0: .*end 2026-07-01 is before start 2026-07-14"),
    ('[[reps]]\nname = "A"\nemail = "not an address"\n', "reps.0.email"),
])
def test_handoff_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config)
