"""Hostile and broken input for every reader: each must end in one ECGFormatError naming the
file and the problem, and ``ecglens info`` must say so in one line without a traceback.

Cases: empty file, random bytes (bare and behind each format's magic), real files truncated at
many points, real files renamed (must still read: detection is by content), XML with external
entities or entity bombs shaped like each XML format, WFDB headers that point outside their
folder, and a 2 GB sparse file (refused by size, never read).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from ecglens.cli import main as cli_main
from ecglens.exceptions import ECGFormatError
from ecglens.io import registry
from tests.helpers.io_seeds import (
    ALL_FORMATS,
    EXTENSION,
    XML_FORMATS,
    all_seed_records,
    copy_record,
    memory_cap,
    require_reader,
)

CUT_FRACTIONS = (0.002, 0.01, 0.03, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.75, 0.9, 0.97, 0.995)
CUT_BYTES = (1, 8, 20, 64, 131, 200, 300, 1000)
TWO_GB = 2 * 1024**3


@pytest.fixture(scope="module")
def seeds(formats_dir: Path,
          tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[Path]]]:
    return all_seed_records(formats_dir, tmp_path_factory.mktemp("seeds"))


def assert_refused(
    path: Path, *, format: str | None = None, problem: str | None = None,
    record: list[Path] | None = None
) -> ECGFormatError:
    """``read`` raises ECGFormatError (and nothing else) whose message names the file (or, for a
    WFDB record, the file of the record that is at fault)."""
    try:
        registry.read(path, format=format)
    except ECGFormatError as exc:
        err = exc
    except Exception as exc:  # noqa: BLE001 - the point: no other type may escape
        pytest.fail(f"{path.name}: {type(exc).__name__} escaped instead of ECGFormatError: {exc}")
    else:
        pytest.fail(f"{path.name}: read without error")
    names = [path] + (record or [])
    assert any(str(n) in str(err) for n in names), f"message does not name the file: {err}"
    assert len(err.problem) > 5 and "\n" not in str(err)
    if problem is not None:
        assert problem.lower() in err.problem.lower(), err.problem
    return err


def assert_cli_one_line(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main(["info", str(path)])
    captured = capsys.readouterr()
    assert code != 0
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ecglens: error:") and str(path) in lines[0]
    assert "Traceback" not in captured.err


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_seed_reads_and_is_detected(fmt: str, seeds: dict[str, list[list[Path]]]) -> None:
    """Every registered format has a reader and real seeds that it reads (guards the rest)."""
    require_reader(fmt)
    assert seeds[fmt], f"no seed file for {fmt}"
    for record in seeds[fmt]:
        assert registry.detect_format(record[0]) == fmt
        ecg = registry.read(record[0])
        assert ecg.n_samples > 0 and ecg.fs > 0


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_empty_file(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_reader(fmt)
    p = tmp_path / f"empty{EXTENSION[fmt]}"
    p.write_bytes(b"")
    assert_refused(p, problem="empty")
    assert_refused(p, format=fmt, problem="empty")
    assert_cli_one_line(p, capsys)


_MAGIC = {
    "dicom": b"\0" * 128 + b"DICM",
    "scp-ecg": b"\x12\x34" + b"\0" * 14 + b"SCPECG",
    "edf": b"0       ",
    "numpy": b"\x93NUMPY\x01\x00",
    "hl7-aecg": b'<?xml version="1.0"?><AnnotatedECG xmlns="urn:hl7-org:v3">',
    "philips-sierra": b'<?xml version="1.0"?><restingecgdata>',
    "ge-muse": b'<?xml version="1.0"?><RestingECG>',
    "wfdb": b"rec 12 500 5000\n",
    "csv": b"# fs=500\nI,II,V1\n",
}


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_random_bytes(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_reader(fmt)
    rng = np.random.default_rng(zlib.crc32(fmt.encode()))
    for size in (1, 100, 4096, 70_000):
        noise = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        bare = tmp_path / f"noise{size}{EXTENSION[fmt]}"
        bare.write_bytes(noise)
        assert_refused(bare)
        assert_refused(bare, format=fmt)
        behind_magic = tmp_path / f"magic{size}{EXTENSION[fmt]}"
        behind_magic.write_bytes(_MAGIC[fmt] + noise)
        if fmt == "csv":  # noise after a valid CSV header may decode as text; only the type matters
            with contextlib.suppress(ECGFormatError):
                registry.read(behind_magic)
        else:
            assert_refused(behind_magic)
    assert_cli_one_line(bare, capsys)


def _truncations(record: list[Path], fmt: str) -> list[tuple[int, int]]:
    """(file index within the record, cut length) pairs to try."""
    cuts: list[tuple[int, int]] = []
    for i, f in enumerate(record):
        size = f.stat().st_size
        points = {int(size * x) for x in CUT_FRACTIONS} | {c for c in CUT_BYTES if c < size}
        points |= {size - 1}
        cuts += [(i, c) for c in sorted(points) if 0 < c < size]
    return cuts


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_truncated_files(fmt: str, seeds: dict[str, list[list[Path]]], tmp_path: Path) -> None:
    """Real files cut short anywhere are refused (a WFDB record: its header or its signal file).

    The one allowed exception: a cut that only loses bytes after everything the reader uses
    (e.g. a trailing private DICOM element) may read, but then to the identical signal. Silent
    damage (fewer samples, other values) is never allowed.
    """
    require_reader(fmt)
    n = n_read = 0
    for r, record in enumerate(seeds[fmt]):
        original = registry.read(record[0])
        phi = [v for v in (original.patient.name, original.patient.patient_id) if v and len(v) >= 4]
        for i, cut in _truncations(record, fmt):
            main = copy_record(record, tmp_path / f"{r}_{i}_{cut}")
            victim = main.parent / record[i].name
            victim.write_bytes(victim.read_bytes()[:cut])
            n += 1
            try:
                ecg = registry.read(main)
            except ECGFormatError as exc:
                assert str(main) in str(exc) or str(victim) in str(exc), str(exc)
                assert "\n" not in str(exc)
                assert not [v for v in phi if v in exc.problem], f"patient data in: {exc.problem}"
                continue
            except Exception as exc:  # noqa: BLE001
                pytest.fail(f"{victim.name} cut at {cut}: {type(exc).__name__} escaped: {exc}")
            n_read += 1
            if fmt == "csv" or (fmt == "wfdb" and i == 0):
                # A CSV cut at a line end is a shorter valid CSV, and a WFDB header cut after a
                # signal line a valid header of fewer signals: nothing marks them as cut.
                continue
            assert ecg.leads == original.leads and ecg.fs == original.fs, \
                f"{victim.name} cut at {cut}"
            np.testing.assert_array_equal(ecg.signal, original.signal, err_msg=f"cut at {cut}")
    assert n >= 10
    if fmt not in ("csv", "wfdb"):
        assert n_read <= 2, f"{n_read} of {n} truncated {fmt} files were read"


@pytest.mark.parametrize("name", ["renamed.txt", "renamed.dat", "renamed"])
@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_wrong_extension_still_reads(
    fmt: str, name: str, seeds: dict[str, list[list[Path]]], tmp_path: Path
) -> None:
    """Detection is by content: a renamed real file reads exactly like the original."""
    require_reader(fmt)
    record = seeds[fmt][0]
    main = copy_record(record, tmp_path)
    renamed = main.rename(tmp_path / name)
    original = registry.read(record[0])
    assert registry.detect_format(renamed) == fmt
    ecg = registry.read(renamed)
    assert ecg.leads == original.leads and ecg.fs == original.fs
    np.testing.assert_array_equal(ecg.signal, original.signal)


# --- XML: external entities and entity-expansion bombs ---------------------------------------

_ROOT = {"hl7-aecg": "AnnotatedECG", "philips-sierra": "restingecgdata", "ge-muse": "RestingECG"}


def _hostile_xml(root: str, secret: Path) -> dict[str, str]:
    laughs = "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return {
        "xxe": f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file://{secret}">]>'
               f"<{root}><id>&xxe;</id></{root}>",
        "external-dtd": f'<?xml version="1.0"?><!DOCTYPE {root} SYSTEM "file://{secret}">'
                        f"<{root}><id>&leak;</id></{root}>",
        "parameter-entity": f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY % p SYSTEM '
                            f'"file://{secret}"> %p;]><{root}/>',
        "billion-laughs": f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY lol0 "lol">{laughs}]>'
                          f"<{root}><id>&lol9;</id></{root}>",
        "deep-nesting": f'<?xml version="1.0"?><{root}>{"<component>" * 100_000}'
                        f'{"</component>" * 100_000}</{root}>',
        "quadratic-blowup": f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY a "{"x" * 50_000}">]>'
                            f"<{root}><id>{'&a;' * 50_000}</id></{root}>",
    }


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_xml_entities_refused(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_reader(fmt)
    secret = tmp_path / "secret.txt"
    secret.write_text('<!ENTITY leak "TOP-SECRET-CONTENT">TOP-SECRET-CONTENT')
    for kind, doc in _hostile_xml(_ROOT[fmt], secret).items():
        p = tmp_path / f"{kind}.xml"
        p.write_text(doc)
        start = time.perf_counter()
        for forced in (None, fmt):  # through detection, and straight into the format's reader
            err = assert_refused(p, format=forced)
            assert "TOP-SECRET" not in str(err)
            if kind != "deep-nesting":
                assert any(w in err.problem.lower()
                           for w in ("dtd", "entit", "refused")), err.problem
        # a bomb that was expanded would take minutes and gigabytes, not a fraction of a second
        assert time.perf_counter() - start < 10
        assert_cli_one_line(p, capsys)


# --- WFDB headers that name files outside their folder ---------------------------------------


@pytest.mark.parametrize(
    "target",
    ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini", "~/.ssh/id_rsa", "sub/x.dat"]
)
def test_wfdb_signal_file_outside_folder_refused(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_reader("wfdb")
    for name, header in {
        "single.hea": f"single 1 500 100\n{target} 16 200/mV 16 0 0 0 0 I\n",
        "renamed.txt": f"renamed 1 500 100\n{target} 16 200/mV 16 0 0 0 0 I\n",
        "multi.hea": f"multi/2 1 500 200\n{target} 100\nseg2 100\n",
    }.items():
        p = tmp_path / name
        p.write_text(header)
        assert_refused(p, problem="only plain file names")
        assert_refused(p, format="wfdb", problem="only plain file names")
        assert_cli_one_line(p, capsys)


def test_wfdb_signal_file_too_large_refused(formats_dir: Path, tmp_path: Path) -> None:
    hea = (formats_dir / "physionet-challenge" / "E07500.hea").read_text()
    (tmp_path / "E07500.hea").write_text(hea)
    with (tmp_path / "E07500.mat").open("wb") as fh:
        fh.truncate(TWO_GB)
    start = time.perf_counter()
    assert_refused(tmp_path / "E07500.hea", problem="limit")
    assert time.perf_counter() - start < 5


def test_wfdb_header_declaring_billions_of_samples_refused(formats_dir: Path,
                                                           tmp_path: Path) -> None:
    record = [formats_dir / "physionet-challenge" / "E07500.hea",
              formats_dir / "physionet-challenge" / "E07500.mat"]
    main = copy_record(record, tmp_path)
    main.write_text(main.read_text().replace("E07500 12 500 5000", "E07500 12 500 5000000000", 1))
    err = assert_refused(main)
    assert err.__cause__ is None or not isinstance(err.__cause__, MemoryError)


# --- a 2 GB file: refused by its size, never read --------------------------------------------


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_two_gigabyte_file_refused_by_size(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_reader(fmt)
    p = tmp_path / f"huge{EXTENSION[fmt]}"
    with p.open("wb") as fh:
        fh.write(_MAGIC[fmt])
        fh.truncate(TWO_GB)  # sparse: costs no disk, and reading it would take seconds
    start = time.perf_counter()
    assert_refused(p, problem="limit")
    assert_refused(p, format=fmt, problem="limit")
    with pytest.raises(ECGFormatError, match="limit"):
        registry.detect_format(p)
    assert time.perf_counter() - start < 5
    assert_cli_one_line(p, capsys)


# --- the real command, in a fresh process -----------------------------------------------------


def test_cli_process_one_line_per_bad_input(tmp_path: Path) -> None:
    """The installed entry point (not just ``main``) keeps tracebacks off the terminal."""
    noise = tmp_path / "noise.xml"
    noise.write_bytes(os.urandom(5000))
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(_hostile_xml("RestingECG", tmp_path / "nothing")["billion-laughs"])
    huge = tmp_path / "huge.dcm"
    with huge.open("wb") as fh:
        fh.truncate(TWO_GB)
    trav = tmp_path / "trav.hea"
    trav.write_text("trav 1 500 100\n../../etc/passwd 16 200/mV 16 0 0 0 0 I\n")
    for p in (noise, bomb, huge, trav):
        r = subprocess.run(
            [sys.executable, "-m", "ecglens.cli", "info", str(p)],
            check=False, capture_output=True, text=True, timeout=120,
        )
        assert r.returncode != 0
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert str(p) in r.stderr and r.stdout == ""


def test_npz_compression_bomb_refused(tmp_path: Path) -> None:
    """A few hundred KB that would inflate to 400 MB of zeros is refused before inflating."""
    import zipfile

    p = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (50_000_000, 1)})
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("signal.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            chunk = bytes(2**20)
            for _ in range(400_000_000 // len(chunk)):
                member.write(chunk)
        zf.writestr("fs.npy", _npy(np.float64(500)))
        zf.writestr("leads.npy", _npy(np.asarray(["I"])))
    assert p.stat().st_size < 2 * 2**20
    with memory_cap():
        err = assert_refused(p, problem="bomb")
    assert not isinstance(err.__cause__, MemoryError)


def _npy(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def test_not_a_regular_file_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for p in (tmp_path, Path("/dev/zero"), tmp_path / "missing.xml"):
        if p.name == "zero" and not p.exists():
            continue
        with pytest.raises(ECGFormatError, match="not a regular file|not found"):
            registry.read(p)
        with pytest.raises(ECGFormatError):
            registry.detect_format(p)


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_xml_over_the_xml_limit_refused_before_parsing(fmt: str, tmp_path: Path) -> None:
    p = tmp_path / "big.xml"
    with p.open("wb") as fh:
        fh.write(_MAGIC[fmt])
        fh.truncate(registry.MAX_XML_BYTES + 1)  # sparse, under the general file limit
    start = time.perf_counter()
    assert_refused(p, problem="limit")
    assert_refused(p, format=fmt, problem="limit")
    assert time.perf_counter() - start < 5


def test_huge_wfdb_header_refused(tmp_path: Path) -> None:
    p = tmp_path / "rec.hea"
    with p.open("wb") as fh:
        fh.write(b"rec 1 500 100\nrec.dat 16 200/mV 16 0 0 0 0 I\n# ")
        fh.truncate(registry.MAX_WFDB_HEADER_BYTES + 1)
    assert_refused(p, problem="header")


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_xml_unknown_encoding_refused(fmt: str, tmp_path: Path) -> None:
    """Found by the fuzz test: one digit of encoding="UTF-8" changed made expat raise
    LookupError."""
    require_reader(fmt)
    p = tmp_path / "enc.xml"
    p.write_text(f'<?xml version="1.0" encoding="UTF-1"?>\n<{_ROOT[fmt]}></{_ROOT[fmt]}>')
    assert_refused(p, problem="encoding")
    assert_refused(p, format=fmt)
