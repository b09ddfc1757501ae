"""Issue 14 through the web chat, the real gateway, Rasa and the action server: procedures imported
from the national database are answered, those done elsewhere routed, unknown ones answered honestly."""
import pytest
import yaml

from motcua import PROJECT_ROOT
from motcua.catalogue import ASPECT_TITLES, load_catalogue
from nlu.text import strip_diacritics

from tests.support.chat import say

catalogue = load_catalogue()
QUESTIONS = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "catalogue_chat.yml").read_text(encoding="utf-8"))
# What a procedure question must never get.
WRONG_TURNS = ("phản ánh", "mã hồ sơ", "Tạm biệt", "chưa hiểu", "chuyển cho cán bộ")


def test_the_sample_covers_thirty_imported_procedures_across_fields():
    procedures = [catalogue.get(q["code"]) for q in QUESTIONS]
    assert all(p is not None and p.national for p in procedures)
    assert len({p.id for p in procedures}) >= 30 and len({p.sector for p in procedures}) >= 12


@pytest.mark.parametrize("plain", [False, True], ids=["diacritics", "no-diacritics"])
@pytest.mark.parametrize("question", QUESTIONS, ids=[q["code"] for q in QUESTIONS])
async def test_an_imported_procedure_gets_the_aspect_asked(gateway, question, plain):
    p = catalogue.get(question["code"])
    text = strip_diacritics(question["text"]) if plain else question["text"]
    (reply,) = await say(gateway, text, f"cat-{question['code']}-{plain}")
    assert reply["text"].startswith(f"{ASPECT_TITLES[question['aspect']]} – {p.name}:"), (text, reply["text"])
    assert p.url in reply["text"] and len(reply["text"]) <= 4096
    assert not any(w in reply["text"] for w in WRONG_TURNS)


async def test_follow_ups_keep_the_procedure_in_any_wording(gateway):
    p = catalogue.get("1.000593")
    (first,) = await say(gateway, "đăng ký kết hôn lưu động cần giấy tờ gì", "follow-national")
    assert first["text"].startswith(f"Giấy tờ cần có – {p.name}")
    for text, aspect in [("còn thời gian thì sao", "duration"), ("lệ phí?", "fee"), ("nộp ở đâu", "place"),
                         ("làm online được không", "online"), ("mat bao lau", "duration"),
                         ("còn các bước thì sao ạ", "steps")]:
        (reply,) = await say(gateway, text, "follow-national")
        assert reply["text"].startswith(f"{ASPECT_TITLES[aspect]} – {p.name}"), (text, reply["text"])


async def test_the_red_book_fee_follow_up(gateway):
    """"làm sổ đỏ hết bao nhiêu tiền" then "còn thời gian thì sao" (the issue's own example)."""
    p = catalogue.get("cap_so_do")
    (fee,) = await say(gateway, "làm sổ đỏ hết bao nhiêu tiền", "so-do")
    assert fee["text"].startswith(f"Lệ phí – {p.name}")
    (days,) = await say(gateway, "còn thời gian thì sao", "so-do")
    assert days["text"].startswith(f"Thời gian giải quyết – {p.name}")


@pytest.mark.parametrize("text", ["đổi giấy phép lái xe ở đâu", "doi giay phep lai xe o dau"])
async def test_a_procedure_done_elsewhere_is_routed_honestly(gateway, text):
    entry = next(e for e in catalogue.index.values() if e.name == "Đổi giấy phép lái xe" and not e.at_commune)
    (reply,) = await say(gateway, text, f"elsewhere-{text.isascii()}")
    assert "không giải quyết tại bộ phận một cửa của xã" in reply["text"]
    assert entry.url in reply["text"] and catalogue.locality.hotline in reply["text"]
    assert not any(w in reply["text"] for w in WRONG_TURNS)


@pytest.mark.parametrize("text", ["xin giấy phép mở phòng khám tư nhân thế nào",
                                  "thu tuc chuyen truong cho con len cap 2"])
async def test_a_procedure_in_no_list_gets_the_portal_the_hotline_and_a_person(gateway, text):
    (reply,) = await say(gateway, text, f"unknown-{len(text)}")
    assert "chưa tìm thấy thủ tục này" in reply["text"]
    assert catalogue.locality.portal["search_url"] in reply["text"] and catalogue.locality.hotline in reply["text"]
    assert [b["title"] for b in reply["buttons"]] == ["Gặp cán bộ"]


async def test_variants_are_offered_and_a_variant_button_answers_it(gateway):
    (card,) = await say(gateway, "thủ tục đăng ký khai tử", "variants")
    assert card["text"].startswith(f"Thủ tục: {catalogue.get('khai_tu').name}")
    others = {b["title"]: b["payload"] for b in card["buttons"] if b["title"].startswith("Trường hợp khác: ")}
    assert "Trường hợp khác: Đăng ký khai tử lưu động" in others
    (mobile,) = await say(gateway, others["Trường hợp khác: Đăng ký khai tử lưu động"], "variants")
    assert mobile["text"].startswith("Thủ tục: Đăng ký khai tử lưu động")


async def test_an_ambiguous_question_asks_with_buttons_that_answer(gateway):
    (ask,) = await say(gateway, "chứng thực chữ ký người dịch cần giấy tờ gì", "ambiguous")
    assert ask["text"] == "Anh/chị muốn hỏi về thủ tục nào dưới đây?"
    titles = [b["title"] for b in ask["buttons"]]
    assert 2 <= len(titles) <= 5 and all(t.startswith("Chứng thực chữ ký") for t in titles)
    assert sum(t.startswith("Chứng thực chữ ký người dịch") for t in titles) == 2
    (answer,) = await say(gateway, ask["buttons"][0]["payload"], "ambiguous")
    assert answer["text"].startswith("Giấy tờ cần có – Chứng thực chữ ký người dịch")
