"""Open311 GeoReport v2 view of complaints, so city dashboards and apps can read and file them.

Reads are public, so they never carry personal data (name, phone, sender id, the photo's
channel reference). Filing needs an API key from OPEN311_API_KEYS.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from datetime import datetime, time, timezone
from functools import partial
from typing import Any, Optional

from aiohttp import web

from bot.state import DB, SETTINGS
from motcua.cases_import import normalize_phone
from motcua.catalogue import Locality, load_catalogue
from motcua.logs import mask_personal_data
from motcua.store.cases import as_utc
from motcua.store.complaints import (
    OPEN_STATUSES,
    STATUS_LABELS,
    TICKET,
    ComplaintQuery,
    by_ticket,
    file_complaint,
    find_complaints,
    route,
)
from motcua.store.models import Complaint
from motcua.workdays import VIETNAM

MAX_PAGE_SIZE = 1000  # the spec's default cap on one answer
MAX_IDS = 100
MIN_DESCRIPTION, MAX_DESCRIPTION = 10, 4000
PHONE = re.compile(r"^\d{8,15}$")
# PostgreSQL refuses NUL in text, and control characters have no place in a complaint.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadRequest(Exception):
    """A parameter we refuse; its message is the Vietnamese description sent back."""


# The spec wants UTF-8 everywhere; Vietnamese reads better unescaped.
_json = partial(web.json_response, dumps=partial(json.dumps, ensure_ascii=False))


def _errors(status: int, description: str) -> web.Response:
    return _json([{"code": status, "description": description}], status=status)


def _locality() -> Locality:
    return load_catalogue().locality


def _when(value: Optional[datetime]) -> Optional[str]:
    """ISO 8601 with the Vietnam offset, as the spec requires an explicit zone."""
    return as_utc(value).astimezone(VIETNAM).isoformat(timespec="seconds") if value else None


def _clean(text: Any, limit: int) -> str:
    if not isinstance(text, str):
        raise BadRequest("Tham số phải là chuỗi ký tự.")
    return _CONTROL.sub("", text).strip()[:limit]


# --- services --------------------------------------------------------------------------------

def _service(locality: Locality, category: dict[str, Any]) -> dict[str, Any]:
    r = route(locality, category["id"])
    keywords = category.get("keywords") or [w.strip().lower() for w in re.split(r"[–,-]", r.category_name)]
    if not isinstance(keywords, str):
        keywords = ", ".join(k for k in keywords if k)
    description = category.get("description") or (
        f"Phản ánh, kiến nghị về {r.category_name.lower()}; do {r.agency_name} xử lý "
        f"trong {r.deadline_days} ngày làm việc.")
    return {"service_code": r.category, "service_name": r.category_name, "description": description,
            "metadata": False, "type": "realtime", "keywords": keywords, "group": r.agency_name}


async def services(request: web.Request) -> web.Response:
    locality = _locality()
    return _json([_service(locality, c) for c in locality.complaint_categories])


# --- reading requests ------------------------------------------------------------------------

# What a citizen would expect to be public: no phone, CCCD, e-mail or names inside the text, no
# free-text place, and a location only to about 100 m (3 decimals). A key of OPEN311_API_KEYS (the
# province's own systems) unlocks the text as written, the place and the exact coordinates.
PUBLIC_DECIMALS = 3
MAX_PUBLIC_PAGE_SIZE = 100
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A name after a form of address: "anh Nguyễn Văn A", "bà Trương Thị Bích", "cán bộ Lê Văn C".
_NAMED = re.compile(r"\b((?:[Aa]nh|[Cc]hị|[Ôô]ng|[Bb]à|[Cc]ô|[Cc]hú|[Bb]ác|[Ee]m|[Cc]háu|[Cc]án bộ|[Đđ]ồng chí)\s+)"
                    r"([A-ZĐÀ-Ỹ][^\s,.;:!?]*(?:\s+[A-ZĐÀ-Ỹ][^\s,.;:!?]*){0,3})")
HIDDEN = "[đã ẩn]"


def public_text(text: str, filer_name: str = "") -> str:
    """The complaint's text as it may be published: personal data replaced by "[đã ẩn]"."""
    text = _EMAIL.sub(HIDDEN, text)
    text = mask_personal_data(text, keep=0)
    text = re.sub(r"\*{6,}", HIDDEN, text)
    for part in filter(None, [filer_name.strip(), *filer_name.split()[-1:]]):
        if len(part) > 1:
            text = re.sub(rf"\b{re.escape(part)}\b", HIDDEN, text)
    return _NAMED.sub(lambda m: m.group(1) + HIDDEN, text)


def _public(locality: Locality, c: Complaint, full: bool = False) -> dict[str, Any]:
    """One complaint as a GeoReport service request: only what may be published (all with a key)."""
    categories = {x["id"]: x for x in locality.complaint_categories}
    agencies = {a["id"]: a["name"] for a in locality.agencies}
    item = {
        "service_request_id": c.ticket,
        "status": "open" if c.status in OPEN_STATUSES else "closed",
        "status_notes": STATUS_LABELS.get(c.status, c.status),
        "service_name": categories.get(c.category, {}).get("name", c.category),
        "service_code": c.category,
        "description": c.content if full else public_text(c.content, c.name),
        "agency_responsible": agencies.get(c.agency, c.agency),
        "service_notice": None,
        "requested_datetime": _when(c.created_at),
        "updated_datetime": _when(c.updated_at),
        "expected_datetime": _when(c.deadline_at),
        "address": (c.place or None) if full else None,
        "address_id": None,
        "zipcode": None,
        "media_url": None,
    }
    if c.latitude is not None and c.longitude is not None:
        item["lat"], item["long"] = ((c.latitude, c.longitude) if full else
                                     (round(c.latitude, PUBLIC_DECIMALS), round(c.longitude, PUBLIC_DECIMALS)))
    return item


def _has_key(request: web.Request) -> bool:
    given = request.headers.get("X-API-Key") or request.query.get("api_key", "")
    return _key_matches(given, request.app[SETTINGS].open311_api_keys)


def _listed(request: web.Request, name: str) -> list[str]:
    """A parameter given comma-separated and/or repeated, as the spec allows."""
    return [v.strip() for raw in request.query.getall(name, []) for v in raw.split(",") if v.strip()]


def _parse_date(name: str, text: str, end: bool = False) -> datetime:
    text = text.strip()
    if "T" in text:  # an unescaped "+07:00" arrives as " 07:00"
        text = re.sub(r" (\d{2}:\d{2})$", r"+\1", text)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} không đúng định dạng ISO 8601 (ví dụ 2025-01-31T08:00:00+07:00).") from None
    if len(text) == 10 and end:  # a bare end date includes that whole day
        value = datetime.combine(value.date(), time.max)
    if value.tzinfo is None:
        value = value.replace(tzinfo=VIETNAM)
    return value.astimezone(timezone.utc)


def _bounded_int(request: web.Request, name: str, default: int, top: int) -> int:
    raw = request.query.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not 1 <= int(raw) <= top:  # "²" is a digit too
        raise BadRequest(f"{name} phải là số nguyên từ 1 đến {top}.")
    return int(raw)


def _query(request: web.Request, locality: Locality, full: bool) -> ComplaintQuery:
    """GET requests.json's filters; BadRequest for a value we cannot honour."""
    top = MAX_PAGE_SIZE if full else MAX_PUBLIC_PAGE_SIZE
    size = _bounded_int(request, "page_size", top, top)
    page = _bounded_int(request, "page", 1, 100_000)
    ids = _listed(request, "service_request_id")
    if ids:  # the spec: with ids given, every other filter is ignored
        if len(ids) > MAX_IDS or not all(TICKET.fullmatch(i.upper()) for i in ids):
            raise BadRequest(f"service_request_id phải là tối đa {MAX_IDS} mã dạng PA-YYYY-NNNNNN, cách nhau dấu phẩy.")
        return ComplaintQuery(tickets=tuple(dict.fromkeys(i.upper() for i in ids)))
    codes = _listed(request, "service_code")
    known = {c["id"] for c in locality.complaint_categories}
    if any(code not in known for code in codes):
        raise BadRequest("service_code không có trong danh sách lĩnh vực (xem services.json).")
    statuses = set(_listed(request, "status"))
    if not statuses <= {"open", "closed"}:
        raise BadRequest("status chỉ nhận giá trị open hoặc closed.")
    start = _parse_date("start_date", request.query["start_date"]) if request.query.get("start_date") else None
    end = _parse_date("end_date", request.query["end_date"], end=True) if request.query.get("end_date") else None
    if start and end and start > end:
        raise BadRequest("start_date phải trước end_date.")
    return ComplaintQuery(categories=tuple(codes), open={"open": True, "closed": False}.get(" ".join(statuses)),
                          since=start, until=end, limit=size, offset=(page - 1) * size)


async def list_requests(request: web.Request) -> web.Response:
    locality, full = _locality(), _has_key(request)
    try:
        query = _query(request, locality, full)
    except BadRequest as e:
        return _errors(400, str(e))
    async with request.app[DB].session() as session:
        rows = await find_complaints(session, query)
    return _json([_public(locality, c, full) for c in rows])


async def get_request(request: web.Request) -> web.Response:
    ticket = request.match_info["id"].strip().upper()
    found = None
    if TICKET.fullmatch(ticket):
        async with request.app[DB].session() as session:
            found = await by_ticket(session, ticket)
    if found is None:
        return _errors(404, "Không tìm thấy phản ánh với mã này.")
    return _json([_public(_locality(), found, _has_key(request))])


# --- filing a request ------------------------------------------------------------------------

def _key_matches(given: str, keys: tuple[str, ...]) -> bool:
    """Every configured key is compared, in constant time, so timing reveals nothing."""
    given_b = given.encode("utf-8")
    return bool(given) and any([hmac.compare_digest(given_b, k.encode("utf-8")) for k in keys])


def _coordinate(form, name: str, bound: float) -> Optional[float]:
    raw = _clean(form.get(name, ""), 40)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        raise BadRequest(f"{name} phải là số thập phân trong khoảng -{bound:g} đến {bound:g}.")
    return value


def _new_complaint(form, locality: Locality) -> dict[str, Any]:
    """The validated fields of a POST, ready for file_complaint."""
    code = _clean(form.get("service_code", ""), 40)
    if code not in {c["id"] for c in locality.complaint_categories}:
        raise BadRequest("service_code không có trong danh sách lĩnh vực (xem services.json).")
    description = _clean(form.get("description", ""), MAX_DESCRIPTION + 1)
    if not MIN_DESCRIPTION <= len(description) <= MAX_DESCRIPTION:
        raise BadRequest(f"description (nội dung phản ánh) phải dài từ {MIN_DESCRIPTION} "
                         f"đến {MAX_DESCRIPTION} ký tự.")
    lat, lon = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (lon is None):
        raise BadRequest("Cần gửi cả lat và long, hoặc không gửi cả hai.")
    # Vietnamese order: family name (last_name) first.
    name = " ".join(p for p in (_clean(form.get("last_name", ""), 100), _clean(form.get("first_name", ""), 100)) if p)
    phone = normalize_phone(_clean(form.get("phone", ""), 40))
    if phone and not PHONE.match(phone):
        raise BadRequest("phone không phải số điện thoại hợp lệ.")
    _clean(form.get("email", ""), 320)  # accepted, not stored: the store has no place for it
    return {"category": code, "content": description, "place": _clean(form.get("address_string", ""), 500),
            "name": name, "phone": phone, "latitude": lat, "longitude": lon}


async def create_request(request: web.Request) -> web.Response:
    try:
        form = await request.post()
    except ValueError:  # undecodable body
        return _errors(400, "Nội dung yêu cầu không đọc được (cần application/x-www-form-urlencoded, UTF-8).")
    api_key = form.get("api_key", "")
    if not isinstance(api_key, str) or not _key_matches(api_key, request.app[SETTINGS].open311_api_keys):
        return _errors(403, "api_key không hợp lệ.")
    locality = _locality()
    try:
        fields = _new_complaint(form, locality)
    except BadRequest as e:
        return _errors(400, str(e))
    # Who filed it is the key's holder, not a citizen: a short hash names the key without revealing it.
    sender = "open311:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:8]
    latitude, longitude = fields.pop("latitude"), fields.pop("longitude")
    async with request.app[DB].session() as session:
        complaint = await file_complaint(session, locality, sender_id=sender, **fields)
        complaint.latitude, complaint.longitude = latitude, longitude
        await session.commit()
    r = route(locality, complaint.category)
    deadline = as_utc(complaint.deadline_at).astimezone(VIETNAM).strftime("%d/%m/%Y")
    notice = (f"Phản ánh đã được tiếp nhận với mã {complaint.ticket}, chuyển {r.agency_name} xử lý; "
              f"hạn trả lời: {deadline}.")
    return _json([{"service_request_id": complaint.ticket, "service_notice": notice,
                               "account_id": None}], status=201)

