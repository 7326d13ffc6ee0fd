"""The project catalog: ids, names, tokens and API secrets, kept in ``<data_dir>/projects.json``.

Every layer may read it; only the CLI and the server create projects. Several server
processes share the file, so writers take an exclusive ``flock`` and readers reload it when
its modification time changes.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

from trackway.errors import UserError
from trackway.files import JsonFile

CATALOG_FILE = "projects.json"


# How distinct_ids join into one user (docs/identity.md); "none" never joins them.
IdMerge = Literal["simplified", "original", "none"]
ID_MERGE_MODES: tuple[IdMerge, ...] = ("simplified", "original", "none")


class Project(msgspec.Struct, frozen=True):
    id: int
    name: str
    token: str
    secret: str
    created_ms: int
    timezone: str = "UTC"
    id_merge: IdMerge = "simplified"
    shards: int = 8


class ServiceAccount(msgspec.Struct, frozen=True):
    """Credentials for the APIs and /import (HTTP Basic ``username:secret`` plus
    ``project_id``), granted on a list of projects."""

    username: str
    secret: str
    project_ids: list[int]
    created_ms: int


class _Catalog(msgspec.Struct):
    projects: list[Project] = []
    service_accounts: list[ServiceAccount] = []


class ProjectCatalog:
    """Reads and writes the project list of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self._file = JsonFile(data_dir / CATALOG_FILE, _Catalog, pretty=True)
        self._index = _Index()

    def create(self, name: str, id_merge: IdMerge = "simplified") -> Project:
        if not name.strip():
            raise UserError("Expected a non-empty project name")
        if id_merge not in ID_MERGE_MODES:
            raise UserError(f"Expected `id_merge` to be one of {ID_MERGE_MODES}, got {id_merge!r}")

        def add(catalog: _Catalog) -> Project:
            project = Project(
                id=max((p.id for p in catalog.projects), default=0) + 1,
                name=name,
                token=secrets.token_hex(16),
                secret=secrets.token_hex(16),
                created_ms=int(time.time() * 1000),
                id_merge=id_merge,
            )
            catalog.projects.append(project)
            return project

        return self._file.update(add)

    def create_service_account(self, name: str, project_ids: list[int]) -> ServiceAccount:

        def add(catalog: _Catalog) -> ServiceAccount:
            known = {p.id for p in catalog.projects}
            unknown = sorted(set(project_ids) - known)
            if unknown or not project_ids:
                raise UserError(f"Expected existing project ids, got {unknown or 'none'}")
            account = ServiceAccount(
                username=f"{name}.{secrets.token_hex(4)}",
                secret=secrets.token_hex(16),
                project_ids=sorted(set(project_ids)),
                created_ms=int(time.time() * 1000),
            )
            catalog.service_accounts.append(account)
            return account

        return self._file.update(add)

    def authenticate(self, user: str, password: str, project_id: str | None) -> Project | None:
        """The project that HTTP Basic credentials open: a service account's ``user:secret``
        with ``project_id``, or a project's API secret (or token) as user and no password."""
        self._refresh()
        if password:
            account = self._index.accounts.get(user)
            if account is None or not secrets.compare_digest(account.secret, password):
                return None
            if (
                project_id is None
                or not project_id.isdigit()
                or int(project_id) not in account.project_ids
            ):
                return None
            return self.by_id(int(project_id))
        project = self.by_secret(user) or self.by_token(user)
        if project is not None and project_id and project_id != str(project.id):
            return None
        return project

    def all(self) -> list[Project]:
        self._refresh()
        return sorted(self._index.by_id.values(), key=lambda p: p.id)

    def by_id(self, project_id: int) -> Project | None:
        return self._lookup(lambda index: index.by_id.get(project_id))

    def by_token(self, token: str) -> Project | None:
        return self._lookup(lambda index: index.by_token.get(token))

    def by_secret(self, secret: str) -> Project | None:
        return self._lookup(lambda index: index.by_secret.get(secret))

    def _lookup(self, find: Callable[[_Index], Project | None]) -> Project | None:
        found = find(self._index)
        if found is None and self._refresh():
            found = find(self._index)
        return found

    def _refresh(self) -> bool:
        """Reload when the file changed; a stat per miss keeps lookups cheap on the hot path."""
        catalog = self._file.changed()
        if catalog is None:
            return False
        # One new index, swapped in whole: a lookup on another thread sees the old one or
        # the new one, never one half built.
        self._index = _Index(
            {p.id: p for p in catalog.projects},
            {p.token: p for p in catalog.projects},
            {p.secret: p for p in catalog.projects},
            {a.username: a for a in catalog.service_accounts},
        )
        return True


@dataclass(frozen=True, slots=True)
class _Index:
    by_id: dict[int, Project] = field(default_factory=dict)
    by_token: dict[str, Project] = field(default_factory=dict)
    by_secret: dict[str, Project] = field(default_factory=dict)
    accounts: dict[str, ServiceAccount] = field(default_factory=dict)


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic ``Authorization`` header, else None. Mixpanel also
    takes the plain ``user:secret`` text after ``Basic ``, so that is accepted too."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        decoded = value
    user, _, password = decoded.partition(":")
    return user, password
