"""The worker, `python -m motcua.retrain.worker SPEC.json`: one subprocess that trains with Rasa
(exactly `rasa train` with the inputs of motcua.training, run in-process so Rasa is imported once)
and evaluates both models with motcua.nlu_eval. It prints Rasa's log lines and its own
`@@ {json}` lines on stdout, and runs at a lower CPU priority than the bot."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from motcua.retrain.progress import PROGRESS_PREFIX

log = logging.getLogger(__name__)


def _emit(**event: Any) -> None:
    print(PROGRESS_PREFIX + json.dumps(event, ensure_ascii=False), flush=True)


def scores_of(report) -> dict[str, Any]:
    """What is stored and compared of a motcua.nlu_eval.Report."""
    return {"n": report.n, "accuracy": report.accuracy, "macro_f1": report.macro_f1,
            "per_intent": report.per_intent, "entity_f1": report.entity_f1,
            "part_accuracy": report.part_accuracy, "confusions": [list(c) for c in report.confusions[:10]]}


async def _evaluate(model: Path, examples: list, label: str) -> dict[str, Any]:
    from motcua import nlu_eval

    parse = nlu_eval.agent_parser(model)
    predictions = []
    step = 50
    for i in range(0, len(examples), step):
        predictions += await nlu_eval.predict(examples[i:i + step], parse)
        _emit(event="eval", model=label, done=len(predictions), total=len(examples))
    return scores_of(nlu_eval.score(predictions))


def _train(spec: dict) -> None:
    """`rasa train` in this process, into a temporary folder, moved into place when complete."""
    from rasa.__main__ import create_argument_parser
    from rasa.cli.train import run_training
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    target = Path(spec["candidate"])
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".training-") as tmp:
        args = create_argument_parser().parse_args(
            ["train", "--config", spec["config"], "--domain", spec["domain"], "--data", *spec["data"],
             "--out", tmp, "--fixed-model-name", target.name.removesuffix(".tar.gz")])
        configure_logging_and_warnings(logging.INFO, warn_only_once=True, filter_repeated_logs=True)
        configure_structlog(logging.INFO)
        if not run_training(args):
            raise SystemExit("training failed")
        os.replace(Path(tmp) / target.name, target)


def worker(spec_path: str) -> int:
    """Train (unless the candidate exists), then evaluate candidate and serving model; the last
    line is `@@ {"event": "result", …}`."""
    try:
        os.nice(10)  # the bot answers first; training takes what is left
    except OSError:
        pass
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)s %(name)s - %(message)s")
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    _emit(event="start")
    started = time.monotonic()
    if spec.get("train"):
        _train(spec)
        _emit(event="trained", seconds=round(time.monotonic() - started, 1))
    else:
        _emit(event="reused")
    train_seconds = time.monotonic() - started
    # The model to compare with is the one serving now, after training: the gateway answers with
    # {"current": path or null} on stdin.
    answer = sys.stdin.readline()
    current = json.loads(answer).get("current") if answer.strip() else None

    from motcua import nlu_eval

    examples = nlu_eval.load_examples([Path(p) for p in spec["test"]])
    result: dict[str, Any] = {"candidate": asyncio.run(_evaluate(Path(spec["candidate"]), examples, "candidate")),
                              "current": None, "train_seconds": round(train_seconds, 1)}
    if current:
        result["current"] = asyncio.run(_evaluate(Path(current), examples, "current"))
    _emit(event="result", **result)
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.retrain.worker",
                                     description="Train and evaluate a candidate model (started by the gateway).")
    parser.add_argument("spec", help="the run's SPEC.json")
    args = parser.parse_args(argv)
    return worker(args.spec)


if __name__ == "__main__":
    sys.exit(main())
