"""`python -m motcua.actions_run --actions actions …`: rasa-sdk's action server, every line it prints
masked (phone and CCCD numbers, tracebacks included): rasa-sdk sets up its own logging. When the
server stops, the databases the actions opened are closed: an open SQLite connection's thread kept
the process alive after SIGTERM until it was killed."""
from __future__ import annotations

import runpy
from typing import Any

from motcua.logs import mask_process_output
from motcua.store import dispose_all


def close_databases_at_stop() -> None:
    """rasa-sdk's app gets a listener that closes every database after the server stops."""
    import rasa_sdk.endpoint as endpoint

    create_app = endpoint.create_app
    if getattr(create_app, "_motcua", False):
        return

    def create_app_closing(*args: Any, **kwargs: Any) -> Any:
        app = create_app(*args, **kwargs)

        async def close(_app: Any, _loop: Any) -> None:
            await dispose_all()

        app.register_listener(close, "after_server_stop")
        return app

    create_app_closing._motcua = True  # type: ignore[attr-defined]
    endpoint.create_app = create_app_closing


if __name__ == "__main__":
    mask_process_output()
    close_databases_at_stop()
    runpy.run_module("rasa_sdk", run_name="__main__", alter_sys=True)
