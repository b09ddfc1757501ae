"""What the tests (and bench/load) share besides pytest's fixtures, which stay in tests/conftest.py:

- `processes`: Process, one server run as a child process (start, wait for its HTTP port, stop,
  its output); free_port; the engine's and the gateway's interpreters.
- `servers`: Rasa, the action server and `motcua serve …` as Processes; the test dossiers.
- `databases`: fresh PostgreSQL databases on MOTCUA_TEST_PG_DSN's server.
- `gateway`: the gateway app in-process (start_gateway) and the settings tests give it.
- `chat`: citizens' turns against it (web chat, Telegram webhook).
- `fake_telegram`, `fake_zalo`: local fakes of the Telegram Bot API and the Zalo Bot Platform, in
  their real JSON shapes.
- `browser`: the chromium the browser tests drive.
"""
