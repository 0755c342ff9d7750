import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "ecglens" / "examples" / "E07500.hea"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecglens.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_info_json_on_bundled_example() -> None:
    r = run_cli("info", str(EXAMPLE), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["format"] == "wfdb"
    assert info["leads"][:3] == ["I", "II", "III"] and len(info["leads"]) == 12
    assert info["sampling_rate_hz"] == 500
    assert info["n_samples"] == 5000
    assert info["duration_s"] == 10.0


def test_info_missing_file_is_one_line_error(tmp_path: Path) -> None:
    r = run_cli("info", str(tmp_path / "nope.xml"))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert "nope.xml" in r.stderr
