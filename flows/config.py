"""Settings: command-line flags, then environment, then ``restless.toml``, then defaults.

``restless.toml`` (all keys optional)::

    [restless]
    inbox = "inbox"
    warehouse = "warehouse/restless.duckdb"
    fit_backend = "sdk"          # or "fitparse"
    lock_wait_s = 30
    keep_raw_parquet = false     # true: also keep raw accelerometer samples as Parquet
                                 # in <warehouse folder>/raw/ (env RESTLESS_KEEP_RAW_PARQUET)

    [science]                    # optional study-level thresholds
    log_min_energy_kcal = 1000   # a day under this is an incomplete food log
    log_afternoon_from = "12:00" # ... and so is one with nothing logged from this time
    response_min_nights_per_group = 14

    [participants.p01]           # the inbox folder name, a pseudonym
    timezone = "Europe/Berlin"   # IANA name; else the export's hint, else UTC (warned)
    sex = "female"               # for the magnesium allowance
    birth_year = 1979

    [participants.p01.sensors]   # which ankle a raw accelerometer file is on; wins over
    "left_ankle.cwa" = "left"    # left/ and right/ folder names. Keys: a file name or glob
    "AX3_12345*" = "right"       # (with "/": a path) under the participant's inbox folder
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_INBOX = Path("inbox")
DEFAULT_WAREHOUSE = Path("warehouse/restless.duckdb")
DEFAULT_CONFIG = Path("restless.toml")
FIT_BACKENDS = ("sdk", "fitparse")
SENSOR_SIDES = ("left", "right")
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class ConfigError(ValueError):
    """The settings cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class ParticipantSettings:
    """What a participant told us about themselves (optional, never identifying)."""

    timezone: str | None = None
    sex: str | None = None
    birth_year: int | None = None
    is_pregnant: bool | None = None
    is_lactating: bool | None = None
    sensors: dict[str, str] = field(default_factory=dict)
    """File name or glob under the participant's folder -> 'left'/'right' ankle."""


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path
    fit_backend: str = "sdk"
    lock_wait_s: float = 30.0
    archive_max_bytes: int = 4 * 1024**3
    keep_raw_parquet: bool = False
    participants: dict[str, ParticipantSettings] = field(default_factory=dict)
    science: dict[str, object] = field(default_factory=dict)


def _participant(pid: str, raw: dict) -> ParticipantSettings:
    unknown = set(raw) - {
        "timezone",
        "sex",
        "birth_year",
        "is_pregnant",
        "is_lactating",
        "sensors",
    }
    if unknown:
        raise ConfigError(f"participants.{pid}: unknown keys {sorted(unknown)}")
    tz = raw.get("timezone")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"participants.{pid}.timezone: {tz!r} is not an IANA zone") from exc
    sex = raw.get("sex")
    if sex is not None and sex not in ("female", "male"):
        raise ConfigError(f"participants.{pid}.sex: use 'female' or 'male' (got {sex!r})")
    birth_year = raw.get("birth_year")
    if birth_year is not None and not (
        isinstance(birth_year, int) and 1900 <= birth_year <= dt.date.today().year
    ):
        raise ConfigError(f"participants.{pid}.birth_year: {birth_year!r} is not a plausible year")
    for flag in ("is_pregnant", "is_lactating"):
        if flag in raw and not isinstance(raw[flag], bool):
            raise ConfigError(f"participants.{pid}.{flag}: use true or false")
    return ParticipantSettings(
        timezone=tz,
        sex=sex,
        birth_year=birth_year,
        is_pregnant=raw.get("is_pregnant"),
        is_lactating=raw.get("is_lactating"),
        sensors=_sensors(pid, raw.get("sensors", {})),
    )


def _sensors(pid: str, raw: object) -> dict[str, str]:
    """``[participants.<id>.sensors]``: file name or glob -> 'left' or 'right'."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"participants.{pid}.sensors: a table of file name = side, like"
            f' "left_ankle.cwa" = "left"'
        )
    out: dict[str, str] = {}
    for pattern, side in raw.items():
        if not str(pattern).strip():
            raise ConfigError(f"participants.{pid}.sensors: an empty file name or glob")
        if side not in SENSOR_SIDES:
            raise ConfigError(
                f"participants.{pid}.sensors.{pattern!r}: the side must be 'left' or 'right'"
                f" (got {side!r})"
            )
        out[str(pattern)] = side
    return out


def _flag(name: str, value: object) -> bool:
    """A boolean setting from TOML (true/false) or the environment (1/0, true/false, ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ConfigError(f"{name}: use true or false (got {value!r})")


def _science(raw: dict) -> dict[str, object]:
    """``[science]`` overrides: incomplete-log thresholds and minimum nights per comparison."""
    from restless.models.params import OVERRIDABLE

    out: dict[str, object] = {}
    for key, value in raw.items():
        if key not in OVERRIDABLE:
            raise ConfigError(f"science.{key}: not a setting (choose from {sorted(OVERRIDABLE)})")
        if key == "log_afternoon_from":
            try:
                out[key] = dt.time.fromisoformat(str(value))
            except ValueError as exc:
                raise ConfigError(f'science.{key}: use a time like "12:00"') from exc
        elif key.startswith("response_"):
            if not isinstance(value, int) or value < 2:
                raise ConfigError(f"science.{key}: a whole number of nights, at least 2")
            out[key] = value
        else:
            if not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"science.{key}: a non-negative number")
            out[key] = float(value)
    return out


def load_settings(
    config_path: Path | None = None,
    inbox: Path | None = None,
    warehouse: Path | None = None,
    fit_backend: str | None = None,
    keep_raw_parquet: bool | None = None,
) -> Settings:
    """Resolve settings; an explicitly named config file must exist."""
    raw: dict = {}
    path = config_path or (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    if path is not None:
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist")
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    main = raw.get("restless", {})
    backend = fit_backend or main.get("fit_backend", "sdk")
    if backend not in FIT_BACKENDS:
        raise ConfigError(f"fit_backend must be one of {FIT_BACKENDS} (got {backend!r})")
    env_inbox = os.environ.get("RESTLESS_INBOX")
    env_warehouse = os.environ.get("RESTLESS_WAREHOUSE")
    env_keep_raw = os.environ.get("RESTLESS_KEEP_RAW_PARQUET")
    if keep_raw_parquet is None and env_keep_raw:
        keep_raw_parquet = _flag("RESTLESS_KEEP_RAW_PARQUET", env_keep_raw)
    if keep_raw_parquet is None:
        keep_raw_parquet = _flag("restless.keep_raw_parquet", main.get("keep_raw_parquet", False))
    participants = {
        str(pid): _participant(str(pid), values)
        for pid, values in raw.get("participants", {}).items()
    }
    return Settings(
        science=_science(raw.get("science", {})),
        inbox=inbox or Path(env_inbox or main.get("inbox", DEFAULT_INBOX)),
        warehouse=warehouse or Path(env_warehouse or main.get("warehouse", DEFAULT_WAREHOUSE)),
        fit_backend=backend,
        lock_wait_s=float(main.get("lock_wait_s", 30.0)),
        archive_max_bytes=int(main.get("archive_max_bytes", 4 * 1024**3)),
        keep_raw_parquet=keep_raw_parquet,
        participants=participants,
    )
