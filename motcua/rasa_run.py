"""`python -m motcua.rasa_run run …`: Rasa's own command line, with measured speed-ups applied first.

`motcua run` starts Rasa through this module. Each patch keeps Rasa's behaviour and is there
because the load bench's profile (bench/load/) showed its cost (README, "Measurements"):

- Rasa 3.6 checks every answer of the action server with `jsonschema.validate(result, schema)`,
  which first validates its own constant schema against the JSON Schema meta-schema, every time.
  With jsonschema 4.17 that meta-schema check was half of Rasa's CPU time per turn under load
  (forms call the action server at every step). The answer is still validated, with the same
  schema and the same error message, by a validator built (and checked) once.
- The NLU output for a message depends only on its text and the model (the same whatever the
  tracker, sender or metadata): identical texts, button payloads above all (they go through the
  whole pipeline too), are parsed once per model and kept in a bounded LRU cache; a copy is
  returned each time. A new model (another model id) starts afresh. Hits are logged now and then.
- Every call to the action server opened a new aiohttp session, so a new TCP connection (and a new
  connection task on the action server's side): the session is now kept, per endpoint settings,
  with idle connections dropped before the action server's Sanic drops them (5 s).
- Rasa looks up an event's class by its type name by walking every Event subclass, for every event
  of a tracker it reads back from its store (every turn): the classes are now kept in a table, built
  again when a name is missing from it (a class imported since).
- Rasa's tracker stores write and read every tracker (in memory: whole, every turn) and the
  action server calls carry the tracker, all with the standard library's JSON: ujson (already
  installed with Sanic) does it instead, with the same JSON out and the same errors for bad input.
- Rasa's in-memory tracker store (no RASA_TRACKER_STORE_URL) keeps every conversation's tracker
  for the life of the process, ~4 KB a turn (bench/load --soak): a tracker not saved for
  RASA_MEMORY_TRACKER_HOURS is dropped when the next tracker is saved; its citizen's next message
  starts afresh, as after a restart.
- Each prediction ran the model's graph through dask's local scheduler (ordering, callbacks, a
  thread pool's machinery for one thread): it runs through dask's plain in-order `get`, which
  computes the same tasks in dependency order.

Not a speed-up, one addition: the REST channel's answer ends with the intent the model gave the
message (a `custom` item, `INTENT_KEY`), which the gateway stores for the reports.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import sys
import time
from collections import OrderedDict
from typing import Any, Callable, Mapping

from motcua.logs import mask_process_output
from motcua.rasa_api import INTENT_KEY
from motcua.settings import Settings

# The API token, passed by `motcua run`/`motcua serve rasa` in the environment rather than on the
# command line (visible to every user of the machine through `ps`).
TOKEN_ENV = "MOTCUA_RASA_AUTH_TOKEN"
# Under "rasa": Rasa sets the level of its own loggers only (INFO by default, LOG_LEVEL).
log = logging.getLogger("rasa.motcua")
PARSE_CACHE_SIZE = 4096
PARSE_CACHE_MAX_CHARS = 500
# Below the keep-alive of Sanic (the action server's web server, 5 s): a connection is never
# reused just as the server closes it.
KEEPALIVE_SECONDS = 3.0


def patch_action_result_validation() -> None:
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction._validate_action_result, "_motcua", False):
        return
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        # What jsonschema.validate does, less the schema check: the best-matching error is raised.
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    _validate_action_result._motcua = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result


def patch_parse_cache(size: int = PARSE_CACHE_SIZE) -> None:
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._parse_message_with_graph
    if getattr(original, "_motcua", False):
        return
    cache: "OrderedDict[tuple, dict[str, Any]]" = OrderedDict()
    counts = {"hits": 0, "lookups": 0}

    def _parse_message_with_graph(self: MessageProcessor, message: Any, tracker: Any,
                                  only_output_properties: bool = True) -> dict[str, Any]:
        text = message.text
        if not isinstance(text, str) or len(text) > PARSE_CACHE_MAX_CHARS:
            return original(self, message, tracker, only_output_properties)
        key = (self.model_metadata.model_id, only_output_properties, text)
        counts["lookups"] += 1
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            counts["hits"] += 1
        else:
            found = original(self, message, tracker, only_output_properties)
            cache[key] = copy.deepcopy(found)
            if len(cache) > size:
                cache.popitem(last=False)
        if counts["lookups"] % 500 == 0:
            log.info("NLU cache: %d hits / %d lookups", counts["hits"], counts["lookups"])
        return copy.deepcopy(found)

    _parse_message_with_graph._motcua = True  # type: ignore[attr-defined]
    MessageProcessor._parse_message_with_graph = _parse_message_with_graph


def patch_intent_in_reply() -> None:
    """The REST channel's answer ends with a `custom` item naming the intent the model gave the
    message ({INTENT_KEY: name}): the gateway stores it with the citizen's message for the
    reports' top intents, without a second parse or a read of the tracker."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor

    original_log, original_handle = MessageProcessor.log_message, MessageProcessor.handle_message
    if getattr(original_handle, "_motcua", False):
        return

    async def log_message(self: MessageProcessor, message: Any, should_save_tracker: bool = True) -> Any:
        tracker = await original_log(self, message, should_save_tracker)
        if isinstance(message.output_channel, CollectingOutputChannel):
            message.output_channel.motcua_intent = (tracker.latest_message.intent or {}).get("name")
        return tracker

    async def handle_message(self: MessageProcessor, message: Any) -> Any:
        answer = await original_handle(self, message)
        intent = getattr(message.output_channel, "motcua_intent", None)
        if isinstance(answer, list) and intent:
            answer.append({"recipient_id": message.sender_id, "custom": {INTENT_KEY: intent}})
        return answer

    handle_message._motcua = True  # type: ignore[attr-defined]
    MessageProcessor.log_message = log_message
    MessageProcessor.handle_message = handle_message


class _KeptSession:
    """`async with endpoint.session() as s`, as Rasa writes it, without closing the session."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *exc: Any) -> None:
        return None


def patch_endpoint_sessions(keepalive: float = KEEPALIVE_SECONDS) -> None:
    import aiohttp
    import ujson
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    original = EndpointConfig.session
    if getattr(original, "_motcua", False):
        return
    sessions: dict[tuple, Any] = {}

    def session(self: EndpointConfig) -> Any:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside an event loop: Rasa's own, closed by its caller
            return original(self)
        auth = (self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
        key = (id(loop), tuple(sorted((self.headers or {}).items())), auth)
        owner, kept = sessions.get(key, (None, None))
        if kept is None or kept.closed or owner is not loop:
            kept = aiohttp.ClientSession(headers=self.headers, auth=aiohttp.BasicAuth(*auth) if auth else None,
                                         timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                                         connector=aiohttp.TCPConnector(keepalive_timeout=keepalive),
                                         json_serialize=ujson.dumps)
            sessions[key] = (loop, kept)
        return _KeptSession(kept)

    session._motcua = True  # type: ignore[attr-defined]
    EndpointConfig.session = session


def patch_event_type_lookup() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    original = Event.resolve_by_type
    if getattr(original, "_motcua", False):
        return
    by_name: dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        cls = by_name.get(type_name)
        if cls is None:
            for subclass in all_subclasses(Event):  # Rasa's order: the first class of a name wins
                by_name.setdefault(subclass.type_name, subclass)
            cls = by_name.get(type_name)
        return cls if cls is not None else original(type_name, default)

    resolve_by_type._motcua = True  # type: ignore[attr-defined]
    Event.resolve_by_type = staticmethod(resolve_by_type)


class _FastJson:
    """The `json` of Rasa's tracker stores (dumps, loads), with ujson underneath (the module given:
    it is installed with Rasa only, and this module is imported by the gateway's tests too)."""

    JSONDecodeError = ValueError

    def __init__(self, ujson: Any) -> None:
        self._ujson = ujson

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return json.dumps(obj, **kwargs) if kwargs else self._ujson.dumps(obj)

    def loads(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, (bytes, bytearray)):
            data = data.decode("utf-8")  # a UnicodeDecodeError, as json.loads gives
        return json.loads(data, **kwargs) if kwargs else self._ujson.loads(data)


def patch_fast_json() -> None:
    import rasa.core.tracker_store as tracker_store
    import ujson

    tracker_store.json = _FastJson(ujson)


def patch_graph_runner() -> None:
    import dask.core
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    if getattr(DaskGraphRunner.run, "_motcua", False):
        return

    def run(self: DaskGraphRunner, inputs: Any = None, targets: Any = None) -> dict[str, Any]:
        # Rasa's DaskGraphRunner.run, with dask.core.get for dask.get (dask.local.get_sync).
        run_targets = targets if targets else self._graph_schema.target_names
        run_graph = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
        if inputs:
            self._add_inputs_to_graph(inputs, run_graph)
        try:
            return dict(dask.core.get(run_graph, run_targets))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e

    run._motcua = True  # type: ignore[attr-defined]
    DaskGraphRunner.run = run


def patch_tracker_expiry(hours: float, clock: Callable[[], float] = time.monotonic) -> None:
    from rasa.core.tracker_store import InMemoryTrackerStore

    original = InMemoryTrackerStore.save
    if hours <= 0 or getattr(original, "_motcua", False):
        return

    async def save(self: InMemoryTrackerStore, tracker: Any) -> None:
        await original(self, tracker)
        # sender → when saved, oldest first (one per store: a model swap brings a new store)
        saved: OrderedDict[str, float] = self.__dict__.setdefault("_motcua_saved", OrderedDict())
        now = clock()
        saved[tracker.sender_id] = now
        saved.move_to_end(tracker.sender_id)
        while saved:
            sender, at = next(iter(saved.items()))
            if now - at < hours * 3600:
                break
            del saved[sender]
            self.store.pop(sender, None)

    save._motcua = True  # type: ignore[attr-defined]
    InMemoryTrackerStore.save = save


def with_token(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """`rasa run` with the token of the environment given to Rasa's own option, inside this process."""
    token = environ.get(TOKEN_ENV)
    if token and len(argv) > 1 and argv[1] == "run" and not any(a.startswith("--auth-token") for a in argv):
        return argv + [f"--auth-token={token}"]  # joined: a token starting with "-" is not an option
    return argv


def main() -> None:
    mask_process_output()  # Rasa sets up its own logging: every line it prints is masked here
    sys.argv = with_token(sys.argv, os.environ)
    patch_action_result_validation()
    patch_parse_cache()
    patch_intent_in_reply()
    patch_endpoint_sessions()
    patch_event_type_lookup()
    patch_fast_json()
    patch_graph_runner()
    patch_tracker_expiry(Settings.from_env().rasa_memory_tracker_hours)
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
