"""Credentials for /import: HTTP Basic with the API secret (or the token) as the user name and
an empty password, or ``api_key=`` in the query or form; ``project_id`` must then agree."""

from __future__ import annotations

import base64
import binascii

from trackway.errors import AuthError
from trackway.projects import Project, ProjectCatalog

_EXPECTED = (
    "expected HTTP Basic auth with the project's API secret (or token) as user name and an "
    "empty password, or an `api_key` parameter"
)


def authenticate_import(
    authorization: str, params: dict[str, str], catalog: ProjectCatalog
) -> Project:
    project: Project | None = None
    user = _basic_user(authorization)
    if user is not None:
        project = catalog.by_secret(user) or catalog.by_token(user)
    elif "api_key" in params:
        key = params["api_key"]
        project = catalog.by_secret(key) or catalog.by_token(key)
    else:
        raise AuthError(f"Invalid credentials: none given; {_EXPECTED}")
    if project is None:
        raise AuthError(f"Invalid credentials: {_EXPECTED}")
    wanted = params.get("project_id")
    if wanted and wanted != str(project.id):
        raise AuthError(
            f"Invalid credentials: they belong to project {project.id}, not project_id={wanted}"
        )
    return project


def _basic_user(authorization: str) -> str | None:
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    value = value.strip()
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, ValueError):
        # Mixpanel also takes the plain "user:secret" text after "Basic ".
        decoded = value
    return decoded.partition(":")[0]
