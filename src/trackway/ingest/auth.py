"""Credentials for /import: HTTP Basic with the API secret (or the token) as the user name and
an empty password, a service account's ``user:secret`` plus ``project_id``, or an ``api_key``
parameter (the secret or the token)."""

from __future__ import annotations

from trackway.errors import AuthError
from trackway.projects import Project, ProjectCatalog, basic_credentials

_EXPECTED = (
    "expected HTTP Basic auth with the project's API secret (or token) as user name and an "
    "empty password, a service account with `project_id`, or an `api_key` parameter"
)


def authenticate_import(
    authorization: str, params: dict[str, str], catalog: ProjectCatalog
) -> Project:
    credentials = basic_credentials(authorization)
    if credentials is None and "api_key" in params:
        credentials = (params["api_key"], "")
    if credentials is None:
        raise AuthError(f"Invalid credentials: none given; {_EXPECTED}")
    project = catalog.authenticate(*credentials, params.get("project_id"))
    if project is None:
        raise AuthError(f"Invalid credentials: {_EXPECTED}")
    return project
