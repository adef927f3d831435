"""A real JupyterHub for the team-mode tests: hub, configurable-http-proxy, the jupyter-mm
registry service, single-user servers started by SimpleLocalProcessSpawner, the
DummyAuthenticator with alice, bob and carol, and a team store on the suite's PostgreSQL
with a login role per user (``jupyter mm team init-db``).

Users, groups and roles (:data:`USERS`, :data:`PERMISSIONS`):

- alice, group ``ds``: read, register, stage (``c.Permissions.roles``);
- bob, group ``approvers``: read, and approve through the hub role ``mm-approver`` whose
  custom scope is ``custom:jupyter-mm:approve``;
- carol: read only.

Everything runs as one OS user (a test machine has no others); the database roles and
the hub's tokens are what separates the three, as in a real deployment where the spawner
also separates OS users.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from mm_test_support import free_port, stop_process, unavailable

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
USERS = ("alice", "bob", "carol")
PASSWORD = "hub-test-password"
GROUPS = {"ds": ["alice"], "approvers": ["bob"]}
SERVICE = "jupyter-mm"
OWNER = "mm_owner"
#: the service's roles table: approve comes from the hub scope, nobody may manage
PERMISSIONS = {"*": {"read": ["*"], "register": ["group:ds"], "stage": ["group:ds"]}}
#: the stage the service moves versions into only through an approved request: archived, so
#: that the bypass matrix's direct promotions to production stay direct, while
#: test_hub_approvals.py drives requests and decisions through the service
REQUIRE_APPROVAL = ["archived"]
#: every role's custom scope, requested for each server's token (each gets those it holds)
MM_SCOPES = [f"custom:jupyter-mm:{role}" for role in ("register", "stage", "approve", "manage")]


def missing(reason: str) -> NoReturn:
    """Skip on a developer machine, fail in CI: CI must never drop the hub tests."""
    unavailable(reason, ci_must="run the JupyterHub tests")


def find_proxy() -> str:
    """configurable-http-proxy on PATH, else the local install .ci/run makes in the repo."""
    found = shutil.which("configurable-http-proxy")
    local = REPO / ".node-tools" / "node_modules" / ".bin" / "configurable-http-proxy"
    if found:
        return found
    if local.exists():
        return str(local)
    missing(
        "configurable-http-proxy not found (npm install --prefix .node-tools "
        "configurable-http-proxy)"
    )
    raise AssertionError("unreachable")


@dataclass
class TeamDatabase:
    """The team store's database: the owner's URL (the service's) and each user's."""

    host: str
    port: int
    name: str
    passwords: dict[str, str]
    artifacts: Path

    def url(self, role: str) -> str:
        return f"postgresql://{role}:{self.passwords[role]}@{self.host}:{self.port}/{self.name}"

    def connect(self, role: str) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=self.name,
            user=role,
            password=self.passwords[role],
            autocommit=True,
        )

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows read as the owner (RLS does not apply to it): what really is stored."""
        with self.connect(OWNER) as conn:
            return list(conn.execute(sql, args).fetchall())


def make_team_database(postgres_server: Any, base: Path) -> TeamDatabase:
    """A fresh database owned by ``mm_owner``, the jupyter-mm schema, and ``team init-db``
    with a login role per user. Password authentication for these roles (the suite's
    cluster trusts its own admin role only)."""
    from jupyter_mm.config import StoreLocation
    from jupyter_mm.service import team_db
    from jupyter_mm.store import open_store

    name = f"mm_team_{secrets.token_hex(4)}"
    passwords = {role: secrets.token_urlsafe(12) for role in (OWNER, *USERS)}
    admin = postgres_server.admin
    admin(
        f"DO $$ BEGIN CREATE ROLE {OWNER} LOGIN CREATEROLE; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    admin(f"ALTER ROLE {OWNER} PASSWORD '{passwords[OWNER]}'")
    admin(f"CREATE DATABASE {name} OWNER {OWNER}")
    _require_passwords(postgres_server)
    db = TeamDatabase(postgres_server.host, postgres_server.port, name, passwords, base / "blobs")
    db.artifacts.mkdir(parents=True)
    open_store(StoreLocation(url=db.url(OWNER), artifact_root=str(db.artifacts))).close()
    statements = team_db.policy_statements()
    for user in USERS:
        statements += team_db.user_statements(user, passwords[user])
    team_db.apply(db.url(OWNER), statements)
    return db


def _require_passwords(postgres_server: Any) -> None:
    """Put a scram-sha-256 line for the team roles above the cluster's trust lines."""
    import psycopg

    with psycopg.connect(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        line = f"host all {OWNER},+mm_users 127.0.0.1/32 scram-sha-256\n"
        text = hba.read_text()
        if line not in text:
            hba.write_text(line + text)
        conn.execute("SELECT pg_reload_conf()")


@dataclass
class Hub:
    """A running JupyterHub with the jupyter-mm service."""

    url: str
    base: Path
    db: TeamDatabase
    process: subprocess.Popen[bytes]
    started_in: float
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def service_url(self) -> str:
        return f"{self.url}/services/{SERVICE}/"

    def home(self, user: str) -> Path:
        return self.base / "home" / user

    def request(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, Any]:
        """(status, JSON body) of one request to the hub's public URL."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def token(self, user: str) -> str:
        """The user's own API token, requested with their password as the Token page
        does; it inherits the user's scopes (custom:jupyter-mm:approve for bob)."""
        if user not in self.tokens:
            status, body = self.request(
                "POST",
                f"/hub/api/users/{user}/tokens",
                body={"auth": {"username": user, "password": PASSWORD}, "note": "tests"},
            )
            assert status == 201, (status, body)
            self.tokens[user] = body["token"]
        return self.tokens[user]

    def start_servers(self, users: Iterable[str], timeout: float = 240) -> None:
        """Start each user's single-user server (with their own token, as the hub's home
        page does) and wait until the hub says every one is ready."""
        waiting = list(users)
        for user in waiting:
            status, body = self.request("POST", f"/hub/api/users/{user}/server", self.token(user))
            assert status in (201, 202, 400), (status, body)  # 400: already running
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            user = waiting[0]
            status, model = self.request("GET", f"/hub/api/users/{user}", self.token(user))
            server = (model or {}).get("servers", {}).get("", {}) if status == 200 else {}
            if server.get("ready"):
                waiting.pop(0)
            else:
                time.sleep(0.5)
        assert not waiting, f"servers of {waiting} not ready in {timeout} s"

    def env(self, user: str, *, service: bool = True) -> dict[str, str]:
        """The environment a process of ``user`` has (a terminal in their server, or their
        laptop with the hub's token): their own database login and their own hub token."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JUPYTERHUB_", "JUPYTER_MM_", "JPY_"))
        }
        env.update(
            HOME=str(self.home(user)),
            JUPYTER_CONFIG_DIR=str(self.home(user) / ".jupyter"),
            JUPYTER_MM_STORE=self.db.url(user),
            JUPYTER_MM_ARTIFACTS=str(self.db.artifacts),
            JUPYTERHUB_API_URL=f"{self.url}/hub/api",
            JUPYTERHUB_API_TOKEN=self.token(user),
        )
        if not service:
            # the user's own way round: a config that does not name the service
            env["JUPYTER_CONFIG_DIR"] = str(self.home(user) / ".jupyter-direct")
        return env


def write_user_config(home: Path, service_url: str) -> None:
    """Each user's Jupyter config dir: the registry service for registry writes; and a
    second dir without it, what a user who edits their config gets."""
    (home / ".jupyter").mkdir(parents=True, exist_ok=True)
    (home / ".jupyter-direct").mkdir(parents=True, exist_ok=True)
    (home / ".jupyter" / "jupyter_mm_config.py").write_text(
        f"c.Registry.service_url = {service_url!r}\n"
    )


def hub_config(base: Path, db: TeamDatabase, ports: dict[str, int]) -> str:
    """jupyterhub_config.py for the test hub (what README "Identity and permissions"
    describes, with the dummy authenticator and local processes)."""
    service_env = {
        "JUPYTER_MM_STORE": db.url(OWNER),
        "JUPYTER_MM_ARTIFACTS": str(db.artifacts),
        "JUPYTER_CONFIG_DIR": str(base / "service"),
    }
    user_urls = {user: db.url(user) for user in USERS}
    return f"""
import sys
c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{ports["public"]}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{ports["hub"]}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
c.ConfigurableHTTPProxy.command = [{find_proxy()!r}]
c.ConfigurableHTTPProxy.pid_file = {str(base / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{base / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(base / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(base / "hub.pid")!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {PASSWORD!r}
c.Authenticator.allowed_users = set({list(USERS)!r})
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(base / "home" / "{username}")!r}
c.Spawner.cmd = [{str(VENV_BIN / "jupyterhub-singleuser")!r}]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.Spawner.args = [
    "--LabApp.user_settings_dir={base / "lab-settings"}",
    "--LabApp.expose_app_in_browser=True",  # the browser tests drive window.jupyterapp
    *{_root_args()!r},
]
# answer a spawn request at once; the tests poll readiness (three servers start together)
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
user_urls = {user_urls!r}
c.Spawner.environment = {{
    "JUPYTER_MM_STORE": lambda spawner: user_urls[spawner.user.name],
    "JUPYTER_MM_ARTIFACTS": {str(db.artifacts)!r},
    "JUPYTER_CONFIG_DIR": lambda spawner: spawner.home_dir + "/.jupyter",
}}
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", *{MM_SCOPES!r}]
c.JupyterHub.custom_scopes = {{
    scope: {{"description": "jupyter-mm role " + scope.rsplit(":", 1)[1]}}
    for scope in {MM_SCOPES!r}
}}
c.JupyterHub.load_groups = {{name: {{"users": users}} for name, users in {GROUPS!r}.items()}}
c.JupyterHub.load_roles = [
    {{"name": "mm-approver", "scopes": ["custom:jupyter-mm:approve"], "groups": ["approvers"]}},
]
c.JupyterHub.services = [{{
    "name": {SERVICE!r},
    "url": "http://127.0.0.1:{ports["service"]}",
    "command": [sys.executable, "-m", "jupyter_mm.cli", "registry-service"],
    "cwd": {str(base / "service")!r},
    "environment": {service_env!r},
    "display": False,
}}]
"""


def _root_args() -> list[str]:
    """A CI container runs as root, which jupyter_server refuses unless told."""
    return ["--allow-root"] if os.geteuid() == 0 else []


def _wait_for_hub(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"jupyterhub exited:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/hub/api/", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"jupyterhub did not answer in 180 s:\n{log.read_text()[-4000:]}")


def _wait_for_service(url: str, log: Path) -> None:
    """The service answers 401 to a request without a token once it listens."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "api/whoami", timeout=5)
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"the registry service did not answer:\n{log.read_text()[-4000:]}")


@contextmanager
def running_hub(base: Path, db: TeamDatabase) -> Iterator[Hub]:
    """Start JupyterHub (proxy and service with it) in ``base``; stop it afterwards."""
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        missing("jupyterhub is not installed (pip install -e '.[test]')")
    ports = {key: free_port() for key in ("public", "hub", "proxy_api", "service")}
    url = f"http://127.0.0.1:{ports['public']}"
    (base / "service").mkdir(parents=True, exist_ok=True)
    (base / "service" / "jupyter_mm_config.py").write_text(
        f"c.Permissions.roles = {PERMISSIONS!r}\n"
        f"c.Registry.require_approval = {REQUIRE_APPROVAL!r}\n"
    )
    for user in USERS:
        write_user_config(base / "home" / user, f"{url}/services/{SERVICE}/")
    _write_lab_settings(base / "lab-settings")
    config = base / "jupyterhub_config.py"
    config.write_text(hub_config(base, db, ports))
    log = base / "hub.log"
    env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env = {k: v for k, v in env.items() if not k.startswith(("JUPYTER_MM_", "JUPYTERHUB_"))}
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(config)],
            cwd=base,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(url=url, base=base, db=db, process=process, started_in=0.0)
    try:
        _wait_for_hub(url, process, log)
        _wait_for_service(hub.service_url, log)
        hub.started_in = time.monotonic() - started
        yield hub
    finally:
        stop_process(process, timeout=60)


def _write_lab_settings(directory: Path) -> None:
    """No news toast over the UI (as the browser harness does)."""
    target = directory / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
