"""De-identification of the XML formats (aECG, Philips Sierra, GE MUSE) on the real files.

After de-identification: no name, ID or birth date of the original is left anywhere outside the
waveform payload; the waveform payload text is identical; the file still reads with the same
samples, bit for bit; dates move by exactly the requested number of days.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from lxml import etree

from ecglens.io import aecg, muse, registry, sierra
from ecglens.io.deidentify import DeidOptions, deidentify

KEY = b"test-secret"
SHIFT = -137

#: module, file, identifying strings written in the file (read off each file by hand)
CASES = [
    (aecg, "hl7-aecg/subject1_0.xml",
     ["Clark", "19530508", "subject1", "John Smith", "River City", "JMK", "KAB", "INV-087",
      "TECH-221", "Subject felt dizzy", "SC-342"]),
    (aecg, "hl7-aecg/minimum_aecg.xml", ["SBJ-123"]),
    (sierra, "philips-sierra/129DYPRG.XML",
     ["1112010721168bdc", "GE EMS", "GEILM", "03d494f2-94f2-13d4-857f-00095c028bdc"]),
    (sierra, "philips-sierra/3191723_ZZDEMOPTONLY_1-04_orig.xml",
     ["ZZDEMOPTONLY", "ADULT", "1950-01-01", "9999", "120190145", "Heart Station", "TEST PT",
      "VWJ", "EKG1715", "Storage Card"]),
    (muse, "ge-muse/guangxi_teaching_sinus_rhythm.xml",
     ["Anonymous", "00000000", "01-01-1900", "Hospital Name", "Doctor", "ECG-Lab", "14床",
      "开放性骨折", "2255/3212", "Department"]),
]
#: elements holding encoded samples, per format
_WAVEFORM_TAGS = {"digits", "parsedwaveforms", "waveform", "WaveFormData"}


def _id(case: tuple) -> str:  # type: ignore[type-arg]
    return Path(case[1]).name


def _text(path: Path) -> str:
    raw = path.read_bytes()
    return raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8")


def _waveform_payloads(path: Path) -> list[str]:
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    return [el.text or "" for el in tree.iter() if isinstance(el.tag, str)
            and etree.QName(el).localname in _WAVEFORM_TAGS]


def _without_payloads(text: str) -> str:
    tags = "|".join(_WAVEFORM_TAGS)
    return re.sub(rf"(<(?:{tags})\b[^>]*>)[^<]*", r"\1", text)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_deidentified_file_has_no_identity_and_same_samples(formats_dir: Path, tmp_path: Path,
                                                             case: tuple) -> None:  # type: ignore[type-arg]
    module, name, identifiers = case
    src, dst = formats_dir / name, tmp_path / Path(name).name
    module.deidentify(src, dst, DeidOptions(pseudonym_key=KEY, date_shift_days=SHIFT))
    original_text, new_text = _text(src), _text(dst)
    for s in identifiers:
        assert s in _without_payloads(original_text), f"test premise: {s!r} is in the original"
        assert s not in _without_payloads(new_text), f"{s!r} left in the de-identified file"
    before, after = module.read(src), module.read(dst)
    for s in (before.patient.name, before.patient.patient_id):
        if s:
            assert s not in _without_payloads(new_text)
    # the encoded waveform text is copied unchanged, so the samples are bit-identical
    assert _waveform_payloads(dst) == _waveform_payloads(src)
    assert np.array_equal(after.signal, before.signal)
    assert after.leads == before.leads and after.fs == before.fs
    assert after.patient.name is None and after.patient.birth_date is None
    assert after.patient.patient_id is not None and after.patient.patient_id.startswith("ANON-")
    assert after.patient.sex == before.patient.sex
    assert after.patient.age_years == before.patient.age_years
    assert after.device == before.device  # the device's interpretation is clinical data: kept
    assert before.acquisition.time is not None
    assert after.acquisition.time == before.acquisition.time + timedelta(days=SHIFT)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_dates_dropped_and_ids_removed_without_key(formats_dir: Path, tmp_path: Path,
                                                    case: tuple) -> None:  # type: ignore[type-arg]
    module, name, _ = case
    dst = tmp_path / Path(name).name
    module.deidentify(formats_dir / name, dst, DeidOptions(drop_dates=True))
    after = module.read(dst)
    assert after.acquisition.time is None
    assert after.patient.patient_id is None


def test_pseudonyms_link_records_of_one_patient(formats_dir: Path, tmp_path: Path) -> None:
    opts = DeidOptions(pseudonym_key=KEY)
    ids = []
    for name in ("subject1_0.xml", "subject1_1.xml"):  # two ECGs of the same trial subject
        dst = tmp_path / name
        aecg.deidentify(formats_dir / "hl7-aecg" / name, dst, opts)
        ids.append(aecg.read(dst).patient.patient_id)
    assert ids[0] == ids[1] and ids[0] != "subject1"
    other = DeidOptions(pseudonym_key=b"another key")
    aecg.deidentify(formats_dir / "hl7-aecg/subject1_0.xml", tmp_path / "o.xml", other)
    assert aecg.read(tmp_path / "o.xml").patient.patient_id != ids[0]


@pytest.mark.parametrize("module,name,old,new,path", [
    (muse, "ge-muse/guangxi_teaching_sinus_rhythm.xml", "<PatientAge>11</PatientAge>",
     "<PatientAge>97</PatientAge>", "PatientAge"),
    (sierra, "philips-sierra/129DYPRG.XML", "<years>50</years>", "<years>93</years>", "years"),
    (aecg, "hl7-aecg/subject1_0.xml", 'value="46" unit="a"', 'value="95" unit="a"', None),
], ids=["muse", "sierra", "aecg"])
def test_age_over_89_capped_at_90(formats_dir: Path, tmp_path: Path, module: ModuleType, name: str,
                                  old: str, new: str, path: str | None) -> None:
    text = (formats_dir / name).read_text(encoding="utf-8")
    assert old in text
    src, dst = tmp_path / "old.xml", tmp_path / "new.xml"
    src.write_text(text.replace(old, new), encoding="utf-8")
    assert module.read(src).patient.age_years > 90
    module.deidentify(src, dst, DeidOptions())
    assert module.read(dst).patient.age_years == 90


def test_signature_statements_removed(formats_dir: Path, tmp_path: Path) -> None:
    """MUSE appends "Confirmed by NAME (id) on date" to the diagnosis; the line must go."""
    text = (formats_dir / "ge-muse/guangxi_teaching_sinus_rhythm.xml").read_text(encoding="utf-8")
    signed = text.replace(
        "</Diagnosis>",
        "<DiagnosisStatement><StmtFlag>USERINSERT</StmtFlag><StmtText>Confirmed by WANG, LI (12)"
        "</StmtText></DiagnosisStatement><DiagnosisStatement><StmtFlag>ENDSLINE</StmtFlag>"
        "<StmtText>ZHANG HUA on 1/2/2024</StmtText></DiagnosisStatement></Diagnosis>", 1)
    src, dst = tmp_path / "signed.xml", tmp_path / "out.xml"
    src.write_text(signed, encoding="utf-8")
    muse.deidentify(src, dst, DeidOptions())
    out = dst.read_text(encoding="utf-8")
    assert "WANG" not in out and "ZHANG" not in out
    assert muse.read(dst).device.statements[:2] == muse.read(src).device.statements[:2]


@pytest.mark.parametrize("case", [c for c in CASES if c[1] != "hl7-aecg/minimum_aecg.xml"], ids=_id)
def test_dispatcher_keeps_format(formats_dir: Path, tmp_path: Path,
                                 case: tuple) -> None:  # type: ignore[type-arg]
    """Through ``ecglens.io.deidentify``: the output is detected as the same format and reads."""
    _, name, _ = case
    dst = tmp_path / Path(name).name
    fmt = deidentify(formats_dir / name, dst, DeidOptions(pseudonym_key=KEY))
    assert registry.detect_format(dst) == fmt
    assert registry.read(dst).n_samples == registry.read(formats_dir / name).n_samples


@pytest.mark.parametrize("module,name,anchor,insert", [
    (muse, "ge-muse/guangxi_teaching_sinus_rhythm.xml", "</RestingECG>",
     "<PharmaData><PharmaUniqueECGID>SECRET-123</PharmaUniqueECGID></PharmaData>"),
    (sierra, "philips-sierra/129DYPRG.XML", "</restingecgdata>",
     "<vendorextension><note>SECRET-123</note></vendorextension>"),
    (sierra, "philips-sierra/129DYPRG.XML", "<pacestatus>",
     "<homephone>SECRET-123</homephone>"),
], ids=["muse-section", "sierra-section", "sierra-patient-field"])
def test_unlisted_fields_are_emptied(formats_dir: Path, tmp_path: Path,
                                     module: ModuleType, name: str,
                                     anchor: str, insert: str) -> None:
    """Fields we do not know are not trusted: vendor sections and extra patient fields go empty."""
    text = (formats_dir / name).read_text(encoding="utf-8")
    assert text.count(anchor) == 1
    src, dst = tmp_path / "src.xml", tmp_path / "dst.xml"
    src.write_text(text.replace(anchor, insert + anchor), encoding="utf-8")
    module.deidentify(src, dst, DeidOptions())
    assert "SECRET-123" not in dst.read_text(encoding="utf-8")
    assert np.array_equal(module.read(dst).signal, module.read(src).signal)
