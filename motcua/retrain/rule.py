"""The promotion rule (pure): a candidate model is put into service automatically only if it is
not worse than the serving one on the held-out set (motcua/retrain/__init__.py says how)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

F1_TOLERANCE = 0.05
MIN_SUPPORT = 5
# Accuracy may fall by this much (0.3 points: 3 of the ~1,000 held-out examples): a retraining on
# slightly different data moves a borderline example or two either way.
ACCURACY_TOLERANCE = 0.003


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%".replace(".", ",")


def _num(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def decide(candidate: dict, current: Optional[dict], f1_tolerance: float = F1_TOLERANCE,
           min_support: int = MIN_SUPPORT, accuracy_tolerance: float = ACCURACY_TOLERANCE) -> Verdict:
    """The promotion rule (see the module's docstring). Scores as `scores_of` gives them."""
    if not current:
        return Verdict(False, ["Không đánh giá được mô hình đang chạy nên không so sánh được."])
    reasons = []
    if current["accuracy"] - candidate["accuracy"] > accuracy_tolerance + 1e-9:
        reasons.append(f"Độ chính xác giảm từ {_pct(current['accuracy'])} xuống {_pct(candidate['accuracy'])}.")
    for intent, old in sorted(current.get("per_intent", {}).items()):
        if old.get("support", 0) < min_support:
            continue
        new_f1 = candidate.get("per_intent", {}).get(intent, {}).get("f1", 0.0)
        if old["f1"] - new_f1 > f1_tolerance + 1e-9:
            reasons.append(f"Ý định {intent}: F1 giảm {_num(old['f1'] - new_f1)} ({_num(old['f1'])} → {_num(new_f1)}),"
                           f" quá mức cho phép {_num(f1_tolerance)}.")
    return Verdict(not reasons, reasons)


def compare_rows(candidate: Optional[dict], current: Optional[dict]) -> list[dict[str, Any]]:
    """Per-intent rows for the page: support, F1 of each model and the change."""
    candidate, current = candidate or {}, current or {}
    intents = sorted(set(candidate.get("per_intent", {})) | set(current.get("per_intent", {})))
    rows = []
    for intent in intents:
        new = candidate.get("per_intent", {}).get(intent)
        old = current.get("per_intent", {}).get(intent)
        rows.append({"intent": intent, "support": (new or old or {}).get("support", 0),
                     "old": old["f1"] if old else None, "new": new["f1"] if new else None,
                     "delta": (new["f1"] - old["f1"]) if new and old else None})
    return rows
