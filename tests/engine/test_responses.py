"""The bot's words live in the domain (domain.yml and responses/*.yml): every response an action
names exists there, its placeholders are filled, and actions write no sentence of their own except
the data views listed below."""
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import dossiers, ratings
from actions.procedures import not_found
from motcua import PROJECT_ROOT
from motcua.catalogue import load_catalogue

ACTIONS = sorted((PROJECT_ROOT / "actions").glob("*.py"))
# Replies built from data rather than worded: a procedure's card, aspect or routing, a dossier, the
# office's details, and the complaint and appointment summaries (the citizen's own text, which
# Rasa's interpolation would alter where it contains "0[").
DATA_VIEWS = {"text=render_dossier(dossier)", "text=render_elsewhere(", "text=text, buttons=buttons)",
              "text=render_card(procedure, loc)", 'text=_fit("\\n".join(lines)))',
              'text="\\n".join(lines) + "\\nGửi phản ánh này?"', 'text="\\n".join(lines), buttons=CONFIRM'}


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_response_an_action_names_is_in_the_domain(merged_domain):
    named = {n for p in ACTIONS for n in re.findall(r'"(utter_[a-z0-9_]+)"', _source(p))}
    assert named and not named - set(merged_domain.responses), named - set(merged_domain.responses)
    # Names built at run time: every value they are built with.
    built = {f"utter_rating_{kind}_{ratings._worded(subject, ref)}"
             for kind in ("question", "thanks", "sorry") for subject in ("service", "complaint", "dossier")
             for ref in ("", "PA-2026-000001")}
    assert not built - set(merged_domain.responses), built - set(merged_domain.responses)


def test_actions_word_nothing_but_data_views():
    calls = [m.group(1) for p in ACTIONS for m in re.finditer(r"utter_message\(\s*(text=[^\n]*)", _source(p))]
    assert [c for c in calls if not any(c.startswith(v) for v in DATA_VIEWS)] == []


@pytest.mark.parametrize("outcome", ["locked", "client_locked", "code_locked"])
@pytest.mark.parametrize("subject", ["dossier", "complaint", "booking"])
def test_lock_replies_are_filled(subject, outcome, rendered):
    d = CollectingDispatcher()
    dossiers.utter(d, dossiers.lock_reply((outcome, datetime(2026, 12, 7, 3, 30, tzinfo=timezone.utc)), subject))
    [text] = rendered(d)
    assert "10:30 ngày 07/12/2026" in text and "{" not in text
    if outcome == "code_locked":
        assert text.startswith({"complaint": "Mã phản ánh", "booking": "Mã lịch hẹn"}.get(subject, "Mã hồ sơ"))


def test_every_placeholder_of_the_feature_responses_is_a_value_actions_pass_or_a_slot(merged_domain):
    passed = {n for p in ACTIONS for n in re.findall(r"\b([a-z_]+)=", _source(p))}
    passed |= {k for p in ACTIONS for k in re.findall(r'"([a-z_]+)":', _source(p))}
    slots = {s.name for s in merged_domain.slots}
    for name, variants in merged_domain.responses.items():
        for variant in variants:
            for placeholder in re.findall(r"{([^{}\n]+)}", variant.get("text") or ""):
                assert placeholder in passed | slots, f"{name}: {{{placeholder}}}"


def test_the_locality_fills_the_not_found_reply(rendered):
    d = CollectingDispatcher()
    not_found(d, load_catalogue().locality)
    [text] = rendered(d)
    assert "tôi chưa tìm thấy thủ tục này" in text and "{" not in text
    assert d.messages[0]["response"].startswith("utter_procedure_not_found")
