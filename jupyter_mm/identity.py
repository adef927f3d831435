"""Who is acting, when the caller has no authenticated identity to pass.

The registry records an ``actor`` with every change. The server passes the request's
authenticated Jupyter user; the kernel and the CLI act as the identity of their process,
which is what :func:`current_identity` finds:

1. in a JupyterHub single-user server or one of its kernels, the hub user and groups that
   the hub API answers for the server's own token (``$JUPYTERHUB_API_URL/user`` with
   ``$JUPYTERHUB_API_TOKEN``) — authenticated by the hub, not read from a variable;
2. else ``$JUPYTERHUB_USER`` (a hub that could not be asked), marked unverified;
3. else the OS user.

On a team store nothing here is trusted for writes: the registry service asks the hub who
the token belongs to, and the database checks run ownership against its own login role
(``docs/architecture.md#security-model-team-mode``).
"""

from __future__ import annotations

import getpass
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field

#: seconds to wait for the hub API before falling back to $JUPYTERHUB_USER
HUB_TIMEOUT = 5.0


@dataclass(frozen=True)
class Identity:
    """A user and how this process knows it."""

    name: str | None
    #: "hub API" (authenticated), "$JUPYTERHUB_USER (unverified)", "OS user", "server login"
    source: str
    groups: tuple[str, ...] = ()
    scopes: tuple[str, ...] = field(default=(), repr=False)

    @property
    def authenticated(self) -> bool:
        return self.source in ("hub API", "server login")


def hub_user_model(api_url: str, token: str, timeout: float = HUB_TIMEOUT) -> dict[str, object]:
    """``GET {api_url}/user`` with ``token``: the hub's model of the token's owner (name,
    groups, scopes). Raises OSError/ValueError when the hub cannot answer."""
    request = urllib.request.Request(
        api_url.rstrip("/") + "/user", headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        model = json.loads(response.read())
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise ValueError("the hub API answered /user without a user name")
    return model


#: answers of the hub per (API URL, token); failures are not kept, so a hub that was
#: restarting is asked again next time
_HUB_ANSWERS: dict[tuple[str, str], Identity] = {}


def _hub_identity(api_url: str, token: str) -> Identity | None:
    known = _HUB_ANSWERS.get((api_url, token))
    if known is not None:
        return known
    try:
        model = hub_user_model(api_url, token)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    groups = model.get("groups") or []
    scopes = model.get("scopes") or []
    identity = Identity(
        name=str(model["name"]),
        source="hub API",
        groups=tuple(sorted(str(g) for g in groups)) if isinstance(groups, list) else (),
        scopes=tuple(sorted(str(s) for s in scopes)) if isinstance(scopes, list) else (),
    )
    _HUB_ANSWERS[(api_url, token)] = identity
    return identity


def hub_identity() -> Identity | None:
    """The hub user this process's token belongs to, asked once per process; None outside
    a hub or when the hub does not answer."""
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if not (api_url and token):
        return None
    return _hub_identity(api_url, token)


def os_user() -> str | None:
    """The OS user, or None (no passwd entry in some containers)."""
    try:
        return getpass.getuser()
    except Exception:
        return None


def current_identity() -> Identity:
    """The identity this process acts as (see the module docstring for the order)."""
    hub = hub_identity()
    if hub is not None:
        return hub
    user = os.environ.get("JUPYTERHUB_USER")
    if user:
        return Identity(name=user, source="$JUPYTERHUB_USER (unverified)")
    return Identity(name=os_user(), source="OS user")


def process_user() -> str | None:
    """The name of :func:`current_identity`."""
    return current_identity().name
