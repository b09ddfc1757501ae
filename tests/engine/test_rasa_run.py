"""motcua/rasa_run.py: Rasa's speed-ups keep Rasa's behaviour."""
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from jsonschema import ValidationError
from rasa.core import tracker_store
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import InMemoryTrackerStore, TrackerDeserialisationException
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from motcua import cli, rasa_run
from motcua.rasa_api import INTENT_KEY
from motcua.rasa_run import TOKEN_ENV, with_token
from motcua.settings import Settings

GOOD = {"events": [{"event": "slot", "name": "complaint_place", "value": "-", "timestamp": None},
                   {"event": "active_loop", "name": None}],
        "responses": [{"text": "Phản ánh của anh/chị thuộc lĩnh vực nào?", "buttons": []}]}
BAD = [{"events": [{"event": "slot", "timestamp": "x"}], "responses": "no"},
       {"events": "none"},
       {"events": [{"event": "no_such_event"}]}]


def error_of(action: RemoteAction, result: dict) -> str:
    with pytest.raises(ValidationError) as raised:
        action._validate_action_result(result)
    return raised.value.message


def test_action_results_are_validated_as_rasa_does(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    action = RemoteAction("validate_complaint_form", None)
    assert action._validate_action_result(GOOD) is True
    expected = [error_of(action, bad) for bad in BAD]
    rasa_run.patch_action_result_validation()
    assert getattr(RemoteAction._validate_action_result, "_motcua", False)
    assert action._validate_action_result(GOOD) is True
    assert [error_of(action, bad) for bad in BAD] == expected
    assert "Failed to validate Action server response" in expected[0]


def test_parses_are_cached_per_model_and_text_and_returned_as_copies(monkeypatch):
    calls = []

    def parse(self, message, tracker, only_output_properties=True):
        calls.append((self.model_metadata.model_id, message.text))
        return {"text": message.text, "intent": {"name": "greet", "confidence": 0.9}, "entities": []}

    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", parse)
    rasa_run.patch_parse_cache(size=2)
    processor = SimpleNamespace(model_metadata=SimpleNamespace(model_id="m1"))
    promoted = SimpleNamespace(model_metadata=SimpleNamespace(model_id="m2"))
    run = MessageProcessor._parse_message_with_graph

    first = run(processor, SimpleNamespace(text="xin chào"), None)
    first["intent"]["name"] = "changed by the caller"
    again = run(processor, SimpleNamespace(text="xin chào"), None)
    assert again["intent"]["name"] == "greet" and calls == [("m1", "xin chào")]
    run(promoted, SimpleNamespace(text="xin chào"), None)  # a new model parses again
    run(processor, SimpleNamespace(text="a" * 1000), None)  # long texts are not kept
    run(processor, SimpleNamespace(text="a" * 1000), None)
    assert calls[1:] == [("m2", "xin chào"), ("m1", "a" * 1000), ("m1", "a" * 1000)]
    run(processor, SimpleNamespace(text="b"), None)  # the cache holds 2: "xin chào" (m1) goes
    run(processor, SimpleNamespace(text="xin chào"), None)
    assert calls[-1] == ("m1", "xin chào")


async def test_the_rest_answer_ends_with_the_intent_of_the_message(monkeypatch):
    """What the REST channel returns: the replies, then {"custom": {INTENT_KEY: intent}}; another
    output channel's answer (None) is left alone."""
    async def log_message(self, message, should_save_tracker=True):
        return SimpleNamespace(latest_message=SimpleNamespace(intent={"name": "ask_office_info", "confidence": 0.9}))

    async def handle_message(self, message):
        await self.log_message(message, should_save_tracker=False)
        message.output_channel.messages.append({"recipient_id": message.sender_id, "text": "Giờ làm việc …"})
        return message.output_channel.messages if isinstance(message.output_channel, CollectingOutputChannel) else None

    monkeypatch.setattr(MessageProcessor, "log_message", log_message)
    monkeypatch.setattr(MessageProcessor, "handle_message", handle_message)
    rasa_run.patch_intent_in_reply()
    rasa_run.patch_intent_in_reply()  # once only
    processor = SimpleNamespace()
    processor.log_message = lambda *a, **k: MessageProcessor.log_message(processor, *a, **k)
    answer = await MessageProcessor.handle_message(processor, UserMessage("mấy giờ làm việc", CollectingOutputChannel(),
                                                                          sender_id="web:x"))
    assert answer == [{"recipient_id": "web:x", "text": "Giờ làm việc …"},
                      {"recipient_id": "web:x", "custom": {INTENT_KEY: "ask_office_info"}}]
    other = SimpleNamespace(messages=[])
    assert await MessageProcessor.handle_message(processor, UserMessage("x", other, sender_id="web:y")) is None


def test_event_classes_are_found_by_name_as_rasa_finds_them(monkeypatch):
    monkeypatch.setattr(Event, "resolve_by_type", Event.resolve_by_type)
    names = ["user", "bot", "slot", "action", "active_loop", "session_started", "followup", "restart"]
    expected = [Event.resolve_by_type(n) for n in names]
    rasa_run.patch_event_type_lookup()
    assert [Event.resolve_by_type(n) for n in names] == expected
    assert Event.resolve_by_type("topic") is None  # Rasa's old TopicSet events
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")
    assert DialogueStateTracker.from_dict("s1", [e.as_dict() for e in [UserUttered("xin chào"), SlotSet("a", 1)]]) \
        .get_slot("a") == 1


async def test_calls_to_an_endpoint_share_one_session_and_connection(monkeypatch):
    """Two calls to the action server go over one kept connection, and give what Rasa's gave."""
    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    peers = []

    async def webhook(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"events": [], "responses": [{"text": (await request.json())["next_action"]}]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    try:
        endpoint = EndpointConfig(str(server.make_url("/webhook")))
        before = await endpoint.request(json={"next_action": "a"}, method="post")
        rasa_run.patch_endpoint_sessions()
        after = [await endpoint.request(json={"next_action": n}, method="post") for n in ("b", "c")]
    finally:
        await server.close()
    assert before == {"events": [], "responses": [{"text": "a"}]}
    assert [r["responses"][0]["text"] for r in after] == ["b", "c"]
    assert peers[1] == peers[2] != peers[0]  # Rasa's own call had a connection of its own


def test_trackers_are_stored_and_read_back_as_before(monkeypatch):
    monkeypatch.setattr(tracker_store, "json", json)
    events = [UserUttered("Xin chào / làm sổ đỏ", {"name": "greet", "confidence": 0.93}), SlotSet("a", 1.5),
              ActionExecuted("utter_greet")]
    tracker = DialogueStateTracker.from_events("s1", events)
    store = InMemoryTrackerStore(Domain.empty())
    before = store.serialise_tracker(tracker)
    rasa_run.patch_fast_json()
    after = store.serialise_tracker(tracker)
    assert json.loads(after) == json.loads(before)
    for text in (before, after):
        assert store.deserialise_tracker("s1", text).as_dialogue().as_dict() == tracker.as_dialogue().as_dict()
    with pytest.raises(TrackerDeserialisationException):
        store.deserialise_tracker("s1", b"\xff\xfe not json")


async def test_trackers_in_memory_are_dropped_after_a_quiet_spell(monkeypatch):
    monkeypatch.setattr(InMemoryTrackerStore, "save", InMemoryTrackerStore.save)
    now = [0.0]
    rasa_run.patch_tracker_expiry(hours=1, clock=lambda: now[0])
    store = InMemoryTrackerStore(Domain.empty())

    async def say(sender: str, at_minute: float) -> None:
        now[0] = at_minute * 60
        await store.save(DialogueStateTracker.from_events(sender, [UserUttered("xin chào")]))

    await say("a", 0)
    await say("b", 30)
    await say("a", 50)  # a wrote again: kept from minute 50
    await say("c", 95)  # b's last message was 65 minutes ago
    assert sorted(await store.keys()) == ["a", "c"]
    assert await store.retrieve("b") is None
    await say("c", 111)  # a's hour is up
    assert list(await store.keys()) == ["c"]
    assert (await store.retrieve("c")).latest_message.text == "xin chào"


class AddInputs(GraphComponent):
    """A graph node that adds what it is given (and 1 when given nothing)."""

    @classmethod
    def create(cls, config, model_storage, resource, execution_context):  # noqa: ANN001, ANN206
        return cls()

    def add(self, **numbers: int) -> int:
        return sum(numbers.values()) if numbers else 1


def test_the_graph_runs_to_the_same_results(monkeypatch, tmp_path):
    """A small graph, with dask's local scheduler and with the plain in-order one."""
    monkeypatch.setattr(DaskGraphRunner, "run", DaskGraphRunner.run)
    schema = GraphSchema({
        "one": SchemaNode({}, AddInputs, "create", "add", {}),
        "b": SchemaNode({"i": "one", "j": "given"}, AddInputs, "create", "add", {}),
        "c": SchemaNode({"i": "b", "j": "one"}, AddInputs, "create", "add", {}, is_target=True),
    })

    def run() -> dict:
        runner = DaskGraphRunner.create(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "m"))
        return runner.run(inputs={"given": 5})

    before = run()
    rasa_run.patch_graph_runner()
    assert run() == before == {"c": 7}


def test_the_rasa_token_travels_in_the_environment_not_on_the_command_line(monkeypatch):
    """Issue 15 (low): `ps` shows every user a process's command line; the token is not on it."""
    # Which model Rasa would load does not matter here (finding it may mean training one).
    monkeypatch.setattr(cli, "_rasa_model", lambda settings: Path("models/any.tar.gz"))
    argv, env = cli._rasa_command(Settings(), "-secret-token", "127.0.0.1", 5999)
    assert not any("secret-token" in a for a in argv) and env[TOKEN_ENV] == "-secret-token"
    given = with_token(argv[2:], env)  # what motcua.rasa_run gives Rasa inside the process
    assert given[-1] == "--auth-token=-secret-token"
    assert with_token(["motcua.rasa_run", "data", "validate"], env) == ["motcua.rasa_run", "data", "validate"]
