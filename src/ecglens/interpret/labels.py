"""Plain-language text, category, clinical priority and SNOMED CT code of each PTB-XL SCP statement.

The network predicts the 71 SCP-ECG statements of PTB-XL (Wagner et al. 2020). Clinicians read
words, not codes, and they read the urgent findings first: the table below gives each code a short
label in the words of a cart report, one of six categories, and a priority (lower = read first)
that orders the findings in every report. SNOMED CT concepts are the ones the PhysioNet/CinC
Challenge 2020/21 used for the same statements; codes without a well-established concept carry
``None`` and are sent to FHIR under the SCP-ECG code system only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["rhythm", "conduction", "infarction/ischemia", "hypertrophy", "ST/T", "other"]

#: report order of the categories when priorities tie
CATEGORY_ORDER: tuple[Category, ...] = (
    "rhythm", "infarction/ischemia", "conduction", "ST/T", "hypertrophy", "other",
)


@dataclass(frozen=True)
class StatementInfo:
    code: str
    label: str
    category: Category
    priority: int  # 1 = act now (acute injury, AF, complete block) ... 9 = descriptive
    snomed: str | None = None


_R: Category = "rhythm"
_C: Category = "conduction"
_I: Category = "infarction/ischemia"
_H: Category = "hypertrophy"
_S: Category = "ST/T"
_O: Category = "other"

_TABLE: list[tuple[str, str, Category, int, str | None]] = [
    # rhythm
    ("AFIB", "Atrial fibrillation", _R, 1, "164889003"),
    ("AFLT", "Atrial flutter", _R, 1, "164890007"),
    ("SVTAC", "Supraventricular tachycardia", _R, 1, "426761007"),
    ("PSVT", "Paroxysmal supraventricular tachycardia", _R, 1, "67198005"),
    ("SVARR", "Supraventricular arrhythmia", _R, 3, None),
    ("PACE", "Pacemaker rhythm (normally functioning)", _R, 3, "10370003"),
    ("STACH", "Sinus tachycardia", _R, 4, "427084000"),
    ("SBRAD", "Sinus bradycardia", _R, 4, "426177001"),
    ("SARRH", "Sinus arrhythmia", _R, 6, "427393009"),
    ("BIGU", "Bigeminal pattern", _R, 4, "11157007"),
    ("TRIGU", "Trigeminal pattern", _R, 4, "251180001"),
    ("PVC", "Ventricular premature complex(es)", _R, 5, "427172004"),
    ("PAC", "Atrial premature complex(es)", _R, 6, "284470004"),
    ("PRC(S)", "Premature complex(es)", _R, 6, None),
    ("SR", "Sinus rhythm", _R, 9, "426783006"),
    # infarction / ischemia / injury
    ("INJAS", "Subendocardial injury, anteroseptal leads", _I, 1, None),
    ("INJAL", "Subendocardial injury, anterolateral leads", _I, 1, None),
    ("INJIN", "Subendocardial injury, inferior leads", _I, 1, None),
    ("INJLA", "Subendocardial injury, lateral leads", _I, 1, None),
    ("INJIL", "Subendocardial injury, inferolateral leads", _I, 1, None),
    ("AMI", "Anterior myocardial infarction", _I, 2, "54329005"),
    ("ASMI", "Anteroseptal myocardial infarction", _I, 2, None),
    ("ALMI", "Anterolateral myocardial infarction", _I, 2, None),
    ("IMI", "Inferior myocardial infarction", _I, 2, None),
    ("ILMI", "Inferolateral myocardial infarction", _I, 2, None),
    ("IPMI", "Inferoposterior myocardial infarction", _I, 2, None),
    ("IPLMI", "Inferoposterolateral myocardial infarction", _I, 2, None),
    ("LMI", "Lateral myocardial infarction", _I, 2, None),
    ("PMI", "Posterior myocardial infarction", _I, 2, None),
    ("ISCAL", "Ischemia, anterolateral leads", _I, 2, None),
    ("ISCAS", "Ischemia, anteroseptal leads", _I, 2, None),
    ("ISCAN", "Ischemia, anterior leads", _I, 2, None),
    ("ISCIN", "Ischemia, inferior leads", _I, 2, None),
    ("ISCIL", "Ischemia, inferolateral leads", _I, 2, None),
    ("ISCLA", "Ischemia, lateral leads", _I, 2, None),
    ("ISC_", "Non-specific ischemia", _I, 3, None),
    ("QWAVE", "Q waves present", _I, 5, "164917005"),
    # conduction
    ("3AVB", "Third-degree (complete) AV block", _C, 1, "27885002"),
    ("2AVB", "Second-degree AV block", _C, 2, "195042002"),
    ("WPW", "Wolff-Parkinson-White pattern", _C, 3, "74390002"),
    ("CLBBB", "Complete left bundle branch block", _C, 3, "733534002"),
    ("CRBBB", "Complete right bundle branch block", _C, 4, "713427006"),
    ("1AVB", "First-degree AV block", _C, 5, "270492004"),
    ("LAFB", "Left anterior fascicular block", _C, 5, "445118002"),
    ("LPFB", "Left posterior fascicular block", _C, 5, "445211001"),
    ("IVCD", "Non-specific intraventricular conduction delay", _C, 5, "698252002"),
    ("ILBBB", "Incomplete left bundle branch block", _C, 6, "251120003"),
    ("IRBBB", "Incomplete right bundle branch block", _C, 6, "713426002"),
    ("LPR", "Prolonged PR interval", _C, 6, "164947007"),
    # ST / T
    ("STE_", "Non-specific ST elevation", _S, 2, "164931005"),
    ("STD_", "Non-specific ST depression", _S, 3, "429622005"),
    ("ANEUR", "ST-T changes compatible with ventricular aneurysm", _S, 3, None),
    ("LNGQT", "Long QT interval", _S, 3, "111975006"),
    ("EL", "Electrolyte disturbance or drug effect", _S, 4, None),
    ("DIG", "Digitalis effect", _S, 5, None),
    ("INVT", "Inverted T waves", _S, 5, "59931005"),
    ("NST_", "Non-specific ST changes", _S, 6, None),
    ("NT_", "Non-specific T-wave changes", _S, 6, None),
    ("TAB_", "T-wave abnormality", _S, 6, "164934002"),
    ("NDT", "Non-diagnostic T-wave abnormalities", _S, 7, None),
    ("LOWT", "Low-amplitude T waves", _S, 7, None),
    # hypertrophy / enlargement
    ("LVH", "Left ventricular hypertrophy", _H, 4, "164873001"),
    ("RVH", "Right ventricular hypertrophy", _H, 4, "89792004"),
    ("SEHYP", "Septal hypertrophy", _H, 5, None),
    ("LAO/LAE", "Left atrial enlargement", _H, 6, "67741000119109"),
    ("RAO/RAE", "Right atrial enlargement", _H, 6, "446813000"),
    ("VCLVH", "Voltage criteria for left ventricular hypertrophy", _H, 6, None),
    ("HVOLT", "High QRS voltage", _H, 7, None),
    # other
    ("LVOLT", "Low QRS voltage", _O, 6, "251146004"),
    ("ABQRS", "Abnormal QRS", _O, 6, None),
    ("NORM", "Normal ECG", _O, 9, None),
]

STATEMENTS: dict[str, StatementInfo] = {
    code: StatementInfo(code, label, cat, prio, snomed)
    for code, label, cat, prio, snomed in _TABLE
}

# PTB-XL's aggregated labels (tasks "superdiagnostic"/"subdiagnostic") when a model predicts those
_AGGREGATES: dict[str, tuple[str, Category, int]] = {
    "NORM": ("Normal ECG", "other", 9),
    "MI": ("Myocardial infarction", "infarction/ischemia", 2),
    "STTC": ("ST/T change", "ST/T", 4),
    "CD": ("Conduction disturbance", "conduction", 5),
    "HYP": ("Hypertrophy", "hypertrophy", 5),
}


#: ecglens' own statement codes, made by the statement engine from the measurements where
#: PTB-XL's 71 statements have no code (``ecglens.interpret.statements``)
ECGLENS_STATEMENTS: dict[str, StatementInfo] = {
    "LAD": StatementInfo("LAD", "Left axis deviation", "conduction", 6, "39732003"),
    "RAD": StatementInfo("RAD", "Right axis deviation", "conduction", 6, "47665007"),
    "RHYUND": StatementInfo("RHYUND", "Rhythm undetermined", "rhythm", 9, None),
}


def statement(code: str) -> StatementInfo:
    """Label, category and priority of a statement; unknown codes stay readable, ranked last."""
    if code in STATEMENTS:
        return STATEMENTS[code]
    if code in ECGLENS_STATEMENTS:
        return ECGLENS_STATEMENTS[code]
    if code in _AGGREGATES:
        label, cat, prio = _AGGREGATES[code]
        return StatementInfo(code, label, cat, prio)
    return StatementInfo(code, code, "other", 8)


def priority_key(code: str, probability: float) -> tuple[int, int, float]:
    """Sort key: clinical priority, then category, then the more probable finding first."""
    info = statement(code)
    return (info.priority, CATEGORY_ORDER.index(info.category), -probability)
