from pathlib import Path

import pytest

from nurture.settings import ConfigError, load_settings

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
