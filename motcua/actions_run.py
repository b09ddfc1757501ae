"""`python -m motcua.actions_run --actions actions …`: rasa-sdk's action server, every line it prints
masked (phone and CCCD numbers, tracebacks included): rasa-sdk sets up its own logging."""
from __future__ import annotations

import runpy

from motcua.logs import mask_process_output

if __name__ == "__main__":
    mask_process_output()
    runpy.run_module("rasa_sdk", run_name="__main__", alter_sys=True)
