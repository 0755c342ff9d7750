"""Service settings: flags win over environment variables, which win over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ecglens.exceptions import EcglensError
from ecglens.models.registry import DEFAULT_MODEL


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know; built once at start and shared read-only."""

    #: ``ECGLENS_DATA_DIR`` / ``ECGLENS_DB_URL`` are read here only: every command (``serve``,
    #: ``users``, ``keys``, ``import``, ``retry``, ``db``) builds its settings from this class
    data_dir: Path = field(default_factory=lambda: Path(
        os.environ.get("ECGLENS_DATA_DIR", "").strip() or "ecglens-data").expanduser())
    db_url: str | None = field(
        default_factory=lambda: os.environ.get("ECGLENS_DB_URL", "").strip() or None)
    max_upload_mb: float = field(
        default_factory=lambda: float(os.environ.get("ECGLENS_MAX_UPLOAD_MB", "50")))
    deidentify: bool = field(default_factory=lambda: _env_flag("ECGLENS_DEIDENTIFY"))
    cors_origins: tuple[str, ...] = field(default_factory=lambda: tuple(
        o.strip() for o in os.environ.get("ECGLENS_CORS_ORIGINS", "").split(",") if o.strip()))
    model: str = field(default_factory=lambda: os.environ.get("ECGLENS_MODEL", DEFAULT_MODEL))
    #: worker threads that interpret uploads; 0 = none (an API-only process)
    workers: int = 1
    session_hours: float = 12.0
    #: secure cookies need HTTPS; off by default so the zero-configuration localhost run works
    secure_cookies: bool = field(default_factory=lambda: _env_flag("ECGLENS_SECURE_COOKIES"))

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0:
            raise EcglensError("the upload limit must be a positive number of megabytes")

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'ecglens.db').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
