"""Real questions through the trained model and then the action that answers them: what a citizen
gets, before and after the catalogue's search was asked ahead of a refusal (actions/fallback.py).

    .venv/bin/python -m bench.questions_end_to_end [--model PATH]        (from the repository root)

Two held-out sets of questions (written by helpers who saw neither the code nor the data; each
question names the procedure it is about, or none) go through the model:
tests/data/procedure_questions_heldout.yml (long questions, as in a letter) and
tests/data/short_questions_heldout.yml (2-9 words as typed on a phone, mostly about procedures
beyond the common ones, often without diacritics or the word "thủ tục"). A question the model
gives `ask_procedure` is answered by the search (as action_answer_procedure does); one it gives
`out_of_scope`, `nlu_fallback`, `inform` (outside a form), `ask_office_info` or `goodbye` got a
refusal, the office's details or a goodbye before, and now goes to the search when the search
finds a procedure in it (actions.procedures.catalogue_find); any other intent (a form…) is a
misroute either way. The outcomes are search_eval's (right, asked, honest, wrong, missed) plus "refused",
"office" and "misrouted". Then the held-out NLU examples that *are* out of scope
(nlu/data/test/, intent out_of_scope): how many the search would now take for a procedure."""
from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from pathlib import Path

from rasa_sdk import Tracker

from actions.procedures import catalogue_find, found_key
from motcua import PROJECT_ROOT, nlu_eval, search_eval
from motcua.catalogue import short_name
from motcua.procedure_search import load_search
from motcua.settings import Settings
from motcua.training import ensure_model

# Written by helpers who saw neither the code nor the data; each question names its procedure, or none.
HELD_OUT = {"long": PROJECT_ROOT / "tests" / "data" / "procedure_questions_heldout.yml",
            "short": PROJECT_ROOT / "tests" / "data" / "short_questions_heldout.yml"}
# What each of these intents led to before the search was asked ahead of them.
REFUSALS = {"out_of_scope": "refused", "nlu_fallback": "refused", "ask_office_info": "office",
            "goodbye": "misrouted", "inform": "refused"}
# The model unsure: not understood, or an answer to no question (action_nlu_fallback for both).
UNSURE = ("nlu_fallback", "inform")
ORDER = ("right", "asked", "honest", "wrong", "missed", "refused", "office", "misrouted")


def _tracker(text: str) -> Tracker:
    return Tracker("bench", {}, {"text": text, "entities": []}, [], False, None, {}, "action_listen")


def outcomes(intent: str, text: str, code: str | None) -> tuple[str, str]:
    """(before, after) for one question the model gave `intent`."""
    search = load_search()
    if intent == "ask_procedure":
        answered = search_eval.outcome(search, text, code)
        return answered, answered
    if intent in REFUSALS:
        before = REFUSALS[intent]
        if code is None and before == "refused":
            before = "honest"  # a polite refusal is an honest answer to a question in no list
        finds = catalogue_find(_tracker(text), model_unsure=intent in UNSURE)
        return before, (search_eval.outcome(search, text, code) if finds else before)
    return "misrouted", "misrouted"


def table(counts: dict[str, Counter], n: dict[str, int]) -> str:
    lines = ["| section | when | " + " | ".join(ORDER) + " |", "|---|---|" + "---|" * len(ORDER)]
    for key, c in counts.items():
        section, when = key.split("/")
        lines.append(f"| {section} ({n[section]}) | {when} | "
                     + " | ".join(f"{c[o]} ({c[o] / n[section]:.0%})" if c[o] else "·" for o in ORDER) + " |")
    return "\n".join(lines)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="a model archive (default: the one trained for the current data)")
    args = ap.parse_args()
    model = Path(args.model) if args.model else ensure_model(Settings.from_env().models_dir)
    parse = nlu_eval.agent_parser(model)
    print(f"Model {model.name}")
    for name, path in HELD_OUT.items():
        data = search_eval.load(path)
        counts: dict[str, Counter] = {}
        n: dict[str, int] = {}
        intents: Counter = Counter()
        for section in ("commune", "elsewhere", "unknown"):
            questions = data.get(section) or []
            n[section] = len(questions)
            for q in questions:
                intent = ((await parse(q["text"])).get("intent") or {}).get("name") or ""
                intents[intent] += 1
                before, after = outcomes(intent, q["text"], q.get("code"))
                counts.setdefault(f"{section}/before", Counter())[before] += 1
                counts.setdefault(f"{section}/after", Counter())[after] += 1
        print(f"\n{name} questions ({path.relative_to(PROJECT_ROOT)}); the model's intents: "
              + ", ".join(f"{i} {c}" for i, c in intents.most_common()))
        print(table(counts, n))

    examples = nlu_eval.load_examples([nlu_eval.TEST_DIR])
    asked = [e for e in examples if e.intent == "ask_procedure"]
    missed: Counter = Counter()
    answered = named = right = 0
    for e in asked:
        intent = ((await parse(e.text)).get("intent") or {}).get("name") or ""
        if intent not in REFUSALS:
            continue
        missed[intent] += 1
        if found := catalogue_find(_tracker(e.text), model_unsure=intent in UNSURE):
            answered += 1
            expected = {v for k, v in e.entities if k == "procedure"}
            named += bool(expected)
            right += bool(expected) and _same(found_key(found), expected)
    print(f"\nHeld-out NLU procedure questions (nlu/data/test/, {len(asked)}, short): the model gave "
          + ", ".join(f"{i} to {c}" for i, c in missed.items()) + f"; the search now answers {answered} of those "
          f"({right} of the {named} whose procedure is annotated with the right one)")
    out_of_scope = [e for e in examples if e.intent == "out_of_scope"]
    taken = [e.text for e in out_of_scope if catalogue_find(_tracker(e.text))]
    print(f"Held-out out-of-scope examples ({len(out_of_scope)}): the search finds a procedure in {len(taken)}"
          + (": " + "; ".join(f"“{t}”" for t in taken[:12]) if taken else ""))


def _same(found: str, expected: set[str]) -> bool:
    """The procedure found is the one annotated (by id, national code or the same short name)."""
    catalogue = load_search().catalogue
    target = catalogue.get(found) or catalogue.index.get(found)
    names = {short_name(t.name).lower() for t in map(lambda k: catalogue.get(k) or catalogue.index.get(k), expected) if t}
    return found in expected or (target is not None and short_name(target.name).lower() in names)


if __name__ == "__main__":
    asyncio.run(main())
