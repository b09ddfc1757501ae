"""`motcua catalogue import`: the national database's records into the catalogue, honestly."""
import json
import shutil
import subprocess
import sys

import pytest

from motcua import PROJECT_ROOT
from motcua.catalogue import Catalogue
from motcua.catalogue_import import MalformedFile, import_file
from motcua.national import parse_documents, parse_legal_basis, parse_ways

NATIONAL = PROJECT_ROOT.parent / "shared" / "reference" / "national-procedures"
COMMUNE = NATIONAL / "commune.jsonl"
ALL_NAMES = NATIONAL / "all-names.jsonl"


@pytest.fixture
def catalogue_dir(tmp_path):
    """A catalogue folder with the hand-written entries and the locality, nothing imported yet."""
    shutil.copytree(PROJECT_ROOT / "catalogue" / "procedures", tmp_path / "procedures")
    shutil.copy(PROJECT_ROOT / "catalogue" / "locality.yml", tmp_path / "locality.yml")
    shutil.copy(PROJECT_ROOT / "catalogue" / "everyday_words.yml", tmp_path / "everyday_words.yml")
    return tmp_path


def curated_codes(directory):
    return {p.code: p.id for p in Catalogue.load(directory).curated() if p.code}


def snapshot(directory):
    return {p.relative_to(directory): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def motcua(*args, cwd=PROJECT_ROOT):
    return subprocess.run([sys.executable, "-m", "motcua.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_ways_table_rows_with_time_and_fee():
    ways, problem = parse_ways("Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếp5 Ngày làm việcLệ phí : 8.000 Đồng"
                               "(Miễn cho hộ nghèo)Nộp tại xãTrực tuyến3 Ngày làm việcMiễn phíDịch vụ bưu chính"
                               "Không có thông tin150,000 Việt Nam Đồng")
    assert problem is None
    assert [(w.channel, w.days, w.unit) for w in ways] == [
        ("direct", 5, "Ngày làm việc"), ("online", 3, "Ngày làm việc"), ("post", None, "")]
    assert ways[0].fee == "Lệ phí : 8.000 Đồng" and ways[0].fee_note == "Miễn cho hộ nghèo"
    assert ways[0].note == "Nộp tại xã" and ways[1].fee == "Miễn phí" and ways[2].fee == "150,000 Việt Nam Đồng"


def test_documents_table_rows_with_section_form_and_count():
    docs, problem = parse_documents("* Giấy tờ phải nộp:Tên giấy tờMẫu đơn, tờ khaiSố lượng- Tờ khai theo mẫu;"
                                    "Mau01.docx1 bản chính,1 bản sao- Giấy chứng sinh1 bản chính"
                                    "* Giấy tờ phải xuất trình:Tên giấy tờMẫu đơn, tờ khaiSố lượng- Thẻ căn cước1 bản chính")
    assert problem is None
    assert [(d.section, d.name, d.form, d.copies) for d in docs] == [
        ("Giấy tờ phải nộp", "Tờ khai theo mẫu", "Mau01.docx", "1 bản chính,1 bản sao"),
        ("Giấy tờ phải nộp", "Giấy chứng sinh", "", "1 bản chính"),
        ("Giấy tờ phải xuất trình", "Thẻ căn cước", "", "1 bản chính")]


def test_legal_basis_rows_and_what_cannot_be_read_is_reported():
    rows, problem = parse_legal_basis("Tên văn bản pháp lýMã văn bảnLuật Hộ tịch60/2014/QH13Nghị định số 123/2015/NĐ-CP "
                                      "ngày 15/11/2015 hướng dẫn123/2015/NĐ-CPVăn bản không số hiệu")
    assert [(r.title, r.number) for r in rows[:2]] == [
        ("Luật Hộ tịch", "60/2014/QH13"), ("Nghị định số 123/2015/NĐ-CP ngày 15/11/2015 hướng dẫn", "123/2015/NĐ-CP")]
    assert rows[2].title == "Văn bản không số hiệu" and "không có số hiệu" in problem


def test_the_commune_file_is_imported_with_rejections_reported_and_curated_entries_untouched(catalogue_dir):
    curated_before = snapshot(catalogue_dir / "procedures")
    report = import_file(COMMUNE, catalogue_dir / "national", curated_codes(catalogue_dir))
    assert report.records == 319 and report.created == 312 and len(report.rejected) == 7
    # Wrong names (the title of a publishing decision) are rejected with the code and the field.
    assert all("ten_thu_tuc" in r and "Công bố" in r for r in report.rejected)
    assert any(r.startswith("3.000226 (dòng ") for r in report.rejected)
    # Tables that could not be fully read are reported by code and field, and kept raw.
    assert any(w.startswith("1.001939 (dòng 34) can_cu_phap_ly: phần cuối không có số hiệu") for w in report.warnings)
    assert len(report.linked) == 17 and report.linked["1.001193"] == "khai_sinh"
    assert snapshot(catalogue_dir / "procedures") == curated_before

    catalogue = Catalogue.load(catalogue_dir)
    assert len(catalogue.procedures) == 20 + 312
    # A linked code answers with the hand-written entry; an imported one with the official facts.
    assert catalogue.get("1.001193").id == "khai_sinh"
    mobile = catalogue.get("1.000593")
    assert mobile.name == "Đăng ký kết hôn lưu động" and mobile.national and mobile.url.startswith("https://")
    assert mobile.duration["text"] == "5 ngày làm việc" and mobile.fee["text"] == "Miễn phí"
    entry = json.loads(next(line for line in (catalogue_dir / "national" / "procedures.jsonl").read_text().splitlines()
                            if '"code": "1.000593"' in line))
    assert entry["ways"][0]["channel"] == "direct" and entry["documents"] and entry["legal_basis"]
    assert entry["steps"].startswith("-") or entry["steps"]


def test_a_second_run_changes_nothing(catalogue_dir):
    import_file(COMMUNE, catalogue_dir / "national", curated_codes(catalogue_dir))
    import_file(ALL_NAMES, catalogue_dir / "national", curated_codes(catalogue_dir))
    before = snapshot(catalogue_dir)
    again = import_file(COMMUNE, catalogue_dir / "national", curated_codes(catalogue_dir))
    assert (again.created, again.updated, again.unchanged, again.index_created, again.index_updated) == (0, 0, 312, 0, 0)
    assert not again.changed and snapshot(catalogue_dir) == before


def test_a_changed_record_updates_its_entry_and_a_duplicate_code_is_rejected(catalogue_dir, tmp_path):
    import_file(COMMUNE, catalogue_dir / "national", curated_codes(catalogue_dir))
    record = json.loads(next(line for line in COMMUNE.read_text().splitlines() if '"1.000593"' in line))
    record["cach_thuc_thuc_hien"] = "Hình thức nộpThời gianPhí, lệ phíMô tảTrực tiếp3 Ngày làm việcMiễn phí"
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(record, ensure_ascii=False) + "\n" + json.dumps(record, ensure_ascii=False) + "\n")
    report = import_file(changed, catalogue_dir / "national", curated_codes(catalogue_dir))
    assert report.updated == 1 and report.rejected == ["1.000593 (dòng 2) ma_thu_tuc: mã trùng với dòng 1"]
    assert Catalogue.load(catalogue_dir).get("1.000593").duration["text"] == "3 ngày làm việc"


def test_bad_records_are_rejected_by_code_and_field_never_invented(catalogue_dir, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"ma_thu_tuc": "", "ten_thu_tuc": "Thủ tục không mã", "cap_thuc_hien": "Cấp xã"},
        {"ma_thu_tuc": "1.2.3", "ten_thu_tuc": "Sai mã", "cap_thuc_hien": "Cấp xã"},
        {"ma_thu_tuc": "1.999999", "ten_thu_tuc": "", "cap_thuc_hien": "Cấp xã"},
        {"ma_thu_tuc": "1.999998", "ten_thu_tuc": "Không rõ cấp", "cap_thuc_hien": "Cấp thôn"},
        ["not", "a", "record"],
    ]) + "\n")
    report = import_file(bad, catalogue_dir / "national", {})
    assert report.created == 0 and report.index_created == 0
    assert [r.split(":")[0] for r in report.rejected] == [
        "(không mã) (dòng 1) ma_thu_tuc", "1.2.3 (dòng 2) ma_thu_tuc", "1.999999 (dòng 3) ten_thu_tuc",
        "1.999998 (dòng 4) cap_thuc_hien", "(không mã) (dòng 5) bản ghi"]
    assert not (catalogue_dir / "national").exists()


def test_a_malformed_file_leaves_the_catalogue_as_it_was(catalogue_dir, tmp_path):
    import_file(COMMUNE, catalogue_dir / "national", curated_codes(catalogue_dir))
    before = snapshot(catalogue_dir / "national")
    broken = tmp_path / "broken.jsonl"
    lines = COMMUNE.read_text().splitlines()[:20]
    broken.write_text("\n".join(lines[:10] + ['{"ma_thu_tuc": "1.000001", "ten_thu_tuc": '] + lines[10:]) + "\n")
    with pytest.raises(MalformedFile, match="dòng 11"):
        import_file(broken, catalogue_dir / "national", curated_codes(catalogue_dir))
    assert snapshot(catalogue_dir / "national") == before


@pytest.mark.slow  # starts `motcua` as a command line
def test_the_command_prints_what_it_did_and_a_second_run_changes_nothing(catalogue_dir):
    first = motcua("catalogue", "import", str(COMMUNE), "--catalogue", str(catalogue_dir), "--show", "3")
    assert first.returncode == 0, first.stderr
    assert "319 bản ghi: 312 thủ tục mới, 0 cập nhật, 0 không đổi, 17 gắn với mục biên soạn sẵn, 7 bị từ chối" in first.stdout
    assert first.stdout.count("TỪ CHỐI ") == 3 and "và " in first.stdout
    assert "Nhập danh mục thủ tục" in first.stderr  # the progress bar
    second = motcua("catalogue", "import", str(COMMUNE), "--catalogue", str(catalogue_dir), "--quiet")
    assert "0 thủ tục mới, 0 cập nhật, 312 không đổi" in second.stdout and "Không có gì thay đổi." in second.stdout
    broken = catalogue_dir / "broken.jsonl"
    broken.write_text("this is not json\n")
    third = motcua("catalogue", "import", str(broken), "--catalogue", str(catalogue_dir))
    assert third.returncode == 2 and "danh mục giữ nguyên" in third.stderr and "Traceback" not in third.stderr


def test_the_shipped_catalogue_is_the_import_of_the_national_files(catalogue_dir):
    """catalogue/national/ is exactly what the two imports produce (re-run them after a change)."""
    import_file(COMMUNE, catalogue_dir / "national", curated_codes(catalogue_dir))
    import_file(ALL_NAMES, catalogue_dir / "national", curated_codes(catalogue_dir))
    for name in ("procedures.jsonl", "index.jsonl"):
        assert (catalogue_dir / "national" / name).read_bytes() == (PROJECT_ROOT / "catalogue" / "national" / name).read_bytes()
