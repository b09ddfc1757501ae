"""Training the Rasa model, cached by a hash of everything that shapes it."""
from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from motcua import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "config.yml"
DOMAIN = PROJECT_ROOT / "domain.yml"
# Training data, by kind. nlu/data/test/ is held out and never listed here.
TRAINING_DATA = [
    PROJECT_ROOT / "nlu" / "data" / "nlu",
    PROJECT_ROOT / "nlu" / "data" / "rules.yml",
    PROJECT_ROOT / "nlu" / "data" / "stories.yml",
]
# Code and tables that the pipeline runs: a change there also needs a new model.
PIPELINE_CODE = [PROJECT_ROOT / "nlu" / "__init__.py", PROJECT_ROOT / "nlu" / "components.py",
                 PROJECT_ROOT / "nlu" / "text.py", PROJECT_ROOT / "nlu" / "shorthand.tsv"]
MODEL_PREFIX = "motcua-"


def training_data_paths() -> list[Path]:
    return [p for p in TRAINING_DATA if p.exists()]


def _files(paths: Sequence[Path]) -> list[Path]:
    out = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in (".yml", ".yaml")))
        elif p.exists():
            out.append(p)
    return out


def data_hash(config: Path = CONFIG) -> str:
    digest = hashlib.sha256()
    for f in _files([config, DOMAIN, *training_data_paths(), *PIPELINE_CODE]):
        digest.update(str(f.relative_to(PROJECT_ROOT)).encode())
        digest.update(b"\0")
        digest.update(f.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(models_dir: Path, config: Path = CONFIG) -> Path:
    return Path(models_dir) / f"{MODEL_PREFIX}{data_hash(config)}.tar.gz"


def train(models_dir: Path, config: Path = CONFIG, extra_args: Sequence[str] = ()) -> Path:
    """Train into a temporary folder and move the model into place only when complete."""
    target = model_path(models_dir, config)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".training-") as tmp:
        cmd = [
            sys.executable, "-m", "rasa", "train",
            "--config", str(config), "--domain", str(DOMAIN),
            "--data", *[str(p) for p in training_data_paths()],
            "--out", tmp, "--fixed-model-name", target.name[: -len(".tar.gz")],
            *extra_args,
        ]
        subprocess.run(cmd, cwd=PROJECT_ROOT, check=True)
        os.replace(Path(tmp) / target.name, target)
    return target


def ensure_model(models_dir: Path, config: Path = CONFIG, force: bool = False) -> Path:
    """The model for the current data, training it first if it does not exist yet.

    A file lock keeps two processes (say `make run` and the tests) from training at once."""
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        target = model_path(models_dir, config)
        if target.exists() and not force:
            return target
        print(f"Training the Rasa model for the current data → {target.name}", flush=True)
        return train(models_dir, config)
