"""Compare NLU pipelines on the held-out set (and optionally by cross-validation).

    .venv/bin/python -m bench.nlu_pipelines [--cv-folds 3] [CONFIG ...]     (from the repository root)

Defaults compare Rasa's default pipeline, ours with DIET, and ours with logistic regression
(config.yml). Prints a table (accuracy, no-diacritics and shorthand accuracy, procedure F1,
out-of-scope recall, parse p50/p95, training time) and writes bench/results/nlu_pipelines.json.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from motcua import PROJECT_ROOT, nlu_eval
from motcua.training import DOMAIN

ROOT = PROJECT_ROOT
NLU_DATA = ROOT / "nlu" / "data" / "nlu"
DEFAULT_CONFIGS = [ROOT / "bench" / "pipelines" / "rasa_default.yml",
                   ROOT / "bench" / "pipelines" / "ours_diet.yml", ROOT / "config.yml"]


def diacritics_only_copy(out: Path) -> Path:
    """The training data without its no-diacritics and diacritics-free shorthand examples: what a
    team would have written without thinking of phones. Shows what the text normaliser itself adds."""
    from rasa.shared.nlu.training_data.loading import load_data

    from nlu.text import strip_diacritics

    data = load_data(str(NLU_DATA))
    kept = [m for m in data.training_examples if strip_diacritics(m.get("text")) != m.get("text")]
    subset = data.filter_training_examples(lambda m: m in kept)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "nlu.yml"
    path.write_text(subset.nlu_as_yaml(), encoding="utf-8")
    print(f"diacritics-only training data: {len(kept)} of {len(data.training_examples)} examples", flush=True)
    return path


def train_nlu(config: Path, out: Path, nlu_data: Path = NLU_DATA) -> tuple[Path, float]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rasa", "train", "nlu", "--config", str(config), "--nlu", str(nlu_data),
                    "--domain", str(DOMAIN), "--out", str(out), "--fixed-model-name", "m"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out / "m.tar.gz", time.perf_counter() - t0


def cross_validate(config: Path, folds: int, out: Path) -> dict:
    """Rasa's own k-fold cross-validation on the training data; intent figures of the test folds."""
    subprocess.run([sys.executable, "-m", "rasa", "test", "nlu", "--nlu", str(NLU_DATA), "--config", str(config),
                    "--cross-validation", "--folds", str(folds), "--out", str(out), "--no-plot"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report = json.loads((out / "intent_report.json").read_text())
    return {"cv_accuracy": report["accuracy"], "cv_macro_f1": report["macro avg"]["f1-score"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("configs", nargs="*", type=Path)
    ap.add_argument("--cv-folds", type=int, default=0, help="also cross-validate with this many folds")
    ap.add_argument("--diacritics-only", action="store_true",
                    help="train on the examples written with diacritics only (the test set is unchanged)")
    args = ap.parse_args()
    examples = nlu_eval.load_examples([nlu_eval.TEST_DIR])
    rows = []
    for config in args.configs or DEFAULT_CONFIGS:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"training {config.name} …", flush=True)
            data = diacritics_only_copy(Path(tmp) / "data") if args.diacritics_only else NLU_DATA
            model, train_s = train_nlu(config, Path(tmp), data)
            report = nlu_eval.score(asyncio.run(nlu_eval.predict(examples, nlu_eval.agent_parser(model))))
            row = {"config": config.name + (" (diacritics-only data)" if args.diacritics_only else ""),
                   "train_s": round(train_s, 1), "accuracy": report.accuracy,
                   "no_diacritics": report.part_accuracy.get("no_diacritics"),
                   "shorthand": report.part_accuracy.get("shorthand"),
                   "procedure_f1": report.entity_f1.get("procedure"), "oos_recall": report.recall("out_of_scope"),
                   "parse_p50_ms": report.latency_ms["p50"], "parse_p95_ms": report.latency_ms["p95"]}
            if args.cv_folds:
                print(f"cross-validating {config.name} ({args.cv_folds} folds) …", flush=True)
                row.update(cross_validate(config, args.cv_folds, Path(tmp) / "cv"))
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "nlu_pipelines_diacritics_only.json" if args.diacritics_only else "nlu_pipelines.json"
    (out / name).write_text(json.dumps(rows, indent=2))
    cols = ["config", "accuracy", "no_diacritics", "shorthand", "procedure_f1", "oos_recall",
            "parse_p50_ms", "parse_p95_ms", "train_s", "cv_accuracy", "cv_macro_f1"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r.get(c), float) else str(r.get(c, "–")) for c in cols) + " |")


if __name__ == "__main__":
    main()
