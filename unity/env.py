"""Typed readers for configuration from the environment.

Every reader raises ``ImproperlyConfigured`` naming the variable when a value is invalid, so a
misconfigured deployment stops at startup instead of failing later. Secrets may also be given
as ``NAME_FILE`` pointing at a file (Docker and Kubernetes secrets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """The variable's value, or the contents of the file named by ``NAME_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass(frozen=True)
class DatabaseConfig:
    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    def as_django(self, *, conn_max_age: int = 60) -> dict[str, object]:
        config: dict[str, object] = {
            "ENGINE": self.engine,
            "NAME": self.name,
            "USER": self.user,
            "PASSWORD": self.password,
            "HOST": self.host,
            "PORT": self.port,
            "ATOMIC_REQUESTS": False,
        }
        if self.engine.endswith("postgresql"):
            config["CONN_MAX_AGE"] = conn_max_age
            config["CONN_HEALTH_CHECKS"] = True
            config["OPTIONS"] = {"connect_timeout": 5}
        return config


def parse_database_url(name: str, url: str) -> DatabaseConfig:
    """Parse ``postgres://user:pass@host:port/db`` or ``sqlite:///path``."""
    parts = urlsplit(url)
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name}: the URL names no database: {url!r}")
        try:
            port = str(parts.port or "")
        except ValueError:
            raise ImproperlyConfigured(f"{name}: invalid port in {url!r}") from None
        options = parse_qs(parts.query)
        host = options.get("host", [parts.hostname or ""])[0]
        return DatabaseConfig(
            engine="django.db.backends.postgresql",
            name=database,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            host=host,
            port=port,
        )
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("/") and not path.startswith("//") and parts.netloc == "":
            # sqlite:///relative.db -> "relative.db"; sqlite:////abs/path.db -> "/abs/path.db"
            path = path[1:]
        if not path:
            raise ImproperlyConfigured(f"{name}: the URL names no file: {url!r}")
        return DatabaseConfig(engine="django.db.backends.sqlite3", name=path)
    raise ImproperlyConfigured(f"{name}: unsupported scheme {parts.scheme!r}; use postgres://... or sqlite:///...")


def validate_redis_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"} or (parts.scheme != "unix" and not parts.hostname):
        raise ImproperlyConfigured(f"{name}: expected redis://host:port/db, got {url!r}")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: invalid port in {url!r}") from None
    return url
