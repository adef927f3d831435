"""Team mode commands: ``whoami``, ``registry-service`` and ``team init-db``
(``docs/architecture.md#security-model-team-mode``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import EPILOG_CLASS, add_json_flag, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "whoami",
        help="the identity registry writes from here are recorded for, and its roles",
        description="Print the user this process acts as and how it knows (the hub API for "
        "this server's token, $JUPYTERHUB_USER unverified, or the OS user), its hub groups, "
        "and its roles per model pattern. With c.Registry.service_url set, the registry "
        "service answers: it is the one that decides, from the token it is sent.",
        epilog="examples:\n  jupyter mm whoami\n  jupyter mm whoami --json",
        formatter_class=EPILOG_CLASS,
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_whoami)

    p = subparsers.add_parser(
        "registry-service",
        help="run the registry service (a JupyterHub managed service)",
        description="The one writer of a team store's registry. JupyterHub starts it (see "
        "README 'Identity and permissions'); it asks the hub whose token each request "
        "carries, checks c.Permissions roles and hub scopes custom:jupyter-mm:<role>, and "
        "writes with the store credentials of its own environment ($JUPYTER_MM_STORE).",
        epilog="example (jupyterhub_config.py):\n  c.JupyterHub.services = [{'name': "
        "'jupyter-mm', 'url': 'http://127.0.0.1:10101',\n    'command': ['jupyter', 'mm', "
        "'registry-service'], 'environment': {...}}]",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("--host", help="address (default: from $JUPYTERHUB_SERVICE_URL)")
    p.add_argument("--port", type=int, help="port (default: from $JUPYTERHUB_SERVICE_URL)")
    p.set_defaults(func=cmd_registry_service)

    team = subparsers.add_parser(
        "team", help="set up a team store on PostgreSQL", formatter_class=EPILOG_CLASS
    )
    team_commands = team.add_subparsers(dest="team_command", metavar="COMMAND")
    team_commands.required = True
    p = team_commands.add_parser(
        "init-db",
        help="create users' database roles, grants and row-level security",
        description="As the store's owner (the role the registry service uses): give the "
        "users' group role read access to every table, write access only to their own runs "
        "(row-level security on runs.user = the login role) and to the shared run tables, "
        "and none to the registry. --user adds a login role per hub user. Run it again "
        "after upgrading jupyter-mm. --print shows the SQL instead.",
        epilog="examples:\n  jupyter mm team init-db --admin-url postgresql://mm_owner@db/mm "
        "--user alice=secret --user bob=secret\n  jupyter mm team init-db --print",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("--admin-url", help="the store owner's URL (default: $JUPYTER_MM_STORE)")
    p.add_argument("--group-role", default="mm_users", help="the users' group role")
    p.add_argument("--user", action="append", default=[], metavar="NAME[=PASSWORD]")
    p.add_argument("--print", action="store_true", help="print the SQL, change nothing")
    p.set_defaults(func=cmd_init_db)


def whoami_dict() -> dict[str, Any]:
    """The ``whoami --json`` shape."""
    from ..identity import current_identity
    from ..permissions import describe_roles, load_permissions
    from ..registry.rules import make_registry
    from ..registry.team import acting_principal

    rules = make_registry()
    if rules.service_url:
        from ..service.client import ServiceClient

        answer = ServiceClient.for_registry(rules).whoami()
        return {
            "name": answer.get("name"),
            "source": f"registry service {rules.service_url}",
            "authenticated": True,
            "groups": answer.get("groups", []),
            "roles": answer.get("roles", {}),
        }
    identity = current_identity()
    return {
        "name": identity.name,
        "source": identity.source,
        "authenticated": identity.authenticated,
        "groups": list(identity.groups),
        "roles": describe_roles(load_permissions(), acting_principal(None)),
    }


def cmd_whoami(args: argparse.Namespace) -> int:
    data = whoami_dict()
    if args.json:
        print_json(data)
        return 0
    print(f"user:   {data['name'] or '(unknown)'}")
    print(f"from:   {data['source']}")
    print(f"groups: {', '.join(data['groups']) or '-'}")
    for pattern, roles in data["roles"].items():
        print(f"roles on {pattern}: {', '.join(roles) or 'none'}")
    return 0


def cmd_registry_service(args: argparse.Namespace) -> int:
    from ..service.app import serve

    return serve(args.host, args.port)


def cmd_init_db(args: argparse.Namespace) -> int:
    import os

    from ..config import ENV_STORE
    from ..errors import InvalidInput
    from ..service import team_db

    statements = team_db.policy_statements(args.group_role)
    for spec in args.user:
        try:
            name, password = team_db.parse_user_spec(spec)
        except ValueError as exc:
            raise InvalidInput(f"--user {spec.partition('=')[0]!r}: {exc}.") from None
        statements += team_db.user_statements(name, password, args.group_role)
    if args.print:
        for statement in statements:
            print(statement + ";")
        return 0
    url = args.admin_url or os.environ.get(ENV_STORE)
    if not url or not url.startswith(("postgresql", "postgres")):
        raise InvalidInput(
            "team init-db needs the PostgreSQL URL of the store's owner (--admin-url or "
            f"${ENV_STORE})."
        )
    team_db.apply(url, statements)
    print(f"{len(statements)} statements applied; users: {len(args.user)}", file=sys.stderr)
    return 0
