"""Answers about administrative procedures, from the catalogue (`catalogue/`)."""
from __future__ import annotations

import json
from typing import Any, Optional, Sequence

from rapidfuzz import fuzz
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.ratings import helpful_buttons
from motcua.catalogue import (
    ASPECT_TITLES,
    ASPECTS,
    TOPICS,
    Catalogue,
    IndexEntry,
    Locality,
    Procedure,
    load_catalogue,
    short_name,
    shorten,
)
from motcua.procedure_search import Resolution, Target, load_search
from nlu.text import fold

TELEGRAM_LIMIT = 4096
# A typed name this close to a known wording is taken as that procedure.
SURE_MATCH = 88
# A misspelt name is this similar to the name as a whole (rapidfuzz ratio).
TYPO_SIMILARITY = 80
# Asked at the end of an aspect answer, with the Có / Không buttons of actions.ratings.helpful_buttons.
HELPFUL_QUESTION = "\n\nThông tin có hữu ích không?"


def _fill(text: str, locality: Locality) -> str:
    return str(text or "").replace("{hotline}", locality.hotline or "đường dây nóng của bộ phận một cửa").strip()


def _fit(text: str, limit: int = TELEGRAM_LIMIT) -> str:
    """Replies stay within one Telegram message; cut at a line end if ever needed."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 2].rsplit("\n", 1)[0]
    return cut + "\n…"


def _date(value: Any) -> str:
    try:
        return value.strftime("%d/%m/%Y")
    except AttributeError:
        return str(value)


def _confirm(p: Procedure, certainty: Optional[str], loc: Locality) -> str:
    if certainty in ("common", "varies"):
        note = p.confirm_note or "Anh/chị vui lòng xác nhận lại qua đường dây nóng {hotline} trước khi đi nộp."
        return "\n" + _fill(note, loc)
    return ""


def payload(intent: str, **entities: Optional[str]) -> str:
    """A button payload that Rasa reads as an intent with entities (those without a value left out)."""
    return f"/{intent}{json.dumps({k: v for k, v in entities.items() if v}, ensure_ascii=False)}"


def aspect_buttons(p: Procedure, skip: Optional[str] = None) -> list[dict[str, str]]:
    return [{"title": ASPECT_TITLES[a], "payload": payload("ask_procedure", procedure=p.id, aspect=a)}
            for a in ASPECTS if a != skip]


def _source(p: Procedure) -> str:
    """Imported entries quote the national database: say so and link the full official page."""
    return f"\nChi tiết đầy đủ: {p.url}" if p.national and p.url else ""


def _province_note(p: Procedure, loc: Locality) -> str:
    if p.national and "Hội đồng nhân dân" in p.fee.get("text", ""):
        return "\n" + _fill("Mức thu cụ thể theo quy định của tỉnh; anh/chị xác nhận lại qua đường dây nóng {hotline}.", loc)
    return ""


def render_aspect(p: Procedure, aspect: str, loc: Locality) -> str:
    head = f"{ASPECT_TITLES[aspect]} – {p.name}:\n"
    if aspect == "documents":
        body = "\n".join(f"{i}. {_fill(d, loc)}" for i, d in enumerate(p.documents, 1))
    elif aspect == "fee":
        body = _fill(p.fee.get("text", ""), loc)
        if p.fee.get("basis"):
            body += f"\nCăn cứ: {p.fee['basis']}."
        body += _confirm(p, p.fee.get("certainty"), loc) + _province_note(p, loc)
    elif aspect == "duration":
        body = _fill(p.duration.get("text", ""), loc) + _confirm(p, p.duration.get("certainty"), loc)
    elif aspect == "place":
        body = f"{_fill(p.place, loc)}\nCơ quan giải quyết: {_fill(p.handled_by.get('office', ''), loc)}."
    elif aspect == "steps" and p.national:
        body = "\n".join(f"• {s}" for s in p.steps)  # official text: its own numbering is kept
    elif aspect == "steps":
        body = "\n".join(f"Bước {i}: {_fill(s, loc)}" for i, s in enumerate(p.steps, 1))
    else:  # online
        if p.online.get("available"):
            body = f"Có. Anh/chị có thể nộp trực tuyến tại {_fill(p.online.get('where', ''), loc)}."
        else:
            body = f"Thủ tục này hiện chưa nộp trực tuyến được. Anh/chị nộp trực tiếp tại: {_fill(p.place, loc)}."
        if p.online.get("note"):
            body += "\n" + _fill(p.online["note"], loc)
    source = _source(p)
    return _fit(head + body, TELEGRAM_LIMIT - len(source)) + source


def render_card(p: Procedure, loc: Locality) -> str:
    online = "có thể nộp trực tuyến" if p.online.get("available") else "nộp trực tiếp"
    lines = [
        f"Thủ tục: {p.name}",
        _fill(p.summary, loc),
        f"• Nơi giải quyết: {_fill(p.handled_by.get('office', ''), loc)}",
        f"• Thời gian: {_fill(p.duration.get('text', ''), loc)}",
        f"• Lệ phí: {shorten(_fill(p.fee.get('text', ''), loc).splitlines()[0], 140)}",
        f"• Hình thức: {online}",
        (f"(Theo Cơ sở dữ liệu quốc gia về thủ tục hành chính: {p.url}) Anh/chị muốn xem thêm phần nào?" if p.national
         else f"(Thông tin cập nhật ngày {_date(p.last_checked)}.) Anh/chị muốn xem thêm phần nào?"),
    ]
    return _fit("\n".join(line for line in lines if line.strip()))


def _entity_values(tracker: Tracker, entity: str) -> list[str]:
    return [str(e.get("value")) for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity]


LEVEL_NAMES = {"bo": "cấp bộ (trung ương)", "tinh": "cấp tỉnh", "xa": "cấp xã", "khac": "cơ quan khác"}
# Variants or related procedures offered under an answer, at most.
MAX_OTHER_BUTTONS = 4


def option_buttons(options: Sequence[Target], aspect: Optional[str], prefix: str = "") -> list[dict[str, str]]:
    """One button a procedure; a hand-written entry by its id, any other by its national code."""
    return [{"title": prefix + shorten(o.name, 60),
             "payload": payload("ask_procedure", procedure=o.id if isinstance(o, Procedure) else o.code, aspect=aspect)}
            for o in options]


def near_spellings(catalogue: Catalogue, query: str) -> list[tuple[Procedure, float]]:
    """Hand-written names the question's content words misspell ("dang ki khai sinhh"): close as a
    whole, not merely contained in a longer question (which the search judges)."""
    if len(query.split()) < 2:
        return []
    return [(p, score) for p, score in catalogue.closest(query) if score >= SURE_MATCH
            and max(fuzz.ratio(query, fold(w)) for w in [p.name, *p.aliases]) >= TYPO_SIMILARITY]


def render_elsewhere(entry: IndexEntry, loc: Locality) -> str:
    """A procedure of the national list that this commune's office does not handle (or has not imported)."""
    levels = ", ".join(LEVEL_NAMES[lv] for lv in entry.levels if lv in LEVEL_NAMES)
    if entry.at_commune:
        lead = f"Thủ tục “{entry.name}” ({entry.sector}) có trong danh mục thủ tục quốc gia nhưng tôi chưa có hướng dẫn chi tiết."
    else:
        lead = f"Thủ tục “{entry.name}” không giải quyết tại bộ phận một cửa của xã: thủ tục này thực hiện ở {levels}."
    lines = [lead]
    if entry.agency:
        lines.append(f"Cơ quan thực hiện: {shorten(entry.agency, 200)}.")
    if entry.url:
        lines.append(f"Hướng dẫn đầy đủ và nộp hồ sơ trực tuyến: {entry.url}")
    lines.append(_fill("Cần hỗ trợ thêm, anh/chị gọi đường dây nóng {hotline}.", loc))
    return _fit("\n".join(lines))


def not_found(dispatcher: CollectingDispatcher, loc: Locality) -> None:
    """In no list this bot has: the locality's portal (when it has one), the hotline and a person."""
    portal = loc.portal or {}
    hotline = loc.hotline or "của bộ phận một cửa"
    if portal.get("search_url"):
        dispatcher.utter_message(response="utter_procedure_not_found_portal", hotline=hotline,
                                 portal_name=portal.get("name") or "Cổng Dịch vụ công quốc gia",
                                 portal_url=portal["search_url"])
    else:
        dispatcher.utter_message(response="utter_procedure_not_found", hotline=hotline)


class ActionAnswerProcedure(Action):
    """A procedure question: the citizen's words → the catalogue's search index → an answer.

    One aspect when asked for, else a short card; variants not named are asked about; a procedure
    done elsewhere is routed honestly; one in no list gets the portal, the hotline and a person."""

    def name(self) -> str:
        return "action_answer_procedure"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        text = tracker.latest_message.get("text") or ""
        return self.answer(dispatcher, tracker, load_search().resolve(text) if not text.startswith("/")
                           else Resolution("none"))

    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, found: Resolution) -> list:
        """The answer to the message, given what the search found in it (the actions that asked the
        search already — catalogue_find — pass theirs on)."""
        catalogue = load_catalogue()
        loc = catalogue.locality
        aspect = next((a for a in _entity_values(tracker, "aspect") if a in ASPECTS), None)
        named = next(filter(None, map(catalogue.resolve, _entity_values(tracker, "procedure"))), None)
        # A button press names its procedure by id or national code (possibly one done elsewhere).
        pressed = [v for v in _entity_values(tracker, "procedure") if v in catalogue.index]
        typed = not (tracker.latest_message.get("text") or "").startswith("/")
        guesses = near_spellings(catalogue, found.query) if typed else []
        procedure: Optional[Procedure] = None
        others: Sequence[Target] = []
        if found.kind == "procedure":
            procedure, others = found.procedure, found.options
        elif named and (found.kind not in ("variants", "choices") or named in found.options):
            procedure = named   # the NLU knows this wording (a misspelling the index does not)
        elif found.kind == "none" and guesses and (len(guesses) == 1 or guesses[0][1] - guesses[1][1] >= 5):
            procedure = guesses[0][0]   # a typo of a hand-written entry's name ("khai sinhh")
        elif guesses or found.kind in ("variants", "choices"):
            # Near spellings first, then the search's choices, then the procedure the NLU recognised.
            options: list[Target] = [p for p, _ in guesses]
            options += [o for o in [*found.options, *([named] if named else [])] if o not in options]
            options = options[:MAX_OTHER_BUTTONS + 1]
            question = ("utter_procedure_which_variant" if found.kind == "variants" and not guesses
                        else "utter_procedure_did_you_mean" if len(options) == 1 else "utter_procedure_which_one")
            dispatcher.utter_message(response=question, buttons=option_buttons(options, aspect))
            return []
        elif found.kind == "elsewhere" or (pressed and not catalogue.get(pressed[0])):
            entry = found.entry or catalogue.index[pressed[0]]
            dispatcher.utter_message(text=render_elsewhere(entry, loc))
            return [SlotSet("procedure", entry.code)]
        elif aspect and tracker.get_slot("procedure"):
            # A follow-up such as "còn lệ phí thì sao?" is about the procedure just discussed.
            procedure = catalogue.get(tracker.get_slot("procedure"))
            if procedure is None and tracker.get_slot("procedure") in catalogue.index:
                dispatcher.utter_message(text=render_elsewhere(catalogue.index[tracker.get_slot("procedure")], loc))
                return []

        if procedure is None:
            topic = next((t for t in _entity_values(tracker, "topic") if t in TOPICS), None)
            if topic:
                self._list_topic(dispatcher, catalogue, topic, aspect)
            elif typed and found.query:
                not_found(dispatcher, loc)
            else:
                dispatcher.utter_message(
                    response="utter_procedure_which_topic",
                    buttons=[{"title": title, "payload": payload("ask_procedure", topic=t)}
                             for t, title in TOPICS.items() if t in catalogue.by_topic()],
                )
            return []

        events = [SlotSet("procedure", procedure.id)]
        more = option_buttons(others[:MAX_OTHER_BUTTONS], aspect, prefix="Trường hợp khác: ")
        if aspect:
            text, buttons = render_aspect(procedure, aspect, loc), aspect_buttons(procedure, skip=aspect) + more
            asked = list(tracker.get_slot("rating_asked") or [])
            if procedure.id not in asked:
                # Once per procedure per conversation, inside the answer itself (never a turn of its own).
                text = _fit(text, TELEGRAM_LIMIT - len(HELPFUL_QUESTION)) + HELPFUL_QUESTION
                buttons += helpful_buttons(procedure.id)
                events.append(SlotSet("rating_asked", asked + [procedure.id]))
            dispatcher.utter_message(text=text, buttons=buttons)
        else:
            dispatcher.utter_message(text=render_card(procedure, loc), buttons=aspect_buttons(procedure) + more)
        return events

    @staticmethod
    def _list_topic(dispatcher: CollectingDispatcher, catalogue: Catalogue, topic: str, aspect: Optional[str]) -> None:
        dispatcher.utter_message(
            response="utter_procedure_topic_list", topic=TOPICS[topic],
            buttons=[{"title": p.name, "payload": payload("ask_procedure", procedure=p.id, aspect=aspect)}
                     for p in catalogue.by_topic()[topic]],
        )


# Choices whose names all say the same this many words in a row are kinds of one procedure
# ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "Gia hạn giấy phép xây dựng …").
SAME_FAMILY_WORDS = 3
# Against a model sure of another intent, the search must have explained this much of the message
# and said this much of a name (Candidate's measures): short chat ("ban an com chua" → "bản án"),
# ads ("bán đất nền giá rẻ") and generic words ("hỗ trợ", "thông báo") fall under one or the
# other; "xin tro cap nguoi cao tuoi", "làm hộ chiếu ở đâu", "đổi tên trên sổ đỏ" do not
# (measured on the training and held-out examples, bench/questions_end_to_end.py).
SURE_EXPLAINED = 0.75
SURE_SAID = 7.0


def catalogue_find(tracker: Tracker, model_unsure: bool = False) -> Optional[Resolution]:
    """What the catalogue's search finds in the citizen's typed message, whatever intent the model
    gave it; None when it finds no procedure (`found_key` names the one it found).

    When the model was unsure (a fallback, an answer to no question), anything the search would
    answer counts, "which of these?" included. When it was sure of another intent (out of scope,
    the office's address), the search must be sure of one procedure (or of one's variants, or of
    kinds of one procedure) and clearly so (SURE_EXPLAINED, SURE_SAID): several unrelated
    candidates are what a common word drags in ("đăng ký tài khoản Facebook")."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        return None
    found = load_search().resolve(text)
    if found.kind == "none" or not (found.procedure or found.entry or found.options):
        return None
    if not model_unsure:
        if found.explained < SURE_EXPLAINED or found.said < SURE_SAID:
            return None
        if found.kind == "choices" and not set.intersection(*(_runs(o.name) for o in found.options)):
            return None
    return found


def found_key(found: Resolution) -> str:
    """The procedure a find is about (the first choice when it asks): its id, or national code."""
    target = found.procedure or found.entry or found.options[0]
    return target.id if isinstance(target, Procedure) else target.code


def _runs(name: str, n: int = SAME_FAMILY_WORDS) -> set[tuple[str, ...]]:
    words = fold(short_name(name)).split()
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class ActionOfficeInfo(Action):
    """Hours, address and hotline of the one-stop office (and of a commune, when named). "Where do
    I get a passport" is about the passport, though: a message naming a procedure the catalogue's
    search finds is answered as a procedure question (its place, or where it is done instead)."""

    def name(self) -> str:
        return "action_office_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        if found := catalogue_find(tracker):
            return ActionAnswerProcedure().answer(dispatcher, tracker, found)
        loc = load_catalogue().locality
        office = loc.office
        lines = [office.get("name", "Bộ phận một cửa")]
        if office.get("address"):
            lines.append(f"Địa chỉ: {office['address']}")
        if office.get("hours"):
            lines.append("Giờ làm việc:")
            lines += [f"• {h}" for h in office["hours"]]
        if loc.hotline:
            lines.append(f"Đường dây nóng: {loc.hotline}")
        if office.get("website"):
            lines.append(f"Trang thông tin: {office['website']}")
        asked = f" {fold(tracker.latest_message.get('text') or '')} "
        for commune in loc.communes:
            short = fold(str(commune.get("name", ""))).removeprefix("xa ").strip()
            if short and f" {short} " in asked:
                lines.append(f"{commune['name']}: {commune.get('office_address', '')}"
                             + (f", điện thoại {commune['phone']}" if commune.get("phone") else ""))
        if loc.demo:
            lines.append("(Đây là dữ liệu mẫu của bản trình diễn.)")
        dispatcher.utter_message(text=_fit("\n".join(lines)))
        return []


# The search index is built when the action server starts (about a second), not on the first question.
load_search()
