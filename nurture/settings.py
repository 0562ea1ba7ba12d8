"""Configuration: `config.toml` (path from --config or NURTURE_CONFIG), overridden by NURTURE_*
environment variables (`__` for nesting: NURTURE_SMTP__HOST). Every key has a default that
works with no file at all: SQLite ./nurture.db, a Maildir outbox ./outbox.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from nurture.core.errors import NurtureError, WindowError
from nurture.core.passwords import BadPasswordHash, parse_password_hash
from nurture.core.webhook_signature import webhook_key
from nurture.core.windows import parse_zone
from nurture.core.working_hours import parse_working_hours


class ConfigError(NurtureError):
    """The configuration is wrong; the message names the key and the reason."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmtpSettings(_Section):
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=30, gt=0)
    pool_size: int = Field(default=2, ge=1, le=64)


def _one_line(value: str | None) -> str | None:
    """A value that goes into a mail header: refused with a control character in it (a CR or
    LF would start a header of its own)."""
    if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must be one line without control characters (it goes into a header)")
    return value


class SenderSettings(_Section):
    name: str = "nurture"
    email: str = "hello@example.com"
    reply_to: str | None = None
    postal_address: str = "Example Inc., 1 Main Street, Springfield, USA"

    _header_safe = field_validator("name", "email", "reply_to")(_one_line)


class TrackingSettings(_Section):
    base_url: str = "http://localhost:8025"
    secret: SecretStr = SecretStr("change-me-please")
    enabled: bool = True

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        _one_line(value)
        if not value.startswith(("http://", "https://")) or " " in value:
            raise ValueError(f"{value!r} is not an http:// or https:// address")
        return value


class DkimSettings(_Section):
    """DKIM signing: on when private_key_file is set; publish the public key as a TXT record
    at <selector>._domainkey.<domain>."""

    selector: str = "nurture"
    domain: str | None = None  # the sender's domain when unset
    private_key_file: Path | None = None

    _header_safe = field_validator("selector", "domain")(_one_line)

    @field_validator("private_key_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a file (a PEM RSA private key)")
        return value


class LimitSettings(_Section):
    per_hour: int = Field(default=500, ge=1)
    per_day: int = Field(default=5000, ge=1)
    per_domain_per_minute: int = Field(default=60, ge=1)
    per_lead_per_day: int = Field(default=1, ge=1)
    per_lead_per_week: int = Field(default=3, ge=1)


class ImapSettings(_Section):
    """The mailbox that receives replies and bounces, polled by the daemon when enabled."""

    enabled: bool = False
    host: str = "localhost"
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "tls"
    username: str = ""
    password: SecretStr = SecretStr("")
    folder: str = "INBOX"
    processed_folder: str | None = None
    processed_flag: str = Field(default="$NurtureProcessed", pattern=r"^\$?[A-Za-z0-9_.-]+$")
    mark_seen: bool = False
    poll_seconds: float = Field(default=60, gt=0)
    timeout_seconds: float = Field(default=30, gt=0)
    soft_bounce_limit: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _login_when_enabled(self) -> ImapSettings:
        if self.enabled and not self.username:
            raise ValueError("imap.enabled = true needs imap.username (and imap.password)")
        return self


class DateRange(_Section):
    """A span of whole days, both ends included, e.g. { start = 2026-07-01, end = 2026-07-14 }."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class RepSettings(_Section):
    """A sales rep who can receive handed-off leads (see [[reps]] in config.example.toml)."""

    name: str
    email: str
    teams: list[str] = Field(default_factory=lambda: ["sales"])
    countries: list[str] = Field(default_factory=list)  # ISO codes; none: any country
    regions: list[str] = Field(default_factory=list)  # lead.region values; none: any region
    industries: list[str] = Field(default_factory=list)  # none: any industry
    capacity: int = Field(default=50, ge=0)
    weight: int = Field(default=1, ge=1, le=100)  # share of leads under round_robin
    timezone: str = "UTC"
    working_hours: str = "09:00-17:00"
    working_days: str = "mon-fri"
    out_of_office: list[DateRange] = Field(default_factory=list)
    active: bool = True

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value or any(c.isspace() for c in value.strip()):
            raise ValueError(f"{value!r} is not an email address")
        return value.strip().lower()

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, value: list[str]) -> list[str]:
        return [code.strip().upper() for code in value]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        parse_zone(value)
        return value

    @model_validator(mode="after")
    def _hours(self) -> RepSettings:
        try:
            parse_working_hours(self.working_hours, self.working_days)
        except WindowError as exc:
            raise ValueError(f"working_hours / working_days: {exc}") from exc
        return self


class HandoffSettings(_Section):
    """How handed-off leads find a rep, and what the rep (and the manager) hear."""

    strategy: Literal["least_loaded", "round_robin"] = "least_loaded"
    fallback_rep: str | None = None  # email of the rep who takes leads no one else matches
    sla_working_hours: float = Field(default=4, gt=0, le=500)
    manager_email: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    digest_hour: int = Field(default=8, ge=0, le=23)
    # How often the handoff job looks for requests that nobody woke it for (one written by
    # `nurture serve` or another worker); a request through this process's API wakes it at once.
    poll_seconds: float = Field(default=1.0, gt=0)

    @field_validator("fallback_rep", "manager_email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None

    @field_validator("webhook_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value or None

    @field_validator("webhook_secret")
    @classmethod
    def _standard_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            webhook_key(value.get_secret_value())  # ValueError says how to make a good one
        return value


class DashboardUser(_Section):
    """Someone who may log in to the dashboard; the hash comes from
    `nurture dashboard hash-password`."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^\S+$")
    password_hash: SecretStr

    @field_validator("password_hash")
    @classmethod
    def _scrypt_hash(cls, value: SecretStr) -> SecretStr:
        try:
            parse_password_hash(value.get_secret_value())
        except BadPasswordHash as exc:
            raise ValueError(str(exc)) from None
        return value


class DashboardSettings(_Section):
    """The dashboard's logins. With no users, only the API token opens it."""

    users: list[DashboardUser] = Field(default_factory=list)
    session_secret: SecretStr | None = None  # signs session cookies; default: tracking.secret
    session_hours: float = Field(default=12, gt=0, le=24 * 90)

    @model_validator(mode="after")
    def _unique_names(self) -> DashboardSettings:
        names = [user.name for user in self.users]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"users: {', '.join(twice)} listed more than once")
        return self


class Settings(BaseSettings):
    """All of nurture's configuration. See config.example.toml for every key, documented."""

    model_config = SettingsConfigDict(
        env_prefix="NURTURE_", env_nested_delimiter="__", extra="forbid", toml_file=None
    )

    database_url: str = "sqlite:///nurture.db"
    outbox: Literal["maildir", "smtp"] = "maildir"
    maildir: Path = Path("outbox")
    sequences_dir: Path = Path("sequences")
    templates_dir: Path = Path("templates")
    default_timezone: str = "UTC"
    dispatch_interval_seconds: float = Field(default=10, gt=0)
    batch_size: int = Field(default=500, ge=1, le=10000)
    jitter_minutes: float = Field(default=10, ge=0, le=240)
    rules_workers: int = Field(default=1, ge=1, le=64)
    on_interrupted: Literal["resend", "assume_sent"] = "resend"
    log_format: Literal["plain", "json"] = "plain"
    role: Literal["all", "worker", "web"] = "all"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8025, ge=0, le=65535)
    api_keys: list[SecretStr] = Field(default_factory=list)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    sender: SenderSettings = Field(default_factory=SenderSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    dkim: DkimSettings = Field(default_factory=DkimSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    reps: list[RepSettings] = Field(default_factory=list)
    handoff: HandoffSettings = Field(default_factory=HandoffSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    @field_validator("default_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        parse_zone(value)
        return value

    @model_validator(mode="after")
    def _reps_consistent(self) -> Settings:
        emails = [rep.email for rep in self.reps]
        twice = sorted({email for email in emails if emails.count(email) > 1})
        if twice:
            raise ValueError(f"reps: {', '.join(twice)} listed more than once")
        fallback = self.handoff.fallback_rep
        if fallback and fallback not in emails:
            raise ValueError(f"handoff.fallback_rep {fallback!r} is not one of the [[reps]]")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = settings_cls.model_config.get("toml_file")
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def config_path(explicit: str | Path | None = None) -> Path:
    """The config file in force: --config, else NURTURE_CONFIG, else ./config.toml."""
    return Path(explicit or os.environ.get("NURTURE_CONFIG") or "config.toml")


def load_settings(explicit: str | Path | None = None) -> Settings:
    """Load settings; a missing default file is fine, a missing explicit one is an error."""
    path = config_path(explicit)
    if (explicit is not None or os.environ.get("NURTURE_CONFIG")) and not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    toml_file = path if path.is_file() else None

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=toml_file)

    try:
        loaded = _FromFile()
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path if toml_file else None)) from exc
    except ValueError as exc:  # a TOML syntax error
        raise ConfigError(f"{path}: {exc}") from exc
    return Settings.model_construct(**dict(loaded))


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = [f"invalid configuration{where}:"]
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
        lines.append(f"  {key}: {reason}")
    return "\n".join(lines)
