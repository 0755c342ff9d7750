"""``ecglens keys create USER --name NAME`` / ``list`` / ``revoke ID``: API keys for carts and
scripts. A key acts with its user's role; it is printed once and stored only as a hash."""

from __future__ import annotations

import argparse
import getpass
import sys

from ecglens.cli.common import print_json
from ecglens.cli.serve import add_store_options, open_service
from ecglens.exceptions import EcglensError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keys", help="create, list and revoke API keys of the service")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key for a user; prints it once")
    create.add_argument("username")
    create.add_argument("--name", required=True, help="what the key is for, e.g. cart-3")
    add_store_options(create)
    create.set_defaults(func=_create)
    ls = actions.add_parser("list", help="list keys (never the keys themselves)")
    ls.add_argument("--json", action="store_true")
    add_store_options(ls)
    ls.set_defaults(func=_list)
    rv = actions.add_parser("revoke", help="revoke a key by its id")
    rv.add_argument("key_id", type=int)
    add_store_options(rv)
    rv.set_defaults(func=_revoke)


def _create(args: argparse.Namespace) -> int:
    from ecglens.serve import audit
    from ecglens.serve.accounts import create_key

    with open_service(args) as svc, svc.session() as s:
        key, clear = create_key(s, args.username, args.name)
        audit.record(s, f"cli:{getpass.getuser()}", "key.create",
                     detail=f"key {key.id} ({key.prefix}…) for {args.username}")
    print(f"API key {key.id} for {args.username} ({args.name}); it is shown only now:",
          file=sys.stderr)
    print(clear)
    return 0


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from ecglens.serve.tables import ApiKey, User

    with open_service(args) as svc, svc.session() as s:
        rows = [{"id": k.id, "username": u, "name": k.name, "prefix": k.prefix,
                 "revoked": k.revoked_at is not None}
                for k, u in s.execute(select(ApiKey, User.username)
                                      .join(User, ApiKey.user_id == User.id)
                                      .order_by(ApiKey.id))]
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['id']:>4}  {r['prefix']}…  {r['username']:<20} {r['name']}"
                  f"{'  (revoked)' if r['revoked'] else ''}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from ecglens.serve import audit
    from ecglens.serve.tables import ApiKey, utcnow

    with open_service(args) as svc, svc.session() as s:
        key = s.get(ApiKey, args.key_id)
        if key is None:
            raise EcglensError(f"no API key {args.key_id}")
        key.revoked_at = key.revoked_at or utcnow()
        audit.record(s, f"cli:{getpass.getuser()}", "key.revoke", detail=f"key {key.id}")
    print(f"API key {args.key_id} revoked", file=sys.stderr)
    return 0
