"""Progress of a training run, read from the worker's lines (Rasa's own and its `@@ {json}` events)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

PROGRESS_PREFIX = "@@ "


_TRAINING = re.compile(r"Starting to train component '([^']+)'")
_DONE = re.compile(r"(?:Finished training component|Restored component) '([^']+)'")


def trainable_components(config: Path) -> int:
    """How many pipeline and policy components train (tokenizers and the fallback do not)."""
    import yaml

    data = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
    names = [str(c.get("name", "")) for c in (data.get("pipeline") or []) + (data.get("policies") or [])]
    return max(1, sum(1 for n in names if not n.endswith("Tokenizer") and n != "FallbackClassifier"))


class Progress:
    """Turns the worker's output into (percent, stage) updates for the page."""

    def __init__(self, components: int) -> None:
        self.components = components
        self.done = 0

    def feed(self, line: str) -> Optional[tuple[int, str]]:
        if line.startswith(PROGRESS_PREFIX):
            try:
                event = json.loads(line[len(PROGRESS_PREFIX):])
            except ValueError:
                return None
            return self._event(event)
        if "Started validating domain and training data" in line:
            return 5, "Đang kiểm tra dữ liệu huấn luyện"
        match = _TRAINING.search(line)
        if match:
            return self._train_pct(), f"Đang huấn luyện thành phần {match.group(1)} ({self.done + 1}/{self.components})"
        match = _DONE.search(line)
        if match:
            self.done = min(self.components, self.done + 1)
            return self._train_pct(), f"Đã xong thành phần {match.group(1)} ({self.done}/{self.components})"
        return None

    def _train_pct(self) -> int:
        return 10 + int(65 * self.done / self.components)

    @staticmethod
    def _event(event: dict) -> Optional[tuple[int, str]]:
        kind = event.get("event")
        if kind == "start":
            return 2, "Đang khởi động tiến trình huấn luyện"
        if kind == "trained":
            return 76, "Đã huấn luyện xong mô hình mới"
        if kind == "reused":
            return 76, "Dữ liệu này đã có mô hình, dùng lại để đánh giá"
        if kind == "eval":
            done, total = int(event.get("done", 0)), max(1, int(event.get("total", 1)))
            if event.get("model") == "candidate":
                return 78 + int(10 * done / total), f"Đang đánh giá mô hình mới trên tập kiểm tra ({done}/{total})"
            return 88 + int(8 * done / total), f"Đang đánh giá mô hình đang chạy ({done}/{total})"
        return None
