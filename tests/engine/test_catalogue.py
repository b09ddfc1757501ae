"""The catalogue as data: every entry complete, truthful about uncertainty, short enough."""
from datetime import date

import pytest

from actions.procedures import render_aspect, render_card
from motcua.catalogue import ASPECTS, TOPICS, Catalogue, load_catalogue

CONTRACT_IDS = {
    "khai_sinh", "ket_hon", "khai_tu", "xac_nhan_hon_nhan", "trich_luc_ho_tich", "chung_thuc_ban_sao",
    "chung_thuc_chu_ky", "thuong_tru", "tam_tru", "can_cuoc", "ho_kinh_doanh", "giay_phep_xay_dung", "cap_so_do",
    "chuyen_nhuong_dat", "chuyen_muc_dich_dat", "thay_doi_ho_tich", "nhan_cha_me_con", "tro_cap_xa_hoi",
    "bhyt_tre_em", "ly_lich_tu_phap",
}
catalogue = load_catalogue()


def test_every_contract_procedure_is_in_the_catalogue():
    assert CONTRACT_IDS <= set(catalogue.procedures)


@pytest.mark.parametrize("pid", sorted(CONTRACT_IDS))
def test_entry_is_complete(pid):
    p = catalogue.get(pid)
    assert p.name and p.summary and p.topic in TOPICS
    assert len(p.aliases) >= 3 and p.documents and p.steps and p.legal_basis
    assert p.handled_by.get("office") and p.handled_by.get("level") in ("xa", "tinh")
    assert p.fee.get("text") and p.fee.get("certainty") in ("law", "common", "varies")
    assert p.duration.get("text") and p.duration.get("certainty") in ("law", "common", "varies")
    assert p.place and isinstance(p.online.get("available"), bool)
    assert p.online.get("where") if p.online["available"] else True
    assert isinstance(p.last_checked, date) and p.last_checked <= date.today()
    wd = p.duration.get("working_days")
    assert wd is None or (isinstance(wd, int) and wd >= 0)


@pytest.mark.parametrize("pid", sorted(CONTRACT_IDS))
def test_uncertain_figures_tell_the_citizen_how_to_confirm(pid):
    p = catalogue.get(pid)
    for part in (p.fee, p.duration):
        if part["certainty"] == "varies":
            assert "theo quy định của tỉnh" in part["text"].lower()
        if part["certainty"] in ("common", "varies"):
            assert "{hotline}" in p.confirm_note
            text = render_aspect(p, "fee" if part is p.fee else "duration", catalogue.locality)
            assert catalogue.locality.hotline in text and "{hotline}" not in text


@pytest.mark.parametrize("pid", sorted(CONTRACT_IDS))
def test_every_reply_fits_one_telegram_message(pid):
    p = catalogue.get(pid)
    texts = [render_card(p, catalogue.locality)] + [render_aspect(p, a, catalogue.locality) for a in ASPECTS]
    for text in texts:
        assert 0 < len(text) <= 4096
        assert "{" not in text and "None" not in text


def test_no_wording_names_two_procedures():
    from nlu.text import fold

    seen = {}
    for p in catalogue.curated():
        for wording in [p.name, *p.aliases]:
            assert seen.setdefault(fold(wording), p.id) == p.id, wording


def test_the_locality_is_data_with_office_and_routing():
    loc = catalogue.locality
    assert loc.unit_name and loc.office["name"] and loc.office["hours"] and loc.hotline
    assert loc.communes and all(c.get("name") for c in loc.communes)
    agencies = {a["id"] for a in loc.agencies}
    assert {c["agency"] for c in loc.complaint_categories} <= agencies


@pytest.mark.parametrize(
    "typed, expected",
    [("khai sinh", "khai_sinh"), ("dang ky ket hon", "ket_hon"), ("so do", "cap_so_do"),
     ("lý lịch tư pháp", "ly_lich_tu_phap"), ("dang ky thuong tru", "thuong_tru"), ("cap_so_do", "cap_so_do")],
)
def test_resolve_names_with_and_without_diacritics(typed, expected):
    assert catalogue.resolve(typed).id == expected


def test_a_misspelt_name_gets_close_suggestions():
    names = [p.id for p, _ in catalogue.closest("dang ki khai sin")]
    assert names[0] == "khai_sinh"
    assert catalogue.closest("zzzz qqqq") == []


def test_another_locality_is_just_another_folder(tmp_path):
    import shutil

    shutil.copytree(catalogue_dir := __import__("motcua.catalogue", fromlist=["default_dir"]).default_dir(),
                    tmp_path / "cat")
    text = (tmp_path / "cat" / "locality.yml").read_text(encoding="utf-8")
    (tmp_path / "cat" / "locality.yml").write_text(text.replace('unit_name: "Hoài Ân"', 'unit_name: "Phù Mỹ"'),
                                                   encoding="utf-8")
    other = Catalogue.load(tmp_path / "cat")
    assert other.locality.unit_name == "Phù Mỹ" and catalogue_dir.exists()
