"""An in-process clinic service (FastAPI TestClient, no worker thread) with one user and API
key per role, for the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from ecglens.serve.app import create_app
from ecglens.serve.service import Service
from ecglens.serve.settings import Settings
from ecglens.serve.worker import Worker

PASSWORD = "correct horse battery"


@dataclass
class Clinic:
    client: TestClient
    service: Service
    keys: dict[str, str]  # role -> API key

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def process(self) -> int:
        return Worker(self.service, "test").drain()

    def upload(self, path: Path, role: str = "technician", **params: object):  # type: ignore[no-untyped-def]
        files = [("file", (p.name, p.read_bytes())) for p in record_files(path)]
        return self.client.post("/api/v1/ecgs", files=files, headers=self.h(role),
                                params=params)

    def audit(self, **filters: object) -> list[dict[str, object]]:
        r = self.client.get("/api/v1/audit", headers=self.h("admin"), params=filters)
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]


def record_files(path: Path) -> list[Path]:
    if path.suffix == ".hea":
        return [path, *sorted(p for p in path.parent.glob(path.stem + ".*")
                              if p.suffix in (".mat", ".dat"))]
    return [path]


def make_clinic(db_url: str, data_dir: Path, **settings: object) -> Iterator[Clinic]:
    from ecglens.serve import accounts

    app = create_app(Settings(data_dir=data_dir, db_url=db_url, **settings),  # type: ignore[arg-type]
                     workers=0)
    with TestClient(app) as client:
        svc: Service = app.state.service
        keys = {}
        with svc.session() as s:
            for role in ("technician", "clinician", "admin"):
                accounts.create_user(s, f"{role}1", role, PASSWORD)
                keys[role] = accounts.create_key(s, f"{role}1", "test")[1]
        yield Clinic(client, svc, keys)
