"""The `motcua` command line (verbs fixed by the contract)."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from typing import Optional

from motcua import PROJECT_ROOT
from motcua.rasa_replicas import RasaReplicas
from motcua.rasa_run import TOKEN_ENV
from motcua.settings import Settings


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from motcua.training import ensure_model

    if args.candidate:
        return asyncio.run(_train_candidate(settings))
    path = ensure_model(settings.models_dir, force=args.force)
    print(f"Model: {path}")
    if args.publish:
        name = asyncio.run(_publish(settings, path))
        print(f"Published for the Rasa replicas (MODEL_SERVER_URL): {name}")
    return 0


async def _publish(settings: Settings, path) -> str:
    """Keeps the model in the store and publishes it, unless a model for the same data is published."""
    from motcua.store import Database, model_files
    from motcua.training import Inputs, inputs_hash

    db = Database(settings.database_url)
    try:
        await db.migrate()
        async with db.session() as session, session.begin():
            return await model_files.publish_for_data(session, path, inputs_hash(Inputs(), admin=False))
    finally:
        await db.dispose()


async def _train_candidate(settings: Settings) -> int:
    """What the admin page's "Huấn luyện lại" does: train, evaluate next to the serving model,
    promote into the running Rasa if the rule allows, and record it in the model history."""
    import aiohttp

    from motcua.retrain import PROGRESS_PREFIX, Progress, Retrainer, Workspace
    from motcua.store import Database
    from motcua.store.models import ModelVersion

    progress = Progress(1)

    def show(line: str) -> None:  # Rasa's lines as they are; the worker's own as a stage
        if not line.startswith(PROGRESS_PREFIX):
            print(line, flush=True)
        elif '"event": "result"' not in line and (update := progress.feed(line)):
            print(f"[{update[0]:>3}%] {update[1]}", flush=True)

    db = Database(settings.database_url)
    try:
        await db.migrate()
        async with aiohttp.ClientSession() as http:
            retrainer = Retrainer(db, http, RasaReplicas.from_settings(settings), settings.rasa_token,
                                  Workspace(settings.models_dir), persistent_trackers=bool(settings.rasa_tracker_store_url),
                                  on_line=show)
            if not await retrainer.serving_name():
                print(f"Rasa does not answer at {', '.join(settings.rasa_servers)} "
                      "(is it running, with RASA_TOKEN set to its token?)", file=sys.stderr)
                return 2
            run_id = await retrainer.start("motcua train --candidate")
            await retrainer.wait()
            async with db.session() as session:
                run = await session.get(ModelVersion, run_id)
        print(f"\nRun #{run.id}: {run.status} — {run.stage}")
        if run.scores and run.baseline_scores:
            print(f"Held-out accuracy: serving {run.baseline_scores['accuracy']:.3f}, candidate {run.scores['accuracy']:.3f}")
        for reason in run.reasons or []:
            print(f"  {reason}")
        if run.error:
            print(run.error, file=sys.stderr)
        return 0 if run.status in ("accepted", "unchanged") else 1
    finally:
        await db.dispose()


def _rasa_model(settings: Settings):
    from motcua.training import active_model, ensure_model

    # The model admins last promoted (unless developers changed the data since), else the model
    # for the current data.
    return active_model(settings.models_dir) or ensure_model(settings.models_dir)


def _rasa_command(settings: Settings, token: str, host: str, port: int) -> tuple[list[str], dict[str, str]]:
    """Rasa's own command line, with the speed-ups of motcua/rasa_run.py applied first, and the
    endpoints file written from the settings (tracker and lock stores in production mode)."""
    from motcua.rasa_endpoints import write_endpoints

    endpoints = PROJECT_ROOT / "var" / f"rasa-endpoints-{port}.yml"
    env = write_endpoints(dataclasses.replace(settings, rasa_token=token), endpoints)
    # The token goes through the environment, not the command line (which `ps` shows to every user):
    # motcua.rasa_run hands it to Rasa inside the process.
    # With a model server, Rasa pulls the published model from it (and keeps pulling); else it serves a file.
    model = [] if settings.model_server_url else ["--model", str(_rasa_model(settings))]
    return [settings.engine_python, "-m", "motcua.rasa_run", "run", "--enable-api",
            *model, "--endpoints", str(endpoints),
            "--credentials", str(PROJECT_ROOT / "credentials.yml"),
            "--interface", host, "--port", str(port)], {**env, TOKEN_ENV: token}


def _actions_command(settings: Settings, host: str, port: int) -> tuple[list[str], dict[str, str]]:
    return [settings.engine_python, "-m", "motcua.actions_run", "--actions", "actions", "--port", str(port)], {"SANIC_HOST": host}


def _gateway_command(settings: Settings, host: Optional[str] = None, port: Optional[int] = None) -> list[str]:
    """The gateway from its own environment (current aiohttp; Rasa's pins would hold it back)."""
    if settings.gateway_python == settings.engine_python:
        print("Warning: the gateway runs from the engine's environment (no .venv-gateway, MOTCUA_GATEWAY_PYTHON "
              "unset), on the aiohttp Rasa pins, without the fixes since. `make venv` builds its own.", file=sys.stderr)
    return [settings.gateway_python, "-m", "bot", *(["--host", host] if host else []),
            *(["--port", str(port)] if port else [])]


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import secrets

    from motcua.supervisor import ChildSpec, Supervisor

    # Rasa's API and the action server have no authentication of their own: they listen on
    # loopback (unless their URLs name another interface), and Rasa's API needs a token.
    token = settings.rasa_token or secrets.token_urlsafe(24)
    env = {"ACTION_ENDPOINT_URL": settings.action_server_url, "RASA_URL": settings.rasa_url, "RASA_URLS": "",
           "RASA_TOKEN": token}
    actions_cmd, actions_env = _actions_command(settings, settings.action_server_host, settings.action_server_port)
    rasa_cmd, rasa_env = _rasa_command(settings, token, settings.rasa_host, settings.rasa_port)
    specs = [
        ChildSpec("actions", actions_cmd, {**env, **actions_env}),
        ChildSpec("rasa", rasa_cmd, {**env, **rasa_env}),
        ChildSpec("gateway", _gateway_command(settings), env),
    ]
    supervisor = Supervisor(specs, ready_url=f"http://127.0.0.1:{settings.port}/healthz")
    return asyncio.run(supervisor.run())


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """One component in the foreground (production mode: one per container or unit, several
    replicas of each). The process becomes the component, so signals reach it directly."""
    import os

    if args.component == "gateway":
        cmd, extra = _gateway_command(settings, args.host, args.port or settings.port), dict[str, str]()
    elif args.component == "actions":
        cmd, extra = _actions_command(settings, args.host or "127.0.0.1", args.port or settings.action_server_port)
    else:
        if not settings.rasa_token:
            print("RASA_TOKEN is required: the gateways use it to call Rasa's API (model promotion, trackers).",
                  file=sys.stderr)
            return 2
        cmd, extra = _rasa_command(settings, settings.rasa_token, args.host or "127.0.0.1",
                                   args.port or settings.rasa_port)
    sys.stdout.flush()
    os.execve(cmd[0], cmd, {**os.environ, **extra})
    return 0  # not reached


def cmd_demo_seed(args: argparse.Namespace, settings: Settings) -> int:
    from motcua.demo import seed

    counts = asyncio.run(seed(settings))
    print("Demo data in place: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0


def cmd_nlu_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from motcua import nlu_eval
    from motcua.training import ensure_model

    model = Path(args.model) if args.model else ensure_model(settings.models_dir)
    paths = nlu_eval.default_test_paths(args.file)
    examples = nlu_eval.load_examples(paths)
    print(f"Evaluating {model.name} on {len(examples)} held-out examples…", flush=True)
    predictions = asyncio.run(nlu_eval.predict(examples, nlu_eval.agent_parser(model)))
    report = nlu_eval.score(predictions)
    print(nlu_eval.format_report(report))
    if args.sweep:
        print("\nFallback threshold sweep (held-out):")
        print(f"{'threshold':>9} {'accuracy':>9} {'in-scope acc':>13} {'fallback (in)':>14} {'oos handled':>12}")
        for row in nlu_eval.threshold_sweep(predictions, [x / 20 for x in range(0, 13)]):
            print(f"{row['threshold']:>9.2f} {row['accuracy']:>9.3f} {row['in_scope_accuracy']:>13.3f}"
                  f" {row['fallback_rate_in_scope']:>14.3f} {row['out_of_scope_handled']:>12.3f}")
    if not args.no_rasa_reports:
        out = Path(args.report_dir)
        for path in paths:
            nlu_eval.write_rasa_reports(model, path, out)
        print(f"\nRasa's report files: {out}/")
    return 0


def _print_reported(kinds: dict[str, list[str]], show: int) -> None:
    """An import's reported lines, at most `show` of each kind, and how many were left out."""
    for prefix, lines in kinds.items():
        for line in lines[:show]:
            print(prefix + line)
    hidden = sum(max(0, len(lines) - show) for lines in kinds.values())
    if hidden:
        print(f"… và {hidden} dòng báo khác (--show để xem thêm)")


def cmd_cases_import(args: argparse.Namespace, settings: Settings) -> int:
    import time
    from pathlib import Path

    from tqdm import tqdm

    from motcua.cases_import import count_lines, import_csv
    from motcua.catalogue import load_catalogue

    path = Path(args.file)
    if not path.is_file():
        print(f"Không tìm thấy tệp {path}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with tqdm(total=count_lines(path), unit=" dòng", desc="Nhập hồ sơ", disable=args.quiet) as bar:
        try:
            report = asyncio.run(import_csv(path, settings.case_database_url,
                                            set(load_catalogue().procedures), progress=bar.update))
        except ValueError as exc:
            print(f"Không nhập được: {exc}", file=sys.stderr)
            return 2
    elapsed = time.monotonic() - t0
    _print_reported({"LỖI  ": report.errors, "CHÚ Ý ": report.warnings}, args.show)
    print(f"{report.summary()} trong {elapsed:.1f} s ({report.rows / max(elapsed, 1e-9) * 60:,.0f} dòng/phút)")
    return 1 if report.errors else 0


def cmd_catalogue_import(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from motcua.catalogue import Catalogue, default_dir
    from motcua.catalogue_import import MalformedFile, count_records, import_file

    path, directory = Path(args.file), Path(args.catalogue or default_dir())
    if not path.is_file():
        print(f"Không tìm thấy tệp {path}", file=sys.stderr)
        return 2
    curated = {p.code: p.id for p in Catalogue.load(directory).curated() if p.code}
    try:
        with tqdm(total=count_records(path), unit=" bản ghi", desc="Nhập danh mục thủ tục", disable=args.quiet) as bar:
            report = import_file(path, directory / "national", curated, progress=bar.update)
    except (MalformedFile, UnicodeDecodeError) as exc:
        print(f"Tệp không đúng định dạng JSON lines, danh mục giữ nguyên: {exc}", file=sys.stderr)
        return 2
    _print_reported({"TỪ CHỐI ": report.rejected, "CHÚ Ý   ": report.warnings}, args.show)
    if args.verbose:
        for code, pid in sorted(report.linked.items()):
            print(f"GẮN     {code} → mục biên soạn sẵn {pid} (không ghi đè)")
    print(report.summary())
    print("Danh mục đã cập nhật; khởi động lại action server để áp dụng." if report.changed
          else "Không có gì thay đổi.")
    return 0


def cmd_catalogue_training_data(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from motcua import catalogue_nlu
    from motcua.catalogue import Catalogue

    out = Path(args.out) if args.out else catalogue_nlu.OUT
    n = catalogue_nlu.write(Catalogue.load(Path(args.catalogue) if args.catalogue else None), out)
    print(f"{n} câu hỏi mẫu đã ghi vào {out}; chạy `motcua train` để mô hình học chúng.")
    return 0


def cmd_complaints_list(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from motcua.catalogue import load_catalogue
    from motcua.store import Database
    from motcua.store.cases import as_utc
    from motcua.store.complaints import is_late, list_complaints, route

    async def fetch():
        db = Database(settings.database_url)
        try:
            await db.migrate()
            async with db.session() as session:
                return await list_complaints(session, args.status)
        finally:
            await db.dispose()

    locality = load_catalogue().locality
    rows = []
    for c in asyncio.run(fetch()):
        r = route(locality, c.category)
        rows.append({"ticket_id": c.ticket, "status": c.status, "category": c.category, "category_name": r.category_name,
                     "agency": c.agency, "agency_name": locality.agency_name(c.agency),
                     "deadline": as_utc(c.deadline_at).isoformat(), "created_at": as_utc(c.created_at).isoformat(),
                     "overdue": is_late(c), "escalated_to": c.escalated_to})
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print(f"{'mã phản ánh':<16} {'trạng thái':<12} {'lĩnh vực':<22} {'cơ quan':<16} {'hạn xử lý':<10}")
        for row in rows:
            print(f"{row['ticket_id']:<16} {row['status']:<12} {row['category']:<22} {row['agency']:<16} "
                  f"{row['deadline'][:10]:<10}{'  QUÁ HẠN' if row['overdue'] else ''}")
        print(f"{len(rows)} phản ánh")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motcua", description="Một Cửa Bot")
    verbs = parser.add_subparsers(dest="verb", required=True)

    run = verbs.add_parser("run", help="start Rasa, the action server and the gateway (trains first if needed)")
    run.set_defaults(func=cmd_run)

    serve = verbs.add_parser("serve", help="run one component in the foreground (production mode, several replicas)")
    serve.add_argument("component", choices=["gateway", "rasa", "actions"])
    serve.add_argument("--host", help="interface to listen on (default: loopback for rasa and actions, every interface for the "
                            "gateway; 0.0.0.0 in containers)")
    serve.add_argument("--port", type=int, help="port (default: PORT, RASA_URL's or ACTION_ENDPOINT_URL's port)")
    serve.set_defaults(func=cmd_serve)

    train = verbs.add_parser("train", help="train the Rasa model into models/")
    train.add_argument("--force", action="store_true", help="train even if a model for this data exists")
    train.add_argument("--candidate", action="store_true",
                       help="as the admin page does: train, evaluate next to the model Rasa serves (RASA_URL, "
                            "RASA_TOKEN), promote it if it is not worse, record it in the model history")
    train.add_argument("--publish", action="store_true",
                       help="also keep the model in the store (DATABASE_URL) and publish it to the Rasa replicas that "
                            "pull from the gateways (MODEL_SERVER_URL), unless a model for the same data is published")
    train.set_defaults(func=cmd_train)

    nlu = verbs.add_parser("nlu", help="NLU tools")
    nlu_verbs = nlu.add_subparsers(dest="nlu_verb", required=True)
    evaluate = nlu_verbs.add_parser("evaluate", help="intent/entity report on held-out data (default nlu/data/test/)")
    evaluate.add_argument("file", nargs="?", help="a test file or folder (default: nlu/data/test/)")
    evaluate.add_argument("--model", help="model file (default: the model for the current data, trained if missing)")
    evaluate.add_argument("--report-dir", default=str(PROJECT_ROOT / "results" / "nlu"),
                          help="where Rasa's report files go (default: results/nlu)")
    evaluate.add_argument("--no-rasa-reports", action="store_true", help="print the figures only")
    evaluate.add_argument("--sweep", action="store_true", help="also print a fallback-threshold sweep")
    evaluate.set_defaults(func=cmd_nlu_evaluate)

    cases = verbs.add_parser("cases", help="the case (dossier) database")
    case_verbs = cases.add_subparsers(dest="cases_verb", required=True)
    imp = case_verbs.add_parser("import", help="upsert dossiers from a CSV export (bad rows reported by line)")
    imp.add_argument("file")
    imp.add_argument("--show", type=int, default=50, help="how many error/warning lines to print (default 50)")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_cases_import)

    catalogue = verbs.add_parser("catalogue", help="the procedure catalogue")
    catalogue_verbs = catalogue.add_subparsers(dest="catalogue_verb", required=True)
    cimp = catalogue_verbs.add_parser("import", help="create or update entries from national-database records (JSON lines)")
    cimp.add_argument("file")
    cimp.add_argument("--catalogue", help="catalogue folder (default: MOTCUA_CATALOGUE_DIR or catalogue/)")
    cimp.add_argument("--show", type=int, default=40, help="how many rejected/warning lines to print (default 40)")
    cimp.add_argument("--verbose", action="store_true", help="also list the records linked to hand-written entries")
    cimp.add_argument("--quiet", action="store_true", help="no progress bar")
    cimp.set_defaults(func=cmd_catalogue_import)
    ctd = catalogue_verbs.add_parser("training-data", help="write NLU training questions generated from the catalogue")
    ctd.add_argument("--catalogue", help="catalogue folder (default: MOTCUA_CATALOGUE_DIR or catalogue/)")
    ctd.add_argument("--out", help="output file (default: nlu/data/nlu/catalogue_generated.yml)")
    ctd.set_defaults(func=cmd_catalogue_training_data)

    complaints = verbs.add_parser("complaints", help="feedback and complaints")
    complaint_verbs = complaints.add_subparsers(dest="complaints_verb", required=True)
    lst = complaint_verbs.add_parser("list", help="complaints with ticket id, status, category, agency, deadline")
    lst.add_argument("--format", choices=["table", "json"], default="table")
    lst.add_argument("--status", help="only this status (new, in_progress, resolved, reopened)")
    lst.set_defaults(func=cmd_complaints_list)

    demo = verbs.add_parser("demo", help="demo data")
    demo_verbs = demo.add_subparsers(dest="demo_verb", required=True)
    demo_verbs.add_parser("seed", help="fill the embedded databases with demo data").set_defaults(func=cmd_demo_seed)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
