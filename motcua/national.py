"""Records of the national database of administrative procedures, parsed.

The portal's pages flatten three tables into one string each (no separators between cells):
ways to submit (`cach_thuc_thuc_hien`), documents (`thanh_phan_ho_so`) and legal basis
(`can_cu_phap_ly`). The parsers below recover the rows; a part they cannot read is returned
as a problem, and the raw text is kept, so nothing is silently dropped or invented.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Optional

CODE = re.compile(r"^\d\.\d{6}$")
# How the portal names the three ways to submit, and our short keys for them.
CHANNELS = {"Trực tiếp": "direct", "Trực tuyến": "online", "Dịch vụ bưu chính": "post"}
CHANNEL_TITLES = {"direct": "Trực tiếp", "online": "Trực tuyến", "post": "Qua bưu chính"}
NO_INFO = "Không có thông tin"
# A row starts with a channel name followed by its time cell: a number or "Không có thông tin".
_WAY_ROW = re.compile(r"(Trực tiếp|Trực tuyến|Dịch vụ bưu chính)(?=\s*(?:\d|Không có thông tin))")
_TIME = re.compile(r"\s*(?:(\d+(?:[.,]\d+)?)\s*(Ngày làm việc|Ngày|Giờ làm việc|Giờ|Tháng|Phút|Năm)?|Không có thông tin)")
_MONEY = r"(?:(?:Lệ phí|Phí)\s*:\s*)?\d[\d.,]*\s*(?:Việt Nam [Đđ]ồng|VNĐ|VND|[Đđ]ồng)"
_FEE = re.compile(rf"\s*(Miễn phí|Không có thông tin|{_MONEY}(?:\s*[,;]?\s*{_MONEY})*)")
_DOC_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
_DOC_SECTION = re.compile(r"\*\s*([^*:]{3,60}):")
# A document row ends with its count: "1 bản chính", "0 bản chính,1 bản sao", "Bản chính: 1 …".
_COPIES = re.compile(r"(\d+\s*[Bb]ản\s+(?:chính|sao)(?:\s*,\s*\d+\s*[Bb]ản\s+(?:chính|sao))*)")
_FORM_FILE = re.compile(r"([^\s/\\;,:]+\.(?:docx?|pdf|xlsx?|rtf|odt))", re.IGNORECASE)
_LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
# A legal text's number, as it ends a row: 60/2014/QH13, 123/2015/NĐ-CP, 08/2025/TT-BTP, 1/2024/QĐ-UBND.
_LEGAL_NUMBER = re.compile(
    r"(\d{1,4}(?:\.\d+)?/\d{4}/[A-ZĐ]+(?:-[A-ZĐ]+)*\d{0,2})"
    r"(?=\s?[A-ZĐÂĂÊÔƠƯ][a-zà-ỹđ]|\d{1,4}(?:\.\d+)?/\d{4}/|\s*$)")
# Wrong names in the collection: the title of a publishing decision instead of a procedure.
_WRONG_NAME = re.compile(r"^\s*(Công bố|Quyết định công bố|Ban hành)\s+(Danh mục|danh mục|Quy trình)", re.IGNORECASE)
LEVELS = {"Cấp xã": "xa", "Cấp tỉnh": "tinh", "Cấp bộ": "bo", "Cơ quan khác": "khac"}


def tidy(text: Any) -> str:
    """NFC, no-break spaces and runs of blanks folded; line breaks kept."""
    text = unicodedata.normalize("NFC", str(text or "")).replace("\xa0", " ").replace("\r", "")
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n", text).strip()


def empty(text: str) -> bool:
    return not text or text.strip().rstrip(".") in ("", NO_INFO, "Không", "Không có")


@dataclass
class Way:
    channel: str              # direct / online / post
    time: str                 # as written: "5 Ngày làm việc", "7", "Không có thông tin"
    days: Optional[float]     # the number, when there is one
    unit: str                 # "Ngày làm việc", "Ngày", "Giờ", … ("" when the portal gives none)
    fee: str                  # "Miễn phí", "Lệ phí : 8.000 Đồng", …
    fee_note: str             # the bracketed explanation that follows the fee
    note: str                 # the description cell


@dataclass
class Document:
    section: str              # "Giấy tờ phải nộp", "Giấy tờ phải xuất trình", …
    name: str
    form: str                 # template file name, if any
    copies: str               # "1 bản chính", "1 bản chính,1 bản sao"
    kind: str                 # item (a "- …" row), sub (a "+ …" row) or note (anything else)


@dataclass
class LegalText:
    title: str
    number: str


@dataclass
class Parsed:
    ways: list[Way] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    legal_basis: list[LegalText] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)   # (field, what is wrong)


def parse_ways(text: str) -> tuple[list[Way], Optional[str]]:
    """The flattened "Hình thức nộp / Thời gian / Phí, lệ phí / Mô tả" table → rows."""
    text = tidy(text).replace("\n", " ")
    body = text.split("Mô tả", 1)[1] if text.startswith("Hình thức nộp") and "Mô tả" in text else text
    starts = [m.start() for m in _WAY_ROW.finditer(body)]
    if not starts:
        return [], "không đọc được bảng cách thức thực hiện" if body.strip() else None
    problem = None
    if body[: starts[0]].strip():
        problem = f"phần đầu không thuộc hàng nào: {body[: starts[0]].strip()[:60]!r}"
    ways = []
    for a, b in zip(starts, starts[1:] + [len(body)]):
        row = body[a:b]
        name = next(n for n in CHANNELS if row.startswith(n))
        rest = row[len(name):]
        t = _TIME.match(rest)
        time_text, days, unit = NO_INFO, None, ""
        if t and t.group(0).strip():
            time_text = t.group(0).strip()
            if t.group(1):
                days = float(t.group(1).replace(",", "."))
                unit = t.group(2) or ""
            rest = rest[t.end():]
        f = _FEE.match(rest)
        fee = ""
        if f:
            fee = f.group(1).strip()
            rest = rest[f.end():]
        fee_note, note = _bracketed(rest.strip())
        if not fee:
            problem = problem or f"không đọc được phí, lệ phí của hàng {name!r}"
        ways.append(Way(CHANNELS[name], time_text, days, unit, fee, fee_note, note))
    return ways, problem


def _bracketed(text: str) -> tuple[str, str]:
    """"(explanation) description" → ("explanation", "description"), brackets balanced."""
    if not text.startswith("("):
        return "", text
    depth = 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return text[1:i].strip(), text[i + 1:].strip()
    return text[1:].strip(), ""


def parse_documents(text: str) -> tuple[list[Document], Optional[str]]:
    """The flattened "Tên giấy tờ / Mẫu đơn, tờ khai / Số lượng" tables (one per section) → rows."""
    text = tidy(text).replace("\n", " ")
    if not text:
        return [], None
    docs: list[Document] = []
    problem = None
    sections = list(_DOC_SECTION.finditer(text))
    parts = ([("Giấy tờ phải nộp", text)] if not sections else
             [(m.group(1).strip(), text[m.end(): (sections[i + 1].start() if i + 1 < len(sections) else len(text))])
              for i, m in enumerate(sections)])
    for section, chunk in parts:
        chunk = chunk.replace(_DOC_HEADER, " ").strip()
        pos = 0
        for m in _COPIES.finditer(chunk):
            cell = chunk[pos:m.start()].strip()
            pos = m.end()
            if not cell:
                continue
            form = ""
            fm = _FORM_FILE.search(cell)
            if fm and cell.endswith(fm.group(1)):
                form, cell = fm.group(1), cell[: fm.start()].strip()
            kind = "item" if cell.startswith("-") else "sub" if cell.startswith("+") else "note"
            name = cell.lstrip("-+• ").strip().rstrip(";").strip()
            docs.append(Document(section, name, form, re.sub(r"\s+", " ", m.group(1)), kind))
        tail = chunk[pos:].strip()
        if tail:
            problem = problem or f"phần cuối không có số lượng ({section}): {tail[:60]!r}"
            docs.append(Document(section, tail.lstrip("-+• ").strip(), "", "", "note"))
    if not docs:
        problem = "không đọc được bảng thành phần hồ sơ"
    return docs, problem


def parse_legal_basis(text: str) -> tuple[list[LegalText], Optional[str]]:
    """The flattened "Tên văn bản pháp lý / Mã văn bản" table → (title, number) rows."""
    text = tidy(text).replace("\n", " ").replace(_LEGAL_HEADER, "").strip()
    if empty(text):
        return [], None
    rows: list[LegalText] = []
    pos = 0
    # A number ends a row when the next row starts right after it (a capital or a digit) or the text ends.
    for m in _LEGAL_NUMBER.finditer(text):
        title = text[pos:m.start()].strip(" .;,")
        pos = m.end()
        if not title and rows and rows[-1].number == m.group(1):
            continue  # "Luật 60/2014/QH13" then its number cell "60/2014/QH13": one row
        rows.append(LegalText(title or m.group(1), m.group(1)))
    tail = text[pos:].strip()
    problem = None
    if tail:
        problem = f"phần cuối không có số hiệu văn bản: {tail[:60]!r}"
        rows.append(LegalText(tail, ""))
    return rows, problem


def levels_of(text: Optional[str]) -> list[str]:
    return [LEVELS[p.strip()] for p in str(text or "").split(",") if p.strip() in LEVELS]


def check_record(record: Any) -> list[tuple[str, str]]:
    """Why a record cannot become a catalogue entry (empty when it can)."""
    if not isinstance(record, dict):
        return [("", "không phải một bản ghi (đối tượng JSON)")]
    problems = []
    code = str(record.get("ma_thu_tuc") or "").strip()
    if not code:
        problems.append(("ma_thu_tuc", "thiếu mã thủ tục"))
    elif not CODE.match(code):
        problems.append(("ma_thu_tuc", f"mã thủ tục không đúng dạng 1.234567: {code!r}"))
    name = tidy(record.get("ten_thu_tuc"))
    if not name:
        problems.append(("ten_thu_tuc", "thiếu tên thủ tục"))
    elif not re.search(r"\w{2}", name):
        problems.append(("ten_thu_tuc", f"tên không có chữ: {name[:40]!r}"))
    elif _WRONG_NAME.match(name):
        problems.append(("ten_thu_tuc", f"tên sai (tên của một quyết định công bố, không phải thủ tục): {name[:70]!r}"))
    if not levels_of(record.get("cap_thuc_hien")):
        problems.append(("cap_thuc_hien", f"không rõ cấp thực hiện: {str(record.get('cap_thuc_hien'))[:40]!r}"))
    return problems


def parse_record(record: dict) -> Parsed:
    """The three flattened tables of a full record, with what could not be read."""
    out = Parsed()
    out.ways, problem = parse_ways(record.get("cach_thuc_thuc_hien") or "")
    if problem:
        out.problems.append(("cach_thuc_thuc_hien", problem))
    out.documents, problem = parse_documents(record.get("thanh_phan_ho_so") or "")
    if problem:
        out.problems.append(("thanh_phan_ho_so", problem))
    out.legal_basis, problem = parse_legal_basis(record.get("can_cu_phap_ly") or "")
    if problem:
        out.problems.append(("can_cu_phap_ly", problem))
    for key in ("cach_thuc_thuc_hien", "thanh_phan_ho_so", "trinh_tu_thuc_hien", "co_quan_thuc_hien"):
        if empty(tidy(record.get(key))):
            out.problems.append((key, "trống"))
    return out


# ---------------------------------------------------------------------------
# Catalogue entries: what the importer stores (facts, parsed) and what the bot shows (summaries)
# ---------------------------------------------------------------------------

# The index of every procedure: enough to route a question about one done elsewhere.
INDEX_FIELDS = ("ma_thu_tuc", "ten_thu_tuc", "cap_thuc_hien", "linh_vuc", "co_quan_thuc_hien",
                "co_quan_co_tham_quyen", "doi_tuong_thuc_hien", "detail_url", "bo_nganh")
# A full record (commune.jsonl) has the tables; an index record (all-names.jsonl) has not.
FULL_FIELDS = ("trinh_tu_thuc_hien", "cach_thuc_thuc_hien", "thanh_phan_ho_so")


def is_full(record: dict) -> bool:
    return any(key in record for key in FULL_FIELDS)


def display_name(name: Optional[str]) -> str:
    """"Thủ tục đăng ký kết hôn lưu động" → "Đăng ký kết hôn lưu động" (one line, no trailing dot)."""
    name = re.sub(r"\s+", " ", tidy(name)).strip().strip(".-–• ")
    name = re.sub(r"^Thủ tục\s+", "", name)
    return name[:1].upper() + name[1:]


def index_entry(record: dict) -> dict:
    return {
        "code": str(record["ma_thu_tuc"]).strip(),
        "name": display_name(record.get("ten_thu_tuc")),
        "levels": levels_of(record.get("cap_thuc_hien")),
        "sector": tidy(record.get("linh_vuc")),
        "agency": tidy(record.get("co_quan_thuc_hien")) or tidy(record.get("co_quan_co_tham_quyen")),
        "audience": tidy(record.get("doi_tuong_thuc_hien")),
        "url": str(record.get("detail_url") or "").strip(),
        "ministry": str(record.get("bo_nganh") or "").strip(),
    }


def full_entry(record: dict, parsed: Parsed) -> dict:
    """A commune-level procedure as stored in catalogue/national/procedures.jsonl."""
    entry = index_entry(record)
    entry.update({
        "official_name": tidy(record.get("ten_thu_tuc")),
        "decision": tidy(record.get("so_quyet_dinh")),
        "competent": tidy(record.get("co_quan_co_tham_quyen")),
        "address": "" if empty(tidy(record.get("dia_chi_tiep_nhan"))) else tidy(record.get("dia_chi_tiep_nhan")),
        "ways": [w.__dict__ for w in parsed.ways],
        "documents": [d.__dict__ for d in parsed.documents],
        "legal_basis": [t.__dict__ for t in parsed.legal_basis],
        "steps": tidy(record.get("trinh_tu_thuc_hien")),
        "conditions": "" if empty(tidy(record.get("yeu_cau_dieu_kien"))) else tidy(record.get("yeu_cau_dieu_kien")),
        "result": result_name(record.get("ket_qua_xu_ly")),
        # The raw tables, kept where a part of them could not be read.
        "raw": {f: tidy(record.get(f)) for f, _ in parsed.problems
                if f in ("cach_thuc_thuc_hien", "thanh_phan_ho_so", "can_cu_phap_ly")},
        "problems": [list(p) for p in parsed.problems],
    })
    return entry


def result_name(text: Any) -> str:
    """The result cell carries the portal's search form after it: keep the result's name."""
    text = re.split(r"Mã:|Từ khóa|Chọn cơ quan", tidy(text).replace("\n", " "), 1)[0].strip()
    return text if re.search(r"\w{2}", text) else ""
