"""Load: N concurrent citizens through the Telegram webhook of the whole bot, against a plain
`rasa init` assistant over its REST channel, in the same run.

    .venv/bin/python -m bench.load [--levels 1,10,50,200] [--layout single|replicas]
                                   [--store sqlite|postgresql] [--rasa-stores memory|shared]
                                   [--turns-per-chat 8] [--min-turns 100] [--timeout 30]
                                   [--no-baseline] [--profile-level 50 --py-spy PATH]

(from the repository root: `make bench-load BENCH_ARGS="…"`).

Layouts (`--layout`):

- `single` (default): `motcua run`, one action server, one Rasa and one gateway under its
  supervisor; `--store sqlite` (default) or `postgresql`; Rasa's trackers and locks in memory
  unless `--rasa-stores shared`.
- `replicas`: production mode on loopback, as tests/test_scale.py and docker-compose.yml: two
  `motcua serve actions`, two `motcua serve rasa` (each calling its own action server; the SQL
  tracker store in a fresh PostgreSQL database and the Redis lock store, shared by both), two
  `motcua serve gateway` (distinct GATEWAY_IDs, RASA_URLS listing both Rasa servers, which they
  balance round robin) on the PostgreSQL bot store and case database. The load generator plays
  the round-robin proxy in front of the gateways: each chat's updates alternate between them.
  Implies `--store postgresql --rasa-stores shared`; neither may be changed.

`--rasa-stores shared` in the single layout (a fresh PostgreSQL tracker database, Redis locks)
compares one of each with the replicas on the same stores: `--store postgresql` alone keeps
Rasa's trackers in memory, which the replicas cannot. The Redis lock store is
`redis://127.0.0.1:6379/0` (another with `--env RASA_LOCK_STORE_URL=…`).

What it does, in order (progress is printed as it goes):

1. **Ours.** Trains the model if needed (`motcua.training.ensure_model`), creates its own bot
   store and case database (temporary SQLite files, or fresh PostgreSQL databases with
   `--store postgresql`, dropped at the end), imports `--dossiers` bench dossiers with
   `import_csv` (the code of `motcua cases import`), starts a fake Telegram Bot API in this
   process, then `motcua run` (action server, Rasa, gateway; with `--layout replicas` the six
   `motcua serve` processes) on free loopback ports with the Telegram webhook on, and waits for
   `/healthz` (of each gateway).
2. **Calibration.** Every script is played three times (other wordings), each in its own chat,
   and each step's replies are counted by waiting for a quiet period (`--quiet` s without a new
   sendMessage); a step whose count differs between plays stops the bench. With two gateways
   the plays start on alternate gateways, so each step is counted through both. Each step's
   content check (what the tests expect: "4 số cuối", "Hồ sơ <code>", "mã PA-", …) must pass.
3. **Levels.** For each concurrency level, that many citizens play at once, with no think time;
   each plays scripts one after another, each script one conversation in a fresh chat, until it
   has sent `--turns-per-chat` messages (at least `--min-turns` per level in all), waiting for
   each turn's replies before the next message, like a person. The mix: procedure questions with
   and without diacritics and in shorthand (and a button of a procedure card), dossier lookups
   (code, then the last 4 phone digits), and the complaint form (content, category button,
   place, name, phone or "Bỏ qua", confirm button, then the ticket's status), answering whatever
   the form asks. A turn is the POST of one update (message or button press) to
   `/telegram/webhook` with the secret header; it ends at the **last** sendMessage of that turn,
   known by the calibrated count of replies for that step; its latency is the time between the
   POST and that sendMessage reaching the fake Bot API. A turn without all its replies within
   `--timeout` s is an error (the citizen goes on with a new chat); a turn whose last reply
   fails the step's check is "wrong". After each level the bench waits a quiet second and
   counts replies beyond the calibrated ones ("extra"): non-zero would mean a wrong count.
4. **Baseline.** `rasa init --no-prompt` in a temporary folder (trained once and kept in
   `bench/results/baseline-rasa-init/`; `--fresh-baseline` makes a new one), then
   `rasa run --enable-api`; the same levels are played over its REST channel
   (`/webhooks/rest/webhook`, whose answer carries all the replies: latency is the request's)
   with English moodbot conversations.
5. NLU parse latency (`/model/parse`, one at a time, held-out texts), complaint writes per
   second on PostgreSQL (`file_complaint` from 1, 10 and 50 concurrent sessions, and SQLite
   for comparison), and the dossier lookup at 1,000,000 rows as measured by
   `bench/dossiers.py` (read from bench/results/dossiers.json when present, else the README).

Throughput is successful turns divided by the level's wall time (first POST to last reply).
CPU seconds of every process (from /proc) are recorded per level, as CPU ms per turn: the bench
itself (load generator and fake Bot API), each of our processes, the PostgreSQL backends
connected to our databases, the Redis server (when Rasa's stores are shared; it is the
machine's one), the machine's busy CPU (/proc/stat) and the rest of it ("other": PostgreSQL's
own writers, the kernel, anything else running on the machine). With PostgreSQL, the peak of
its client connections is recorded too (ours, and the server's: past its max_connections it
refuses them, which shows as webhook errors and "busy" replies, and is warned about).

Output: a header (layout, stores, load average), the latency table, a table of CPU ms per
turn, bench/results/load-<timestamp>.json (layout and processes under "ours") and
bench/results/load.png (p95 and throughput against concurrency, ours and baseline).

The parts: `cli` (the options and the run, in order), `stacks` (ours started: stores, dossiers,
processes), `baseline` (the `rasa init` assistant), `scripts` (what the citizens say), `systems`
(one turn against each system; the fake Bot API with its clock), `play` (calibration and levels),
`cpu` (CPU of every process, from /proc), `measures` (parse latency, complaint writes, dossier
lookups), `profiling` (py-spy), `report` (tables, plot). Processes are tests.support's Process.
"""
