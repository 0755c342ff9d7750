"""``ecglens serve``: run the clinic service (API, viewer, worker) — see docs/serve.md.

The options shared with ``users``, ``keys``, ``import``, ``retry`` and ``db`` (where the data
and the database are) live here too: every command that opens the service's database takes
its location from :func:`settings_from`, so ``--data-dir``, ``--db``, ``ECGLENS_DATA_DIR`` and
``ECGLENS_DB_URL`` mean the same for all of them (flags win over the environment).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecglens.serve.settings import Settings

if TYPE_CHECKING:
    from ecglens.serve.service import Service


def add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None,
                   help="data folder (originals, reports, SQLite file); env ECGLENS_DATA_DIR, "
                        "default ./ecglens-data")
    p.add_argument("--db", default=None, metavar="URL",
                   help="database URL, e.g. postgresql+psycopg://user:pw@host/ecglens; env "
                        "ECGLENS_DB_URL, default SQLite in the data folder")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """The one place the store options become settings, for every command."""
    changes: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if args.data_dir is not None:
        changes["data_dir"] = args.data_dir.expanduser()
    if args.db is not None:
        changes["db_url"] = args.db
    return dataclasses.replace(Settings(), **changes)


@contextmanager
def open_service(args: argparse.Namespace, **extra: Any) -> Iterator[Service]:
    """The store the options name, migrated, closed again on leaving."""
    from ecglens.serve.service import Service

    svc = Service.open(settings_from(args, **extra))
    try:
        yield svc
    finally:
        svc.close()


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the API, the web viewer and the processing queue",
                       description=__doc__.split("\n\n")[0])
    add_store_options(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-upload-mb", type=float, default=None,
                   help="refuse larger uploads (env ECGLENS_MAX_UPLOAD_MB, default 50)")
    p.add_argument("--deidentify", action="store_true", default=None,
                   help="de-identify every upload before it is stored (env ECGLENS_DEIDENTIFY=1)")
    p.add_argument("--cors-origin", action="append", default=None, metavar="ORIGIN",
                   help="allow browser calls from this origin (repeatable; default none)")
    p.add_argument("--model", default=None, help="model bundle (default ptbxl-fast)")
    p.add_argument("--workers", type=int, default=1,
                   help="worker threads interpreting uploads (0: API only)")
    p.set_defaults(func=_run)


def describe_store(settings: Settings) -> str:
    """Where the data and the database are, for messages (a database password is hidden)."""
    data = settings.data_dir.resolve()
    if not settings.db_url:
        return f"data folder {data} (SQLite database {data / 'ecglens.db'})"
    from sqlalchemy.engine import make_url

    try:
        url = make_url(settings.db_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is reported when it is opened
        url = "the URL given"
    return f"data folder {data}, database {url}"


def store_args(settings: Settings) -> str:
    """The options that name this store, to put in a command a user can run."""
    import shlex

    out = f"--data-dir {shlex.quote(str(settings.data_dir.resolve()))}"
    return out + (" --db URL" if settings.db_url else "")


def check_admin(settings: Settings) -> bool:
    """Open (and migrate) the store once and say, on stderr, where it is; warn loudly when
    its database has no active admin, the sign of a store other than the one the users were
    created in. Returns whether an admin exists."""
    from sqlalchemy import func, select

    from ecglens.serve.service import Service
    from ecglens.serve.tables import User

    svc = Service.open(settings)
    try:
        with svc.session() as s:
            admins = s.scalar(select(func.count()).select_from(User).where(
                User.role == "admin", User.active.is_(True))) or 0
    finally:
        svc.close()
    print(f"ecglens: serving {describe_store(settings)}", file=sys.stderr)
    if not admins:
        print(f"ecglens: WARNING: this database has no admin user, so nobody can manage the "
              f"service; if you created users, they are in another data folder or database. "
              f"Create one here with: ecglens users add admin --role admin "
              f"{store_args(settings)}", file=sys.stderr)
    return bool(admins)


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from ecglens.serve.app import create_app

    settings = settings_from(
        args, max_upload_mb=args.max_upload_mb, deidentify=args.deidentify,
        cors_origins=tuple(args.cors_origin) if args.cors_origin else None, model=args.model,
        workers=args.workers)
    check_admin(settings)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # uvicorn's access log prints query strings (a raw upload's file name may name a patient);
    # the app logs method, path, status and time instead
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info",
                access_log=False, server_header=False, proxy_headers=False)
    return 0
