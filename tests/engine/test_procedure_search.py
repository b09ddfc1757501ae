"""The procedure search (motcua/procedure_search.py): a real index over the whole catalogue."""
import shutil

import pytest

from actions.procedures import render_aspect, render_card
from motcua import PROJECT_ROOT, search_eval
from motcua.catalogue import ASPECTS, Catalogue, load_catalogue
from motcua.procedure_search import ProcedureSearch, load_everyday_words, load_search, load_synonyms

catalogue = load_catalogue()
search = load_search()


@pytest.mark.parametrize("text, code", [
    ("đăng ký kết hôn lưu động", "1.000593"),
    ("dang ky ket hon luu dong", "1.000593"),
    ("xác nhận thông tin hộ tịch", "2.002516"),
    ("đăng ký biện pháp bảo đảm bằng quyền sử dụng đất", "1.011441"),
    ("đăng ký kết hôn với người nước ngoài", "2.000806"),
    ("dang ky lai khai sinh", "1.004884"),
    ("tách hộ khẩu", "1.010038"),
    ("làm lại CCCD bị mất", "1.014064"),
    ("cấp tài khoản định danh điện tử mức độ 2", "3.000228"),   # "02" in the official name
    ("rút bảo hiểm xã hội một lần", "1.001613"),
])
def test_questions_find_their_imported_procedure(text, code):
    found = search.resolve(text)
    assert found.kind == "procedure" and found.procedure.code == code, (found.kind, found.procedure, found.options)


@pytest.mark.parametrize("text, pid", [("làm sổ đỏ hết bao nhiêu tiền", "cap_so_do"), ("sổ hồng", "cap_so_do"),
                                       ("dang ky khai sinh", "khai_sinh"), ("xin cấp phiếu lý lịch tư pháp", "ly_lich_tu_phap")])
def test_hand_written_entries_answer_their_national_codes(text, pid):
    found = search.resolve(text)
    assert found.kind == "procedure" and found.procedure.id == pid


def test_the_ordinary_case_is_answered_and_its_variants_offered():
    found = search.resolve("thủ tục đăng ký khai tử")
    assert found.procedure.id == "khai_tu"
    names = {o.name for o in found.options}
    assert {"Đăng ký khai tử lưu động", "Đăng ký khai tử có yếu tố nước ngoài", "Đăng ký lại khai tử"} <= names


def test_close_procedures_are_asked_about_not_guessed():
    found = search.resolve("chứng thực chữ ký người dịch")
    assert found.kind == "choices" and len(found.options) == 2
    assert all(o.name.startswith("Chứng thực chữ ký người dịch") for o in found.options)


@pytest.mark.parametrize("text, name", [("đổi giấy phép lái xe", "Đổi giấy phép lái xe"),
                                        ("cấp hộ chiếu phổ thông", "Cấp hộ chiếu phổ thông ở trong nước")])
def test_a_procedure_done_elsewhere_is_routed(text, name):
    found = search.resolve(text)
    assert found.kind == "elsewhere" and found.entry.name.startswith(name) and not found.entry.at_commune


@pytest.mark.parametrize("text", ["xin giấy phép mở phòng khám tư", "chuyển trường cho con", "còn thời gian thì sao",
                                  "", "🙂🙂", "'; DROP TABLE docs; --", "x" * 10_000, "a\x00b\x1bc"])
def test_nothing_that_explains_the_question_gives_none_and_bad_input_no_error(text):
    assert search.resolve(text).kind == "none"


def test_fts_syntax_in_a_question_is_only_words():
    assert search.resolve('khai sinh" OR "ket hon NEAR(') .kind in ("procedure", "choices", "none")


def test_everyday_words_are_added_once_never_rewritten_again():
    assert search.rewrite("tách hộ khẩu") == "tach ho khau tach ho"
    assert search.rewrite("sổ đỏ").startswith("so do giay chung nhan quyen su dung dat")


def test_an_imported_procedure_is_found_after_a_reload_without_training(tmp_path):
    """A new record in the catalogue's files is answerable by the next process: nothing is trained."""
    shutil.copytree(PROJECT_ROOT / "catalogue", tmp_path / "catalogue")
    path = tmp_path / "catalogue" / "national" / "procedures.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    marriage = next(line for line in lines if '"code": "1.000593"' in line)
    invented = marriage.replace("1.000593", "9.999999").replace("Đăng ký kết hôn lưu động", "Cấp phép nuôi chim yến")
    path.write_text("\n".join(lines + [invented]) + "\n", encoding="utf-8")
    fresh = Catalogue.load(tmp_path / "catalogue")
    found = ProcedureSearch(fresh, load_everyday_words(tmp_path / "catalogue"), load_synonyms()).resolve(
        "xin cấp phép nuôi chim yến cần giấy tờ gì")
    assert found.kind == "procedure" and found.procedure.code == "9.999999"


def test_every_imported_answer_fits_one_telegram_message_and_a_phone_screen():
    for p in catalogue.procedures.values():
        if not p.national:
            continue
        for text in [render_card(p, catalogue.locality)] + [render_aspect(p, a, catalogue.locality) for a in ASPECTS]:
            assert 0 < len(text) <= 4096 and "{" not in text and "None" not in text
            assert len(text.splitlines()) <= 16, (p.code, text)


# Floors under the figures of bench/procedure_search.py (README, "Measurements"): a regression
# guard, not the measurement. The held-out set was written without seeing the code or the first set.
FLOORS = {"procedure_questions.yml": {"commune": 0.65, "unknown": 0.75},
          "procedure_questions_heldout.yml": {"commune": 0.45, "unknown": 0.8}}


@pytest.mark.parametrize("name", sorted(FLOORS))
def test_real_questions_are_resolved_or_asked_about(name):
    report = search_eval.evaluate(search, search_eval.load(PROJECT_ROOT / "tests" / "data" / name))
    commune, unknown = report["commune"], report["unknown"]
    found = (commune.get("right", 0) + commune.get("asked", 0)) / commune["n"]
    honest = unknown.get("honest", 0) / unknown["n"]
    text = search_eval.format_report(name, report)
    assert found >= FLOORS[name]["commune"] and honest >= FLOORS[name]["unknown"], text
