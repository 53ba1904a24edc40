"""The Kashflow sandbox as a :class:`integrations.core.sandbox.SandboxSystem`: one account per instance, held
in ``<folder>/kashflow.sqlite3``."""

from __future__ import annotations

import secrets
import string
from pathlib import Path
from typing import Any

from integrations.core.sandbox import SharedParty, size_to_invoices

from .app import KashflowSandbox, create_app
from .faults import KashflowFaults
from .seed import COMPANY_NAME, scale, seed
from .store import Store

DB_FILE = "kashflow.sqlite3"
_WORDS = ("pineapple", "marmalade", "lighthouse", "buttercup", "saltmarsh", "woodpecker", "harbourside",
          "letterpress", "blackberry", "kingfisher", "moonstone", "riverbank", "sunflower", "thunderbolt")


class KashflowSystem:
    name = "kashflow"
    label = "Kashflow"

    def new_credentials(self) -> dict[str, Any]:
        """A user name, a strong password and a memorable word (Kashflow asks for 3 of its characters)."""
        word = secrets.choice(_WORDS) + "".join(secrets.choice(string.ascii_lowercase) for _ in range(3))
        return {"username": f"admin.{secrets.token_hex(3)}", "password": secrets.token_urlsafe(18),
                "memorable_word": word}

    def seed(self, folder: Path, credentials: dict[str, Any], *, size: int, rng_seed: int = 0,
             parties: list[SharedParty] | None = None) -> dict[str, int]:
        invoices = size_to_invoices(size)
        sizes = scale(invoices)
        store = Store(str(Path(folder) / DB_FILE))
        try:
            result = seed(store, customers=sizes["customers"], invoices=invoices, months=sizes["months"],
                          rng_seed=rng_seed, username=credentials["username"], password=credentials["password"],
                          memorable_word=credentials["memorable_word"], company_name=COMPANY_NAME, parties=parties)
        finally:
            store.close()
        return {k: int(v) for k, v in result.items() if isinstance(v, int) and not isinstance(v, bool)}

    def parties(self, folder: Path) -> list[SharedParty]:
        store = self._open(folder)
        try:
            return store.shared_parties()
        finally:
            store.close()

    def make_app(self, folder: Path, credentials: dict[str, Any]) -> KashflowSandbox:
        return create_app(self._open(folder), KashflowFaults())

    def close_app(self, app: KashflowSandbox) -> None:
        app.store.close()

    def inspect(self, folder: Path) -> dict[str, Any]:
        store = self._open(folder)
        try:
            counts = store.counts()
            return counts | {"company_name": store.get_setting("company_name"), "locked_users": store.locked_users()}
        finally:
            store.close()

    def connection_fields(self, root_url: str, folder: Path, credentials: dict[str, Any]) -> dict[str, Any]:
        return {"base_url": f"{root_url.rstrip('/')}/v2", "username": credentials["username"],
                "password": credentials["password"], "memorable_word": credentials["memorable_word"],
                "settings": {}}

    @staticmethod
    def _open(folder: Path) -> Store:
        path = Path(folder) / DB_FILE
        if not path.exists():
            raise FileNotFoundError(f"no Kashflow sandbox in {folder}; seed it first")
        return Store(str(path))


SYSTEM = KashflowSystem()
