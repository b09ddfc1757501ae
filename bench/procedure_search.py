"""Procedure search on real-style questions: how often the right procedure is found, and how fast.

    .venv/bin/python bench/procedure_search.py

Two resolution sets: tests/data/procedure_questions.yml (written first; the search was tuned while
looking at its results, so its figures are optimistic) and tests/data/procedure_questions_heldout.yml
(written afterwards by someone who saw neither the code nor the first set: the honest figure).
"""
import time

from motcua import PROJECT_ROOT, search_eval
from motcua.catalogue import load_catalogue
from motcua.procedure_search import load_search

SETS = {"tuning set (procedure_questions.yml)": PROJECT_ROOT / "tests" / "data" / "procedure_questions.yml",
        "held-out set (procedure_questions_heldout.yml)": PROJECT_ROOT / "tests" / "data" / "procedure_questions_heldout.yml"}


def main() -> None:
    t0 = time.perf_counter()
    catalogue = load_catalogue()
    t1 = time.perf_counter()
    search = load_search()
    t2 = time.perf_counter()
    print(f"Catalogue: {len(catalogue.procedures)} procedures answerable, {len(catalogue.index)} names indexed; "
          f"load {1000 * (t1 - t0):.0f} ms, search index build {1000 * (t2 - t1):.0f} ms")
    for name, path in SETS.items():
        print(search_eval.format_report(name, search_eval.evaluate(search, search_eval.load(path))))
    print("Outcomes: " + "; ".join(f"{k} = {v}" for k, v in search_eval.OUTCOMES.items()))


if __name__ == "__main__":
    main()
