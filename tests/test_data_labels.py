"""PTB-XL label aggregation against records checked by hand in scp_statements.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecglens.data.challenge import read_challenge_dir
from ecglens.data.labels import multi_hot, record_labels, task_label_names
from ecglens.data.ptbxl import read_database, read_signals, read_statements, task_labels
from ecglens.exceptions import DataError

# ecg_id -> expected labels per task, worked out by hand from scp_statements.csv:
#  8: SR (rhythm), ABQRS (form), IMI (diagnostic, subclass IMI, class MI)
# 17: ABQRS (form), AFLT + AFIB (rhythm), nothing diagnostic
# 39: SR; NST_ (diagnostic+form, STTC/NST_); LNGQT and DIG (diagnostic+form, STTC/STTC);
#     ABQRS (form); IMI (MI/IMI)
HAND = {
    8: {"all": ["ABQRS", "IMI", "SR"], "diagnostic": ["IMI"], "subdiagnostic": ["IMI"],
        "superdiagnostic": ["MI"], "form": ["ABQRS"], "rhythm": ["SR"]},
    17: {"all": ["ABQRS", "AFIB", "AFLT"], "diagnostic": [], "subdiagnostic": [],
         "superdiagnostic": [], "form": ["ABQRS"], "rhythm": ["AFIB", "AFLT"]},
    39: {"all": ["ABQRS", "DIG", "IMI", "LNGQT", "NST_", "SR"],
         "diagnostic": ["DIG", "IMI", "LNGQT", "NST_"],
         "subdiagnostic": ["IMI", "NST_", "STTC"], "superdiagnostic": ["MI", "STTC"],
         "form": ["ABQRS", "DIG", "LNGQT", "NST_"], "rhythm": ["SR"]},
}


@pytest.fixture(scope="module")
def db(ptbxl_dir: Path):
    return read_database(ptbxl_dir)


@pytest.fixture(scope="module")
def statements(ptbxl_dir: Path):
    return read_statements(ptbxl_dir / "scp_statements.csv")


@pytest.mark.parametrize("ecg_id", sorted(HAND))
def test_hand_verified_records(db, statements, ecg_id: int) -> None:
    codes = db.loc[db["ecg_id"] == ecg_id, "codes"].iloc[0]
    for task, expected in HAND[ecg_id].items():
        assert record_labels(codes, statements, task) == expected, task


def test_task_sizes_match_the_benchmark(db, statements) -> None:
    # Strodthoff et al. 2021, table 1: 71 / 44 / 23 / 5 / 19 / 12 labels
    sizes = {t: len(task_labels(db, statements, t).names) for t in
             ("all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm")}
    assert sizes == {"all": 71, "diagnostic": 44, "subdiagnostic": 23, "superdiagnostic": 5,
                     "form": 19, "rhythm": 12}
    sup = task_labels(db, statements, "superdiagnostic")
    assert sup.names == ["CD", "HYP", "MI", "NORM", "STTC"]
    # records without a superdiagnostic label are outside that task (select_data)
    row17 = int(np.flatnonzero(db["ecg_id"].to_numpy() == 17)[0])
    assert not sup.has_label[row17]


def test_minimum_count_rule() -> None:
    per_record = [["A", "B"], ["A"], ["C"], ["A", "C"]]
    assert task_label_names(per_record) == ["A", "B", "C"]  # benchmark: count > 0
    assert task_label_names(per_record, min_samples=1) == ["A", "C"]
    y = multi_hot(per_record, ["A", "C"])
    assert y.tolist() == [[1, 0], [1, 0], [0, 1], [1, 1]]


def test_only_some_folds(ptbxl_dir: Path) -> None:
    db9 = read_database(ptbxl_dir, folds=[9])
    assert set(db9["strat_fold"]) == {9} and len(db9) == 2183
    x = read_signals(ptbxl_dir, db9.iloc[:3])
    assert x.shape == (3, 1000, 12) and x.dtype == np.int16
    with pytest.raises(DataError, match="no records in folds"):
        read_database(ptbxl_dir, folds=[10])


def test_challenge_headers(formats_dir: Path) -> None:
    records = read_challenge_dir(formats_dir / "physionet-challenge")
    assert len(records) == 20
    first = records[0]
    assert first.header.name == "E07500.hea"
    assert first.dx == ("67741000119109", "426177001") and first.age == 78.0
    assert first.sex == "M"
