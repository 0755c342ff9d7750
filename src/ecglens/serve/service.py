"""The running service's shared state: settings, database, data folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from threading import Event

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ecglens.serve import db
from ecglens.serve.settings import Settings
from ecglens.serve.storage import Store


@dataclass
class Service:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: Store
    #: set by an upload so the worker wakes at once instead of at its next poll
    wake: Event = field(default_factory=Event)

    @classmethod
    def open(cls, settings: Settings) -> Service:
        """Connect, migrate the schema and prepare the data folder."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        store = Store(settings.data_dir)
        store.prepare()
        return cls(settings, engine, db.session_factory(engine), store)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessions.begin() as s:
            yield s

    def close(self) -> None:
        self.engine.dispose()
