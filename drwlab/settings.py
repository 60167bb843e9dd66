"""The one place where drwlab reads environment variables.

Library code receives its configuration as arguments; only ``open_store``,
the Sandbox's defaults and the CLI ask this module what the environment says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from drwlab.credentials import hide_password

DEFAULT_WORKDIR = "drwlab-work"
DEFAULT_DB_FILE = "drwlab.db"


@dataclass(frozen=True, repr=False)
class Settings:
    """What the environment asks for; every field has a safe default.

    Its ``repr`` hides the password (in ``couchdb_password`` and in ``store_url``).
    """

    store_url: str | None = None
    couchdb_user: str | None = None
    couchdb_password: str | None = None
    workdir: Path = Path(DEFAULT_WORKDIR)
    time_scale: float | None = None
    autopilot: bool = False

    @property
    def default_store_url(self) -> str:
        """``DRWLAB_STORE`` if set, else an SQLite file in the work dir."""
        return self.store_url or f"sqlite:///{(self.workdir / DEFAULT_DB_FILE).resolve()}"

    def __repr__(self) -> str:
        shown = {
            "store_url": None if self.store_url is None else hide_password(self.store_url),
            "couchdb_user": self.couchdb_user,
            "couchdb_password": None if self.couchdb_password is None else "***",
            "workdir": self.workdir,
            "time_scale": self.time_scale,
            "autopilot": self.autopilot,
        }
        return f"Settings({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


def _float_or_none(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    value = float(text)
    if value < 0:
        raise ValueError(f"DRWLAB_TIME_SCALE must be >= 0, not {text!r}")
    return value


def from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``DRWLAB_*`` variables: STORE, COUCHDB_USER, COUCHDB_PASSWORD, WORKDIR,
    TIME_SCALE (the fast mode used by CI) and AUTOPILOT (answer QA2 in notebooks)."""
    env = os.environ if environ is None else environ
    return Settings(
        store_url=env.get("DRWLAB_STORE") or None,
        couchdb_user=env.get("DRWLAB_COUCHDB_USER") or None,
        couchdb_password=env.get("DRWLAB_COUCHDB_PASSWORD") or None,
        workdir=Path(env.get("DRWLAB_WORKDIR") or DEFAULT_WORKDIR),
        time_scale=_float_or_none(env.get("DRWLAB_TIME_SCALE")),
        autopilot=env.get("DRWLAB_AUTOPILOT", "").lower() in ("1", "true", "yes"),
    )
