"""Logging set-up: personal data (phone and CCCD numbers) is masked before any line is written."""
from __future__ import annotations

import io
import logging
import re
import sys

# Vietnamese phone numbers (10 digits, or +84 and 9 digits) and CCCD/CMND numbers (9 or 12 digits),
# however they are written: "0912 345 678", "0912-345-678", "(091) 2345678", "sdt0912345678",
# "001-203-004-567". A run of digits with single separators between them; 9 to 12 digits is masked.
_PERSONAL_NUMBER = re.compile(r"(?<![\d])\+?\(?\d(?:[\s.\-()]{0,2}\d){7,13}(?!\d)")
# What is not personal data and must stay readable: codes (dossier, ticket, booking) and dates with
# their time ("2026-12-06 07:59:37", a log line's own timestamp, is 10 digits with separators).
_CODES = re.compile(r"[A-Z0-9][A-Z0-9.]*-\d{6}-\d{3,6}|\b(?:PA|LH)-\d{4}-\d{6}\b"
                    r"|(?<![\d.\-])(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
                    r"(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?)?(?![\d.\-])", re.IGNORECASE)


def mask_personal_data(text: str, keep: int = 2) -> str:
    """Phone and CCCD numbers masked but for their last `keep` digits (0 for what is published)."""
    def _mask(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if not 9 <= len(digits) <= 12:
            return match.group(0)
        return "*" * (len(digits) - keep) + digits[len(digits) - keep:]

    out, last = [], 0
    for code in _CODES.finditer(text):
        out.append(_PERSONAL_NUMBER.sub(_mask, text[last:code.start()]))
        out.append(code.group(0))
        last = code.end()
    out.append(_PERSONAL_NUMBER.sub(_mask, text[last:]))
    return "".join(out)


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted record: the message, its arguments and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal_data(super().format(record))


class MaskingStream(io.TextIOBase):
    """A text stream that masks what goes through it, line by line: for processes whose logging is
    set up by someone else (Rasa, the action server), every line they print is masked."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self._stream, self._pending = stream, ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            done, self._pending = self._pending.rsplit("\n", 1)
            self._stream.write(mask_personal_data(done) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(mask_personal_data(self._pending))
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only here, as on sys.stdout
        return self._stream.encoding


def mask_process_output() -> None:
    """Every line this process prints from now on is masked (before any logging is configured)."""
    if not isinstance(sys.stdout, MaskingStream):
        sys.stdout, sys.stderr = MaskingStream(sys.stdout), MaskingStream(sys.stderr)


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logged as it is
            return True
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
