"""XML ECG readers (HL7 aECG, Philips Sierra, GE MUSE) against the real files.

Amplitudes are checked against decodes written here independently of ecglens: plain lxml and
arithmetic for aECG digits, the ``sierraecg`` package's own reader for Sierra, and base64 +
struct for MUSE (with sample values read off the file by hand).
"""

from __future__ import annotations

import base64
import re
import struct
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import sierraecg
from lxml import etree

from ecglens.exceptions import ECGFormatError
from ecglens.io import aecg, muse, registry, sierra, xli
from ecglens.record import STANDARD_LEADS

HL7 = "{urn:hl7-org:v3}"

#: (module, file under formats/, sampling rate, samples)
TWELVE_LEAD = [
    (aecg, "hl7-aecg/subject1_0.xml", 500.0, 5000),
    (aecg, "hl7-aecg/subject1_1.xml", 500.0, 5000),
    # 11 s stored; the calibration pulse the cart appends after the tracing is left out
    (sierra, "philips-sierra/129DYPRG.XML", 500.0, 5264),
    (sierra, "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml", 500.0, 5300),
    (muse, "ge-muse/guangxi_teaching_sinus_rhythm.xml", 500.0, 5000),
]
ALL_FILES = [(m, f) for m, f, _, _ in TWELVE_LEAD] + [(aecg, "hl7-aecg/minimum_aecg.xml")]


def _id(case: tuple) -> str:  # type: ignore[type-arg]
    return Path(case[1]).name


@pytest.mark.parametrize("case", TWELVE_LEAD, ids=_id)
def test_reads_twelve_standard_leads(formats_dir: Path,
                                     case: tuple) -> None:  # type: ignore[type-arg]
    module, name, fs, n = case
    ecg = module.read(formats_dir / name)
    assert ecg.leads == STANDARD_LEADS
    assert ecg.fs == fs
    assert ecg.signal.shape == (n, 12)
    assert np.all(np.isfinite(ecg.signal))
    # a real ECG: QRS peaks of a few tenths of a mV to a few mV, never volts or microvolts
    peak = np.abs(ecg.signal[:4000]).max(axis=0)
    assert np.all(peak > 0.1) and np.all(peak < 10.0), peak


def test_minimum_aecg_is_one_lead(formats_dir: Path) -> None:
    ecg = aecg.read(formats_dir / "hl7-aecg/minimum_aecg.xml")
    assert ecg.leads == ("II",)
    assert ecg.signal.shape == (13, 1)
    assert ecg.fs == 500.0
    # digits -2 -2 -2 -2 -3 ... at 2.5 µV per digit, origin 0
    assert ecg.signal[:5, 0] == pytest.approx([-0.005, -0.005, -0.005, -0.005, -0.0075])


# --- amplitudes against independent decodes -----------------------------------------------

def _aecg_reference(path: Path) -> dict[str, np.ndarray]:
    """Rhythm-series leads in mV, decoded with plain lxml: origin + scale × digits (µV)."""
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    out: dict[str, np.ndarray] = {}
    series = tree.find(f".//{HL7}series")
    # the rhythm series' own sequences, not those of the median beat nested in <derivation>
    for seq in series.findall(f"{HL7}component/{HL7}sequenceSet/{HL7}component/{HL7}sequence"):
        digits = seq.find(f"{HL7}value/{HL7}digits")
        if digits is None:
            continue
        scale = seq.find(f"{HL7}value/{HL7}scale")
        origin = seq.find(f"{HL7}value/{HL7}origin")
        assert scale.get("unit") == "uV" and origin.get("unit") == "uV"
        values = np.array([int(v) for v in digits.text.split()], dtype=float)
        code = seq.find(f"{HL7}code").get("code").replace("MDC_ECG_LEAD_", "")
        name = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}.get(code, code)
        out[name] = (float(origin.get("value")) + float(scale.get("value")) * values) / 1000.0
    return out


@pytest.mark.parametrize("name", ["subject1_0.xml", "subject1_1.xml", "minimum_aecg.xml"])
def test_aecg_amplitudes_match_plain_decode(formats_dir: Path, name: str) -> None:
    path = formats_dir / "hl7-aecg" / name
    ecg = aecg.read(path)
    ref = _aecg_reference(path)
    assert set(ref) == set(ecg.leads)
    step = 2.5e-3  # one quantisation step, mV
    for lead, values in ref.items():
        np.testing.assert_allclose(ecg.lead(lead), values, rtol=0, atol=step)
    assert ecg.resolution_mv is not None and ecg.resolution_mv[0] == pytest.approx(step)


def test_aecg_stored_limb_leads_obey_einthoven(formats_dir: Path) -> None:
    ecg = aecg.read(formats_dir / "hl7-aecg/subject1_0.xml")
    # the cart stores III and the augmented leads itself; they agree with I and II to a few steps
    assert np.abs(ecg.lead("III") - (ecg.lead("II") - ecg.lead("I"))).max() < 0.02
    assert np.abs(ecg.lead("aVF") - (ecg.lead("II") - ecg.lead("I") / 2)).max() < 0.02


@pytest.mark.parametrize("name", ["129DYPRG.XML", "3191723_ZZDEMOPTONLY_1-04_orig.xml"])
def test_sierra_amplitudes_match_sierraecg(formats_dir: Path, name: str) -> None:
    path = formats_dir / "philips-sierra" / name
    ecg = sierra.read(path)
    ref = sierraecg.read_file(str(path))
    assert [lead.label for lead in ref.leads] == list(STANDARD_LEADS)
    step = 5e-3  # 5 µV per count in both files
    for lead in ref.leads:
        np.testing.assert_allclose(ecg.lead(lead.label), lead.samples[:ecg.n_samples] * step,
                                   rtol=0, atol=step)
    # what was left out is the cart's calibration tail: all leads equal, flat or one 1 mV plateau
    tail = np.array([lead.samples[ecg.n_samples:] for lead in ref.leads]) * step
    assert np.all(tail == tail[0]) and set(np.round(np.unique(tail), 6)) == {0.0, 1.0}
    assert (np.round(tail[0], 6) == 1.0).sum() == 100  # 200 ms at 500 Hz
    # rebuilt limb leads agree with Einthoven to a few counts (before the calibration pulse)
    i, ii, iii = (ecg.lead(n)[:5000] for n in ("I", "II", "III"))
    assert np.abs(iii - (ii - i)).max() <= 3 * step


def _muse_rhythm_lead(path: Path, lead: str) -> np.ndarray:
    """Counts of one Rhythm lead: regex over the raw text, base64, little-endian int16."""
    text = path.read_text(encoding="utf-8")
    rhythm = text[text.index("<WaveformType>Rhythm</WaveformType>"):]
    block = re.search(rf"<LeadID>{lead}</LeadID>.*?<WaveFormData>(.*?)</WaveFormData>",
                      rhythm, re.DOTALL)
    raw = base64.b64decode(block.group(1))
    return np.array(struct.unpack(f"<{len(raw) // 2}h", raw), dtype=float)


def test_muse_amplitudes_match_independent_decode(formats_dir: Path) -> None:
    path = formats_dir / "ge-muse/guangxi_teaching_sinus_rhythm.xml"
    ecg = muse.read(path)
    per_bit = 4.88e-3  # LeadAmplitudeUnitsPerBit 4.88 MICROVOLTS
    for lead in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6"):
        np.testing.assert_allclose(ecg.lead(lead), _muse_rhythm_lead(path, lead) * per_bit,
                                   rtol=0, atol=per_bit)
    # first Rhythm samples of I and II read off the file by hand: 48 51 52 / 90 89 89 counts
    assert ecg.lead("I")[:3] == pytest.approx([0.23424, 0.24888, 0.25376])
    assert ecg.lead("II")[:3] == pytest.approx([0.4392, 0.43432, 0.43432])


def test_muse_derived_leads(formats_dir: Path) -> None:
    ecg = muse.read(formats_dir / "ge-muse/guangxi_teaching_sinus_rhythm.xml")
    i, ii = ecg.lead("I"), ecg.lead("II")
    np.testing.assert_allclose(ecg.lead("III"), ii - i, atol=1e-12)
    np.testing.assert_allclose(ecg.lead("aVR"), -(i + ii) / 2, atol=1e-12)
    np.testing.assert_allclose(ecg.lead("aVL"), i - ii / 2, atol=1e-12)
    np.testing.assert_allclose(ecg.lead("aVF"), ii - i / 2, atol=1e-12)


@pytest.mark.parametrize("module,name,n", [
    (muse, "ge-muse/guangxi_teaching_sinus_rhythm.xml", 600),
    (sierra, "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml", 600),
    (aecg, "hl7-aecg/subject1_0.xml", 599),
], ids=["muse", "sierra", "aecg"])
def test_median_beats_match_rhythm_amplitude(formats_dir: Path, module: ModuleType, name: str,
                                             n: int) -> None:
    """The device's median beat has the height of the recorded beats (its own scale is used:
    Philips stores it at 2.5 µV per count, the rhythm at 5)."""
    rhythm, med = module.read(formats_dir / name), module.read_median_beats(formats_dir / name)
    assert med.leads == STANDARD_LEADS and med.signal.shape == (n, 12) and med.fs == 500.0
    for lead in ("II", "V2"):
        x = np.abs(rhythm.lead(lead)[:5000] - np.median(rhythm.lead(lead)[:5000]))
        peaks = [x[k:k + 250].max() for k in range(0, 5000 - 250, 250)]
        beat_heights = sorted(peaks)[len(peaks) // 2:]  # windows holding a QRS
        y = np.abs(med.lead(lead) - np.median(med.lead(lead)))
        assert y.max() == pytest.approx(np.median(beat_heights), rel=0.2)


def test_median_beats_absent(formats_dir: Path) -> None:
    with pytest.raises(ECGFormatError, match="representative"):
        sierra.read_median_beats(formats_dir / "philips-sierra/129DYPRG.XML")
    with pytest.raises(ECGFormatError, match="representative"):
        aecg.read_median_beats(formats_dir / "hl7-aecg/minimum_aecg.xml")


# --- metadata and the device's own interpretation -------------------------------------------

def test_muse_device_measurements(formats_dir: Path) -> None:
    ecg = muse.read(formats_dir / "ge-muse/guangxi_teaching_sinus_rhythm.xml")
    m = ecg.device.measurements
    expected = {"heart_rate_bpm": 97, "pr_ms": 122, "qrs_ms": 74, "qt_ms": 328,
                "qtc_bazett_ms": 417, "p_axis_deg": 31, "qrs_axis_deg": 63, "t_axis_deg": 49}
    assert {k: m[k] for k in expected} == expected
    assert ecg.device.statements[0] == "窦性心律"  # "sinus rhythm"
    assert ecg.patient.sex == "M" and ecg.patient.age_years == 11
    assert ecg.acquisition.time is not None and ecg.acquisition.time.year == 2024


@pytest.mark.parametrize("name", ["129DYPRG.XML", "3191723_ZZDEMOPTONLY_1-04_orig.xml"])
def test_sierra_device_measurements(formats_dir: Path, name: str) -> None:
    ecg = sierra.read(formats_dir / "philips-sierra" / name)
    m = ecg.device.measurements
    for key in ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "p_axis_deg",
                "qrs_axis_deg", "t_axis_deg"):
        assert key in m
    assert "qtc_bazett_ms" in m or "qtc_ms" in m
    assert ecg.device.statements
    assert 20 < m["heart_rate_bpm"] < 250 and 250 < m["qt_ms"] < 600


def test_sierra_104_values(formats_dir: Path) -> None:
    ecg = sierra.read(formats_dir / "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml")
    m = ecg.device.measurements
    assert (m["heart_rate_bpm"], m["qt_ms"], m["qtc_bazett_ms"],
            m["qtc_fridericia_ms"]) == (84, 352, 417, 394)
    assert ecg.device.codes == ["SR", "LVHCNP", "STELVH"]
    assert ecg.patient.age_years == 60  # from the birth date at the acquisition date


def test_aecg_metadata(formats_dir: Path) -> None:
    ecg = aecg.read(formats_dir / "hl7-aecg/subject1_0.xml")
    assert ecg.patient.patient_id == "subject1" and ecg.patient.sex == "M"
    assert ecg.patient.birth_date is not None and ecg.patient.birth_date.isoformat() == "1953-05-08"
    assert ecg.acquisition.time is not None
    assert ecg.acquisition.time.isoformat() == "2002-11-22T09:10:00"
    assert ecg.device.measurements["pr_ms"] == 148
    assert ecg.device.measurements["qrs_axis_deg"] == -61
    assert ecg.device.statements == ["Sinus Rhythm"]


# --- refusals --------------------------------------------------------------------------------

def test_invalid_doc_type_refused(formats_dir: Path) -> None:
    path = formats_dir / "philips-sierra/invalid-doc-type.xml"
    for reader in (sierra.read, registry.read):
        with pytest.raises(ECGFormatError) as info:
            reader(path)
        assert str(path) in str(info.value) and "MortaraECG" in str(info.value)


_SHAPES = {
    aecg: '<AnnotatedECG xmlns="urn:hl7-org:v3"><component><series><code code="RHYTHM"/>'
          "<component><sequenceSet><component><sequence><code code=\"MDC_ECG_LEAD_I\"/>"
          "<value><scale value=\"1\" unit=\"uV\"/><digits>{payload}</digits></value>"
          "</sequence></component></sequenceSet></component></series></component></AnnotatedECG>",
    sierra: '<restingecgdata xmlns="http://www3.medical.philips.com"><documentinfo>'
            "<documenttype>SierraECG</documenttype><documentversion>1.03</documentversion>"
            "</documentinfo><patient><generalpatientdata><patientid>{payload}</patientid>"
            "</generalpatientdata></patient></restingecgdata>",
    muse: "<RestingECG><PatientDemographics><PatientID>{payload}</PatientID></PatientDemographics>"
          "</RestingECG>",
}
_ROOT = {aecg: "AnnotatedECG", sierra: "restingecgdata", muse: "RestingECG"}
_HOSTILE = {
    "xxe": '<!DOCTYPE {root} [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    "xxe-parameter": '<!DOCTYPE {root} [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    "billion-laughs": "<!DOCTYPE {root} [" + '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{k} "{("&a" + str(k - 1) + ";") * 10}">' for k in range(1, 10)) + "]>",
}


@pytest.mark.parametrize("attack", sorted(_HOSTILE))
@pytest.mark.parametrize("module", [aecg, sierra, muse],
                         ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_hostile_xml_refused_quickly(tmp_path: Path, module: ModuleType, attack: str) -> None:
    ref = "&x;" if attack == "xxe" else "&a9;" if attack == "billion-laughs" else "1"
    doc = (_HOSTILE[attack].replace("{root}", _ROOT[module])
           + _SHAPES[module].replace("{payload}", ref))
    path = tmp_path / "hostile.xml"
    path.write_text('<?xml version="1.0"?>\n' + doc, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(ECGFormatError) as info:
        module.read(path)
    assert time.perf_counter() - start < 5.0  # refused before any expansion, not after
    assert "root:" not in str(info.value) and str(path) in str(info.value)
    deid_dst = tmp_path / "out.xml"
    with pytest.raises(ECGFormatError):
        module.deidentify(path, deid_dst,
                          __import__("ecglens.io.deidentify").io.deidentify.DeidOptions())
    assert not deid_dst.exists()


def test_muse_bare_doctype_does_not_fetch(tmp_path: Path, formats_dir: Path) -> None:
    """A DOCTYPE pointing at a local file is accepted as a name only; the file is never read."""
    original = (formats_dir / "ge-muse/guangxi_teaching_sinus_rhythm.xml").read_text(
        encoding="utf-8")
    path = tmp_path / "muse.xml"
    path.write_text(original.replace('SYSTEM "restecg.dtd"', 'SYSTEM "file:///etc/passwd"'),
                    encoding="utf-8")
    ecg = muse.read(path)
    assert ecg.signal.shape == (5000, 12)


@pytest.mark.parametrize("case", ALL_FILES, ids=_id)
def test_truncated_files_raise_format_error(formats_dir: Path, tmp_path: Path,
                                            case: tuple) -> None:  # type: ignore[type-arg]
    module, name = case
    data = (formats_dir / name).read_bytes()
    cuts = sorted({int(len(data) * f) for f in (0.01, 0.2, 0.5, 0.8, 0.97)}
                  | {len(data) - 3, 1, 41})
    for cut in cuts:
        path = tmp_path / f"cut{cut}.xml"
        path.write_bytes(data[:cut])
        try:
            module.read(path)
        except ECGFormatError as exc:
            assert str(path) in str(exc)
        except Exception as exc:  # noqa: BLE001 - the point: nothing else may escape
            pytest.fail(f"cut at {cut}: {type(exc).__name__} escaped: {exc}")
        else:
            pytest.fail(f"cut at {cut} of {len(data)} bytes read without error")


@pytest.mark.parametrize("module,name,element", [
    (sierra, "philips-sierra/129DYPRG.XML", "parsedwaveforms"),
    (muse, "ge-muse/guangxi_teaching_sinus_rhythm.xml", "WaveFormData"),
    (aecg, "hl7-aecg/subject1_0.xml", "digits"),
], ids=["sierra", "muse", "aecg"])
def test_well_formed_but_damaged_waveform(formats_dir: Path, tmp_path: Path, module: ModuleType,
                                          name: str, element: str) -> None:
    """Valid XML whose waveform payload was cut short or altered: an ECGFormatError, nothing
    else."""
    text = (formats_dir / name).read_text(encoding="utf-8")
    rhythm = text.find("<WaveformType>Rhythm")  # MUSE: damage the rhythm, not the median beat
    start = text.index(f"<{element}", max(rhythm, 0))
    start = text.index(">", start) + 1
    end = text.index(f"</{element}>", start)
    payload = text[start:end]
    variants = {
        "half": payload[: len(payload) // 2],
        "empty": "",
        "garbage": "@@@not-a-number@@@",
    }
    if module is not aecg:  # a single changed Base64 character must be caught by CRC or XLI checks
        variants["flipped"] = payload[:200] + ("A" if payload[200] != "A" else "B") + payload[201:]
    for label, new in variants.items():
        path = tmp_path / f"{label}.xml"
        path.write_text(text[:start] + new + text[end:], encoding="utf-8")
        try:
            module.read(path)
        except ECGFormatError:
            continue
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{label}: {type(exc).__name__} escaped: {exc}")
        if module is sierra and label == "flipped":
            # XLI has no checksum: a flipped bit may decode to other, valid-looking samples
            continue
        pytest.fail(f"{label}: damaged waveform read without error")


# --- the registry entry point -----------------------------------------------------------------

@pytest.mark.parametrize("case", ALL_FILES, ids=_id)
def test_registry_reads_xml_formats(formats_dir: Path,
                                    case: tuple) -> None:  # type: ignore[type-arg]
    """Detection by content (UTF-16 Sierra, MUSE with its DOCTYPE included) reaches our readers."""
    module, name = case
    ecg = registry.read(formats_dir / name)
    assert np.array_equal(ecg.signal, module.read(formats_dir / name).signal)


def test_xli_decoder_refuses_garbage_headers_and_expansion(formats_dir: Path) -> None:
    """Random XLI chunks, negative sizes and chunks longer than declared: ECGFormatError only."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(8, 300))
        data = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        size = n - 8 if rng.random() < 0.8 else int(rng.integers(-10, n))
        data[0:4] = size.to_bytes(4, "little", signed=True)
        with pytest.raises(ECGFormatError):
            xli.xli_decode(Path("x.xml"), bytes(data), 1, int(rng.choice([10, 100, 5500])))
    # a real chunk decoded against a smaller declared length stops at the bound
    text = (formats_dir / "philips-sierra/129DYPRG.XML").read_text(encoding="utf-8")
    payload = re.search(r"<parsedwaveforms[^>]*>([^<]*)<", text).group(1)
    with pytest.raises(ECGFormatError, match="expands beyond"):
        xli.xli_decode(Path("x.xml"), base64.b64decode(payload), 12, 100)


def test_aecg_units_mv_and_ms(formats_dir: Path, tmp_path: Path) -> None:
    """Scale and origin in mV, increment in ms: same physical signal as the µV / s original."""
    text = (formats_dir / "hl7-aecg/minimum_aecg.xml").read_text(encoding="utf-8")
    variant = (text.replace('<origin value="0" unit="uV"/>', '<origin value="0.01" unit="mV"/>')
                   .replace('<scale value="2.5" unit="uV"/>', '<scale value="0.0025" unit="mV"/>')
                   .replace('<increment value="0.002" unit="s"/>', '<increment value="2" '
                                                                   'unit="ms"/>'))
    assert variant.count("unit=\"mV\"") == 2 and 'unit="ms"' in variant
    path = tmp_path / "mv.xml"
    path.write_text(variant, encoding="utf-8")
    original, ecg = aecg.read(formats_dir / "hl7-aecg/minimum_aecg.xml"), aecg.read(path)
    assert ecg.fs == 500.0
    np.testing.assert_allclose(ecg.signal, original.signal + 0.01, atol=1e-12)
    path.write_text(variant.replace('unit="ms"/>', 'unit="fortnights"/>'), encoding="utf-8")
    with pytest.raises(ECGFormatError, match="increment"):
        aecg.read(path)


def test_calibration_pulse_is_left_out_and_only_it() -> None:
    fs = 500.0
    rng = np.random.default_rng(0)
    tracing = rng.normal(0, 0.2, (5000, 12))
    cal = np.zeros((500, 12))
    cal[100:200] = 1.0  # flat, 200 ms at 1 mV in every lead, flat
    assert sierra.strip_calibration_pulse(np.vstack([tracing, cal]), fs).shape == (5000, 12)
    assert sierra.strip_calibration_pulse(tracing, fs).shape == (5000, 12)  # none: unchanged
    flat = np.vstack([tracing, np.zeros((500, 12))])  # a flat end is not a pulse
    assert sierra.strip_calibration_pulse(flat, fs).shape == (5500, 12)
    one_lead = np.vstack([tracing, cal])
    one_lead[-400:-300, 3] = 0.5  # a pulse in which the leads differ is tracing: kept
    assert sierra.strip_calibration_pulse(one_lead, fs).shape == (5500, 12)
