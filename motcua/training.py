"""Training the Rasa model, cached by a hash of everything that shapes it."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

from motcua import PROJECT_ROOT
from motcua.settings import Settings

CONFIG = PROJECT_ROOT / "config.yml"
DOMAIN = PROJECT_ROOT / "domain.yml"
# What each feature says (responses/<feature>.yml): domain fragments merged with domain.yml.
RESPONSES = tuple(sorted((PROJECT_ROOT / "responses").glob("*.yml")))
# Written by the admin pages (motcua/admin_data.py), each only once an admin adds something:
# annotated examples and FAQ questions, the FAQ rules, and the FAQ intents with their answers
# (a domain fragment, merged with domain.yml at training time).
# With several gateways (production mode) they live on a shared volume: MOTCUA_ADMIN_DATA_DIR.
ADMIN_DIR = Settings.from_env().admin_data_dir
ADMIN_NLU = (ADMIN_DIR or PROJECT_ROOT / "nlu" / "data" / "nlu") / "admin_annotations.yml"
ADMIN_RULES = (ADMIN_DIR or PROJECT_ROOT / "nlu" / "data") / "admin_rules.yml"
ADMIN_DOMAIN = (ADMIN_DIR or PROJECT_ROOT / "nlu" / "data") / "admin_domain.yml"
# Training data, by kind. nlu/data/test/ is held out and never listed here.
TRAINING_DATA = [
    PROJECT_ROOT / "nlu" / "data" / "nlu",
    PROJECT_ROOT / "nlu" / "data" / "rules.yml",
    PROJECT_ROOT / "nlu" / "data" / "stories.yml",
    ADMIN_RULES,
] + ([ADMIN_NLU] if ADMIN_DIR else [])
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


@dataclass(frozen=True)
class Inputs:
    """Everything a training reads: the config, the domain (domain.yml, the features' responses and,
    once admins add FAQ answers, their fragment) and the training data. Tests point the admin files elsewhere."""

    config: Path = CONFIG
    domain: tuple[Path, ...] = (DOMAIN, *RESPONSES, ADMIN_DOMAIN)
    data: tuple[Path, ...] = tuple(TRAINING_DATA)
    # Admin-written files outside the default places (in tests: a temporary folder).
    admin_files: tuple[Path, ...] = ()

    def with_admin_files(self, nlu: Path, rules: Path, domain: Path) -> "Inputs":
        """These admin files instead of the default ones."""
        defaults = {ADMIN_NLU, ADMIN_RULES, ADMIN_DOMAIN}
        return Inputs(self.config, tuple(p for p in self.domain if p not in defaults) + (domain,),
                      tuple(p for p in self.data if p not in defaults) + (nlu, rules), (nlu, rules, domain))

    def domain_files(self) -> list[Path]:
        return [p for p in self.domain if p.exists()]

    def data_paths(self) -> list[Path]:
        return [p for p in self.data if p.exists()]

    def files(self, admin: bool = True) -> list[Path]:
        """Every file that shapes the model, in a fixed order (with or without the admin ones)."""
        found = _files([self.config, *self.domain_files(), *self.data_paths(), *PIPELINE_CODE])
        if admin:
            return found
        skip = {p.resolve() for p in (ADMIN_NLU, ADMIN_RULES, ADMIN_DOMAIN, *self.admin_files)}
        return [f for f in found if f.resolve() not in skip]


def _name(f: Path) -> str:
    try:
        return str(f.relative_to(PROJECT_ROOT))
    except ValueError:  # admin files in a test's temporary folder
        return f"admin/{f.name}"


def inputs_hash(inputs: Inputs, admin: bool = True) -> str:
    """The hash that names a model. Without the admin files (admin=False) it changes only when
    developers change the config, domain, data or pipeline code (see active_model)."""
    digest = hashlib.sha256()
    for f in inputs.files(admin):
        digest.update(_name(f).encode())
        digest.update(b"\0")
        digest.update(f.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def data_hash(config: Path = CONFIG) -> str:
    return inputs_hash(Inputs(config=config))


def model_path(models_dir: Path, config: Path = CONFIG, inputs: Optional[Inputs] = None) -> Path:
    h = inputs_hash(inputs) if inputs is not None else data_hash(config)
    return Path(models_dir) / f"{MODEL_PREFIX}{h}.tar.gz"


@contextlib.contextmanager
def domain_argument(inputs: Inputs) -> Iterator[Path]:
    """What to pass as `rasa train --domain`: domain.yml itself, or, with the responses files and
    the admins' FAQ fragment, a temporary folder holding them all (Rasa merges the domain files of a
    folder)."""
    files = inputs.domain_files()
    if len(files) == 1:
        yield files[0]
        return
    with tempfile.TemporaryDirectory(prefix="motcua-domain-") as tmp:
        for i, f in enumerate(files):
            shutil.copyfile(f, Path(tmp) / f"{i}_{f.name}")
        yield Path(tmp)


def train_command(inputs: Inputs, domain: Path, out_dir: Path, name: str) -> list[str]:
    """`rasa train` arguments (after the program name) for these inputs."""
    return ["train", "--config", str(inputs.config), "--domain", str(domain),
            "--data", *[str(p) for p in inputs.data_paths()],
            "--out", str(out_dir), "--fixed-model-name", name.removesuffix(".tar.gz")]


def train(models_dir: Path, config: Path = CONFIG, extra_args: Sequence[str] = ()) -> Path:
    """Train into a temporary folder and move the model into place only when complete."""
    inputs = Inputs(config=config)
    target = model_path(models_dir, config)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".training-") as tmp, \
            domain_argument(inputs) as domain:
        # Rasa runs from the engine's environment, also when a gateway (its own environment) asks.
        cmd = [Settings.from_env().engine_python, "-m", "rasa", *train_command(inputs, domain, Path(tmp), target.name),
               *extra_args]
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


# --- the model admins put into service (motcua/retrain/) ----------------------------------------
ACTIVE_FILE = "active.json"


def write_active(models_dir: Path, name: str, inputs: Optional[Inputs] = None) -> None:
    """Remember the model admins promoted, with the hash of the data outside the admin files."""
    inputs = inputs or Inputs()
    path = Path(models_dir) / ACTIVE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"model": name, "base_hash": inputs_hash(inputs, admin=False)}), encoding="utf-8")
    os.replace(tmp, path)


def active_model(models_dir: Path, inputs: Optional[Inputs] = None) -> Optional[Path]:
    """The model admins last promoted, if it exists and nothing but admin files changed since.

    `motcua run` serves it rather than the model for the current data: a candidate the promotion
    rule refused must not go live at the next start. When developers change the config, domain,
    data or pipeline, this gives None and the model for the current data is used (and trained)."""
    try:
        active = json.loads((Path(models_dir) / ACTIVE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    path = Path(models_dir) / str(active.get("model", ""))
    if not path.is_file() or active.get("base_hash") != inputs_hash(inputs or Inputs(), admin=False):
        return None
    return path
