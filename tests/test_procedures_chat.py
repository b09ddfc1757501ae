"""Issue 4 on the web chat, through the real gateway, Rasa and action server."""
import pytest

from motcua.catalogue import load_catalogue
from nlu.text import strip_diacritics

from tests.support.chat import say

catalogue = load_catalogue()
# How a citizen names each procedure (the contract's short names).
NAMES = {
    "khai_sinh": "đăng ký khai sinh", "ket_hon": "đăng ký kết hôn", "khai_tu": "đăng ký khai tử",
    "xac_nhan_hon_nhan": "xác nhận tình trạng hôn nhân", "trich_luc_ho_tich": "cấp bản sao trích lục hộ tịch",
    "chung_thuc_ban_sao": "chứng thực bản sao", "chung_thuc_chu_ky": "chứng thực chữ ký",
    "thuong_tru": "đăng ký thường trú", "tam_tru": "đăng ký tạm trú", "can_cuoc": "làm thẻ căn cước",
    "ho_kinh_doanh": "đăng ký hộ kinh doanh", "giay_phep_xay_dung": "giấy phép xây dựng nhà ở",
    "cap_so_do": "cấp sổ đỏ", "chuyen_nhuong_dat": "chuyển nhượng quyền sử dụng đất",
    "chuyen_muc_dich_dat": "chuyển mục đích sử dụng đất", "thay_doi_ho_tich": "thay đổi cải chính hộ tịch",
    "nhan_cha_me_con": "đăng ký nhận cha mẹ con", "tro_cap_xa_hoi": "trợ cấp xã hội hàng tháng",
    "bhyt_tre_em": "thẻ bảo hiểm y tế cho trẻ dưới 6 tuổi", "ly_lich_tu_phap": "phiếu lý lịch tư pháp",
}


@pytest.mark.parametrize("plain", [False, True], ids=["diacritics", "no-diacritics"])
@pytest.mark.parametrize("pid", sorted(NAMES))
async def test_documents_and_fee_for_every_procedure(gateway, pid, plain):
    p = catalogue.get(pid)
    ask = (lambda s: strip_diacritics(s)) if plain else (lambda s: s)
    sender = f"p-{pid}-{plain}"
    (docs,) = await say(gateway, ask(f"thủ tục {NAMES[pid]} cần giấy tờ gì"), sender)
    assert docs["text"].startswith(f"Giấy tờ cần có – {p.name}"), docs["text"]
    assert p.documents[0] in docs["text"]
    (fee,) = await say(gateway, ask(f"{NAMES[pid]} lệ phí bao nhiêu"), sender)
    assert fee["text"].startswith(f"Lệ phí – {p.name}"), fee["text"]


async def test_a_follow_up_keeps_the_procedure(gateway):
    p = catalogue.get("ket_hon")
    (card,) = await say(gateway, "muốn đăng ký kết hôn", "follow")
    assert card["text"].startswith(f"Thủ tục: {p.name}")
    (fee,) = await say(gateway, "còn lệ phí thì sao?", "follow")
    assert fee["text"].startswith(f"Lệ phí – {p.name}")
    (days,) = await say(gateway, "mat bao lau", "follow")
    assert days["text"].startswith(f"Thời gian giải quyết – {p.name}")


async def test_an_aspect_button_answers_that_aspect(gateway):
    (card,) = await say(gateway, "thủ tục đăng ký khai sinh", "buttons")
    steps = next(b for b in card["buttons"] if b["title"] == "Các bước thực hiện")
    (reply,) = await say(gateway, steps["payload"], "buttons")
    assert reply["text"].startswith("Các bước thực hiện – " + catalogue.get("khai_sinh").name)


@pytest.mark.parametrize("text", ["giờ làm việc", "gio lam viec the nao", "sdt đường dây nóng là j"])
async def test_office_hours_and_hotline(gateway, text):
    (reply,) = await say(gateway, text)
    assert catalogue.locality.office["hours"][0] in reply["text"]
    assert catalogue.locality.hotline in reply["text"]
