"""Logging set-up: personal data (phone and CCCD numbers) is masked before any line is written."""
from __future__ import annotations

import logging
import re

# Vietnamese phone numbers (10 digits, or +84 and 9 digits) and CCCD/CMND numbers (9 or 12 digits),
# also written with spaces or dots between groups.
_PERSONAL_NUMBER = re.compile(r"(?<![\w.-])(?:\+?84[\s.]?|0)?\d(?:[\s.]?\d){7,11}(?![\w-])")


def mask_personal_data(text: str) -> str:
    def _mask(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if len(digits) < 9:
            return match.group(0)
        return "*" * (len(digits) - 2) + digits[-2:]

    return _PERSONAL_NUMBER.sub(_mask, text)


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
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PersonalDataFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
