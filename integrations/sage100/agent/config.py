"""The agent's configuration file (JSON) and building a running agent from it.

    {
      "api_key_hash": "sha256:...",            # from `python -m integrations.sage100.agent new-key`
      "backend": "boi",                        # or "emulated" (a sandbox company file)
      "company": "ABC",
      "sage_user": "lbagent",
      "sage_password_env": "LB_SAGE_PASSWORD", # the Sage password is read from this environment variable
      "sage_home": "C:\\\\Sage\\\\Sage 100\\\\MAS90\\\\Home",  # boi only: the BOI Init path
      "database": "C:\\\\sandbox\\\\company.sqlite3",  # emulated only
      "state": "agent-state.sqlite3",          # the applied-keys table
      "host": "127.0.0.1", "port": 8703
    }

The file holds no secret in clear: the API key only as a hash, the Sage password by reference to the environment
(a Windows service sets it from its own protected configuration).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .app import AgentApp
from .backends import Backend
from .keys import AppliedKeys
from .service import Agent

BACKENDS = ("boi", "emulated")


class ConfigError(ValueError):
    """The configuration file is missing something or has a wrong value; the message says what."""


@dataclass(frozen=True)
class AgentConfig:
    api_key_hash: str
    company: str
    sage_user: str
    sage_password_env: str
    backend: str = "boi"
    sage_home: str = r"C:\Sage\Sage 100\MAS90\Home"
    database: str = ""
    state: str = "agent-state.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8703

    @classmethod
    def load(cls, path: Path | str) -> AgentConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the agent configuration {path}: {exc}") from exc
        return cls.from_dict(data, base=Path(path).parent)

    @classmethod
    def from_dict(cls, data: Any, *, base: Path = Path()) -> AgentConfig:
        if not isinstance(data, dict):
            raise ConfigError("the agent configuration must be a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        missing = [name for name in ("api_key_hash", "company", "sage_user", "sage_password_env") if not data.get(name)]
        if missing:
            raise ConfigError(f"missing setting(s): {', '.join(missing)}")
        config = cls(**data)
        if config.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}")
        if not config.api_key_hash.startswith("sha256:"):
            raise ConfigError("api_key_hash must be 'sha256:<hex>' (python -m integrations.sage100.agent new-key)")
        if len(config.company) != 3:
            raise ConfigError("company must be the 3-character Sage company code")
        if config.backend == "emulated" and not config.database:
            raise ConfigError("the emulated backend needs 'database' (a sandbox company file)")
        state = Path(config.state) if Path(config.state).is_absolute() else base / config.state
        return cls(**{**data, "state": str(state)})

    def sage_password(self) -> str:
        password = os.environ.get(self.sage_password_env, "")
        if not password:
            raise ConfigError(f"the Sage password is not set: environment variable {self.sage_password_env}")
        return password


def build_backend(config: AgentConfig) -> Backend:
    if config.backend == "emulated":
        from .backends.emulated import EmulatedBackend

        return EmulatedBackend(config.database, company=config.company, user=config.sage_user,
                               password=config.sage_password())
    from .backends.boi import BoiBackend

    return BoiBackend(home=config.sage_home, user=config.sage_user, password=config.sage_password(),
                      company=config.company)


def build_app(config: AgentConfig) -> AgentApp:
    return AgentApp(Agent(build_backend(config), AppliedKeys(config.state)), config.api_key_hash)
