"""``ecglens users add NAME --role ROLE`` / ``ecglens users list``: accounts of the service."""

from __future__ import annotations

import argparse
import getpass
import sys

from ecglens.cli.common import print_json
from ecglens.cli.serve import add_store_options, open_service
from ecglens.exceptions import EcglensError
from ecglens.serve.security import ROLES


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("users", help="create and list users of the service")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a user (the first admin, say)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin (for scripts)")
    add.add_argument("--no-password", action="store_true",
                     help="no password: the user authenticates with API keys only")
    add_store_options(add)
    add.set_defaults(func=_add)
    st = actions.add_parser("set", help="change a user's role, disable/enable, new password")
    st.add_argument("username")
    st.add_argument("--role", choices=ROLES)
    on_off = st.add_mutually_exclusive_group()
    on_off.add_argument("--disable", dest="active", action="store_false", default=None,
                        help="ends the user's sessions; their API keys stop working")
    on_off.add_argument("--enable", dest="active", action="store_true")
    st.add_argument("--password-stdin", action="store_true",
                    help="set a new password read from the first line of stdin")
    add_store_options(st)
    st.set_defaults(func=_set, no_password=False)
    ls = actions.add_parser("list", help="list users")
    ls.add_argument("--json", action="store_true")
    add_store_options(ls)
    ls.set_defaults(func=_list)


def _password(args: argparse.Namespace) -> str | None:
    if args.no_password:
        return None
    if args.password_stdin:
        pw = sys.stdin.readline().rstrip("\r\n")
    else:
        if not sys.stdin.isatty():
            raise EcglensError("no terminal to ask for the password: use --password-stdin")
        pw = getpass.getpass("password: ")
        if getpass.getpass("again: ") != pw:
            raise EcglensError("the two passwords differ")
    if not pw:
        raise EcglensError("empty password")
    return pw


def _add(args: argparse.Namespace) -> int:
    from ecglens.serve import audit
    from ecglens.serve.accounts import create_user

    password = _password(args)
    with open_service(args) as svc, svc.session() as s:
        user = create_user(s, args.username, args.role, password)
        audit.record(s, f"cli:{getpass.getuser()}", "user.create",
                     detail=f"{user.username} ({user.role})")
    print(f"user {args.username} ({args.role}) created", file=sys.stderr)
    return 0


def _set(args: argparse.Namespace) -> int:
    from ecglens.serve import audit
    from ecglens.serve.accounts import describe_update, update_user

    password = _password(args) if args.password_stdin else None
    if args.role is None and args.active is None and password is None:
        raise EcglensError("nothing to change: give --role, --disable/--enable or "
                           "--password-stdin")
    with open_service(args) as svc, svc.session() as s:
        update_user(s, args.username, role=args.role, active=args.active, password=password)
        audit.record(s, f"cli:{getpass.getuser()}", "user.update",
                     detail=describe_update(args.username, role=args.role, active=args.active,
                                            password=password))
    print(f"user {args.username} changed", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from ecglens.serve.tables import User

    with open_service(args) as svc, svc.session() as s:
        rows = [{"id": u.id, "username": u.username, "role": u.role, "active": u.active}
                for u in s.scalars(select(User).order_by(User.id))]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:>4}  {r['username']:<24} {r['role']:<11}"
                  f"{'' if r['active'] else ' (inactive)'}")
    return 0
