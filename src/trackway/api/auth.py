"""Who may read a project: its API secret as HTTP Basic user name (empty password), or a
service account's ``username:secret`` with ``project_id``."""

from __future__ import annotations

from trackway.errors import AuthError
from trackway.projects import Project, ProjectCatalog, basic_credentials

_EXPECTED = (
    "expected HTTP Basic auth with the project's API secret as user name and an empty "
    "password, or a service account's username:secret with `project_id`"
)


def authenticate(authorization: str, params: dict[str, str], catalog: ProjectCatalog) -> Project:
    credentials = basic_credentials(authorization)
    if credentials is None:
        raise AuthError(f"Invalid credentials: none given; {_EXPECTED}")
    user, password = credentials
    if not password and catalog.by_secret(user) is None:
        raise AuthError(f"Invalid credentials: {_EXPECTED}")  # the public token is not enough here
    project = catalog.authenticate(user, password, params.get("project_id"))
    if project is None:
        raise AuthError(f"Invalid credentials: {_EXPECTED}")
    return project
