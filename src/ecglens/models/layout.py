"""Where each task lives in a multi-task network's output vector.

One network predicts every task at once: the six PTB-XL label sets side by side, then one
output for age (standardised years) and one for sex (logit of female).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: the label sets a network predicts, in output order (the PTB-XL benchmark's six tasks)
LABEL_TASKS: tuple[str, ...] = (
    "all", "diagnostic", "subdiagnostic", "superdiagnostic", "form", "rhythm",
)
PHENOTYPE_TASKS: tuple[str, ...] = ("age", "sex")
TASKS: tuple[str, ...] = LABEL_TASKS + PHENOTYPE_TASKS


class OutputLayout(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: dict[str, list[str]]  # task -> label names, in output order
    age_mean: float = 60.0
    age_std: float = 17.0

    @property
    def label_tasks(self) -> list[str]:
        return [t for t in LABEL_TASKS if t in self.labels]

    def slice(self, task: str) -> slice:
        start = 0
        for t in self.label_tasks:
            n = len(self.labels[t])
            if t == task:
                return slice(start, start + n)
            start += n
        if task == "age":
            return slice(start, start + 1)
        if task == "sex":
            return slice(start + 1, start + 2)
        raise KeyError(task)

    @property
    def n_outputs(self) -> int:
        return sum(len(v) for v in self.labels.values()) + 2
