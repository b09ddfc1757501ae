"""Unit tests for nlu.text (Vietnamese normalisation), with real citizen messages."""

import random
import unicodedata

import pytest

from nlu.text import (
    clean,
    expand_shorthand,
    fold,
    fold_tokens,
    load_shorthand,
    normalize,
    normalize_tones,
    strip_diacritics,
    tokenize_with_spans,
)


def nfd(s):
    return unicodedata.normalize("NFD", s)


def nfc(s):
    return unicodedata.normalize("NFC", s)


def assert_spans_exact(text):
    tokens = tokenize_with_spans(text)
    for token, start, end in tokens:
        assert text[start:end] == token
    return tokens


# --- clean -----------------------------------------------------------------


def test_clean_nfc_and_whitespace():
    assert clean(nfd("  Tôi muốn   làm\tsổ đỏ\n")) == "Tôi muốn làm sổ đỏ"
    assert clean(nfd("Hồ sơ")) == nfc("Hồ sơ")
    assert clean("") == ""
    assert clean(None) == ""


def test_clean_control_and_zero_width_characters():
    assert clean("cấp lại\x00CCCD") == "cấp lại CCCD"
    assert clean("hồ\u200bsơ\u200d của\ufeff tôi") == "hồ sơ của tôi"
    assert clean("\u200b\u200c\u200d\ufeff\x00\x1b") == ""
    # a lone surrogate would make UTF-8 encoding (DB, logs) fail later
    assert clean("đăng ký\ud83d kết hôn") == "đăng ký kết hôn"
    clean("\ud800" * 5).encode("utf-8")


def test_clean_keeps_emoji_but_drops_invisible_padding():
    assert clean("cảm ơn ❤️") == "cảm ơn ❤"
    assert clean("\u3164\u3164 xin chào") == "xin chào"


def test_clean_max_len():
    assert clean("Tôi muốn đăng ký khai sinh cho con", max_len=9) == "Tôi muốn"
    assert clean("abc", max_len=0) == ""
    assert clean("abc", max_len=-3) == ""
    # a cut never leaves a base letter without its combining mark
    assert clean("ab\u0327\u0301cd", max_len=2) == "a"


def test_clean_long_input():
    text = "Xin cho hỏi thủ tục làm sổ đỏ 😊\u200b\x00 " * 400
    assert len(text) > 10_000
    out = clean(text)
    assert "\x00" not in out and "\u200b" not in out
    assert len(clean(text, max_len=500)) <= 500


# --- tone placement ----------------------------------------------------------


def test_normalize_tones_old_style():
    assert normalize_tones("hoà") == "hòa"
    assert normalize_tones("thuỷ") == "thủy"
    assert normalize_tones("khoẻ") == "khỏe"
    assert normalize_tones("qúy") == "quý"
    assert normalize_tones("Hoà Bình") == "Hòa Bình"
    assert normalize_tones("uỷ ban nhân dân") == "ủy ban nhân dân"
    assert normalize_tones("oà oá oả oã oạ") == "òa óa ỏa õa ọa"
    assert normalize_tones("uỳ uý uỷ uỹ uỵ") == "ùy úy ủy ũy ụy"


def test_normalize_tones_preserves_case():
    assert normalize_tones("HOÀ BÌNH") == "HÒA BÌNH"
    assert normalize_tones("Phường Thuỷ Xuân") == "Phường Thủy Xuân"
    assert normalize_tones("GiÁ") == "GiÁ"


def test_normalize_tones_never_damages_correct_words():
    words = (
        "hòa thủy khỏe quý ngoài khuỷu người tuổi nguyễn quyết thuở giữa giếng "
        "già gì gìn giúp giường của quà mười chuyện hoặc khoảng thuế huỳnh "
        "xoáy cứu gửi huyện ủy ừ yến giỏi giấy luận hoạch mía múa túi cái"
    )
    assert normalize_tones(words) == words
    # non-Vietnamese words are left alone
    assert normalize_tones("café résumé email") == "café résumé email"


def test_normalize_tones_moves_misplaced_marks():
    assert normalize_tones("hoàng") == "hoàng"
    assert normalize_tones("hòang") == "hoàng"  # a coda pulls the mark to the last vowel
    assert normalize_tones("gìa") == "già"
    assert normalize_tones("ngòai") == "ngoài"
    assert normalize_tones(nfd("hoà")) == "hòa"


# --- diacritics --------------------------------------------------------------


def test_strip_diacritics():
    assert strip_diacritics("Sổ đỏ") == "So do"
    assert strip_diacritics("ĐĂNG KÝ ĐẤT ĐAI") == "DANG KY DAT DAI"
    assert strip_diacritics("Ðổi") == "Doi"  # Eth typed instead of Đ
    assert strip_diacritics(nfd("Nguyễn Thị Hường")) == "Nguyen Thi Huong"


# --- shorthand ---------------------------------------------------------------


def test_shorthand_table_loads():
    table = load_shorthand()
    assert table["ko"] == "không"
    assert table["đc"] == table["dc"] == "được"
    assert table["đk"] == table["dk"] == "đăng ký"
    assert "hong" not in table  # "hong" is usually "hỏng", not "không"


def test_shorthand_table_rejects_bad_lines(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("# comment\nko không\n", encoding="utf-8")  # space, not tab
    with pytest.raises(ValueError):
        load_shorthand(bad)


def test_expand_shorthand_basic():
    assert expand_shorthand("ko dc") == "không được"
    assert expand_shorthand("Ko đc ạ") == "không được ạ"
    assert expand_shorthand("mk muốn đk kết hôn") == "mình muốn đăng ký kết hôn"
    assert expand_shorthand("cần cccd vs sdt j") == "cần căn cước công dân với số điện thoại gì"
    assert expand_shorthand("a/c ơi hs của e nộp r") == "anh chị ơi hồ sơ của em nộp rồi"
    assert expand_shorthand("ubnd phường làm tt ntn") == "ủy ban nhân dân phường làm thủ tục như thế nào"


def test_expand_shorthand_whole_tokens_only():
    assert expand_shorthand("kon ko") == "kon không"
    assert expand_shorthand("rồi, r") == "rồi, rồi"
    assert expand_shorthand("khong") == "không"
    # codes are never touched even when a part looks like shorthand
    assert expand_shorthand("mã HS-2025-01 đâu") == "mã HS-2025-01 đâu"


def test_bn_context_rule():
    assert expand_shorthand("bn ngày thì có kết quả") == "bao nhiêu ngày thì có kết quả"
    assert expand_shorthand("bn ơi cho mình hỏi") == "bạn ơi cho mình hỏi"
    assert expand_shorthand("cảm ơn bn") == "cảm ơn bạn"
    assert expand_shorthand("bn có biết không") == "bạn có biết không"
    assert expand_shorthand("lam so do mat bn tien") == "lam so do mat bao nhiêu tien"
    assert expand_shorthand("lệ phí bn?") == "lệ phí bao nhiêu?"


def test_conservative_rules_for_v_k_bt():
    assert expand_shorthand("sao v") == "sao vậy"
    assert expand_shorthand("thế v ạ") == "thế vậy ạ"
    assert expand_shorthand("v là sao") == "v là sao"
    assert expand_shorthand("ổ cắm 220 v") == "ổ cắm 220 v"
    assert expand_shorthand("phí 50 k") == "phí 50 k"
    assert expand_shorthand("ko bt nộp ở đâu") == "không biết nộp ở đâu"


# --- normalize / fold --------------------------------------------------------


def test_normalize_nfc_and_nfd_equal():
    text = "Tôi muốn làm lại Giấy chứng nhận quyền sử dụng đất bị hỏng"
    assert normalize(nfd(text)) == normalize(nfc(text))
    assert normalize("Hoà Bình") == normalize("hòa bình") == "hòa bình"
    assert normalize("THUỶ") == "thủy"


def test_normalize_full_view():
    assert normalize("Ko dc à???") == "không được à"
    assert normalize("Cho mình hỏi, làm SỔ ĐỎ mất bn ngày ạ? 🙏🙏") == (
        "cho mình hỏi làm sổ đỏ mất bao nhiêu ngày ạ"
    )
    assert normalize("xin chào\x00\u200b 😊 !!!") == "xin chào"


def test_normalize_keeps_codes_and_numbers():
    assert normalize("Tra cứu hồ sơ 000.00.24.H08-241105-0012 giúp em!") == (
        "tra cứu hồ sơ 000.00.24.h08-241105-0012 giúp em"
    )
    assert normalize("Mã PA-2025-000123.") == "mã pa-2025-000123"
    assert normalize("hẹn ngày 12/05/2025 lúc 8:30, phí 1,5 triệu") == (
        "hẹn ngày 12/05/2025 lúc 8:30 phí 1,5 triệu"
    )
    assert normalize("xong.cho hỏi") == "xong cho hỏi"


def test_normalize_survives_sql_looking_text():
    assert normalize("'; DROP TABLE x;--") == "drop table x"
    assert fold("Robert'); DROP TABLE hoso;--") == "robert drop table hoso"


def test_fold():
    assert fold("Sổ Đỏ") == fold("so do") == "so do"
    assert fold("Đăng ký khai sinh") == fold("dang ky khai sinh")
    assert fold("ko dc") == fold("không được") == "khong duoc"
    assert fold(nfd("Hoà")) == "hoa"


# --- tokenize_with_spans -------------------------------------------------------


def test_tokenize_spans_nfc():
    text = "Tra cứu mã 000.00.24.H08-241105-0012, giúp em!"
    tokens = assert_spans_exact(text)
    assert [t for t, _, _ in tokens] == [
        "Tra", "cứu", "mã", "000.00.24.H08-241105-0012", "giúp", "em",
    ]


def test_tokenize_spans_nfd_and_emoji():
    text = nfd("Làm sổ đỏ 😊 mất bao lâu? 👍🏻 PA-2025-000123")
    tokens = assert_spans_exact(text)
    assert [nfc(t) for t, _, _ in tokens] == [
        "Làm", "sổ", "đỏ", "mất", "bao", "lâu", "PA-2025-000123",
    ]
    # NFD tokens are longer than NFC ones, offsets still point into the original
    assert tokens[1][2] - tokens[1][1] > len("sổ")


def test_tokenize_skips_junk():
    assert tokenize_with_spans("") == []
    assert tokenize_with_spans("!!! 😊 \u200b\x00 ...") == []
    text = "hồ\u200bsơ\x00của\ufe0ftôi"
    assert [t for t, _, _ in assert_spans_exact(text)] == ["hồ", "sơ", "của", "tôi"]


# --- robustness -----------------------------------------------------------------


def test_every_function_accepts_any_string():
    rng = random.Random(20250101)
    pool = [chr(c) for c in range(0x20, 0x250)] + [
        "\x00", "\t", "\n", "\u0301", "\u0323", "\u200b", "\u200d", "\ufeff", "\ufe0f",
        "\ud800", "\udfff", "\U0001F600", "\U0001F3FB", "\u20e3", "\ue000", "\u3164",
        "ơ", "ư", "đ", "Đ", "ạ", "ỷ", ".", "-", "/", ",", ":",
    ]
    for _ in range(500):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 60)))
        for variant in (text, nfd(text)):
            for func in (clean, normalize_tones, strip_diacritics, expand_shorthand, normalize, fold):
                assert isinstance(func(variant), str)
            normalize(variant).encode("utf-8")
            assert_spans_exact(variant)


def test_long_input_all_views():
    text = "Cho mình hỏi thủ tục cấp lại CCCD ko dc ạ 😊\u200b\x00 " * 250
    assert len(text) >= 10_000
    assert normalize(text).startswith(
        "cho mình hỏi thủ tục cấp lại căn cước công dân không được ạ cho"
    )
    assert fold(text).endswith("cap lai can cuoc cong dan khong duoc a")
    assert len(assert_spans_exact(text)) == 11 * 250


# --- fold_tokens (lemmas for the Rasa tokenizer) ----------------------------------


def test_fold_tokens_one_lemma_per_token_with_context():
    text = nfd("Làm Sổ Đỏ mất bn ngày? cảm ơn bn 😊 ko dc, mã PA-2025-000123")
    tokens = [t for t, _, _ in tokenize_with_spans(text)]
    lemmas = fold_tokens(tokens)
    assert len(lemmas) == len(tokens)
    assert lemmas == [
        "lam", "so", "do", "mat", "bao nhieu", "ngay", "cam", "on", "ban",
        "khong", "duoc", "ma", "pa-2025-000123",
    ]
    assert fold_tokens(["Hoà", "đk", "KHAI", "sinh"]) == ["hoa", "dang ky", "khai", "sinh"]
    assert fold_tokens([]) == []


def test_the_rasa_tokenizer_keeps_offsets_and_gives_folded_lemmas():
    """The Rasa component on NFD input with shorthand: original spans, normalised lemmas."""
    import unicodedata

    from rasa.shared.nlu.training_data.message import Message

    from nlu.components import VietnameseTokenizer

    text = unicodedata.normalize("NFD", "Làm Sổ Đỏ mất bn ngày, ko dc à? 😀")
    tokens = VietnameseTokenizer(VietnameseTokenizer.get_default_config()).tokenize(Message(data={"text": text}), "text")
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert [t.lemma for t in tokens] == ["lam", "so", "do", "mat", "bao nhieu", "ngay", "khong", "duoc", "a"]
    only_emoji = VietnameseTokenizer(VietnameseTokenizer.get_default_config()).tokenize(Message(data={"text": "😀"}), "text")
    assert len(only_emoji) == 1  # a placeholder keeps the featurizers' shapes


def test_the_phrase_extractor_finds_wordings_in_any_spelling():
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from nlu.components import PhraseEntityExtractor

    example = Message(data={"text": "làm sổ đỏ cần giấy tờ gì", "intent": "ask_procedure", "entities": [
        {"entity": "procedure", "value": "cap_so_do", "start": 4, "end": 9},
        {"entity": "aspect", "value": "documents", "start": 14, "end": 24}]})
    extractor = PhraseEntityExtractor({}, None, None)
    extractor.persist = lambda: None  # no model storage in a unit test
    extractor.train(TrainingData([example], entity_synonyms={"sổ hồng": "cap_so_do"}))
    found = {(e["entity"], e["value"], e["start"], e["end"]) for e in extractor.extract("SO HONG va SỔ ĐỎ can giay to gi")}
    assert found == {("procedure", "cap_so_do", 0, 7), ("procedure", "cap_so_do", 11, 16),
                     ("aspect", "documents", 21, 31)}
