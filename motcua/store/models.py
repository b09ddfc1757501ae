"""SQLAlchemy models of the bot's own store (DATABASE_URL)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

# SQLAlchemy 1.4 has no type information: its base class is Any to the type checker.
Base: Any = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Conversation(Base):
    """One citizen's chat on one channel (web, telegram, zalo, zalo_oa)."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_conversation_channel_chat"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    chat_id = Column(String(128), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_message_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    messages = relationship("Message", back_populates="conversation", order_by="Message.id")

    @property
    def sender_id(self) -> str:
        """The id Rasa knows this conversation by."""
        return f"{self.channel}:{self.chat_id}"


class Message(Base):
    """Every message in and out, stored before it is answered or sent."""

    __tablename__ = "messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True)
    direction = Column(String(3), nullable=False)  # "in" or "out"
    text = Column(Text, nullable=False, default="")
    buttons = Column(JSON, nullable=True)
    # True for messages the bot sends on its own (notifications), which the channel must push.
    push = Column(Boolean, nullable=False, default=False)
    # The inbox update this message belongs to: the citizen's message it came in (storing it again
    # on a retry is a no-op), or the message an update of the officials' group pushed to a citizen
    # (an update processed again after a crash does not push it twice).
    inbox_id = Column(Integer, nullable=True, unique=True)
    # For pushed messages on channels that may refuse them: "outside_window", "failed"; in the
    # outbox: "retry", "sending" (claimed by one gateway), "sent".
    delivery = Column(String(16), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # Sent once (migration 0014): when the platform accepted the whole message, and the ids it gave
    # the parts it accepted so far (space-separated; a long reply goes out in parts). A message
    # sent again after a crash skips what the platform already took. For a citizen's message
    # during a handoff, delivered_at is when it was relayed to the officials.
    delivered_at = Column(DateTime(timezone=True), nullable=True)
    platform_ids = Column(Text, nullable=True)
    # The gateway sending a pushed message or holding an outbox claim (GATEWAY_ID): if it dies
    # before the platform accepts the message, its next incarnation or another gateway sends it.
    claimed_by = Column(String(100), nullable=True)
    # A citizen's message: the intent Rasa's model gave it (migration 0019; the reports' top
    # intents). None for buttons' payloads read before 0019, replayed answers and the bot's messages.
    intent = Column(String(64), nullable=True)

    conversation = relationship("Conversation", back_populates="messages")


# Partial indexes (migration 0014): the outbox's pass reads only messages waiting for it, and only
# messages in flight are looked at for a gateway that died; a turn's replies enter neither.
_WAITING = Message.delivery.isnot(None)
_IN_FLIGHT = Message.claimed_by.isnot(None) & Message.delivered_at.is_(None)
Index("ix_messages_delivery", Message.delivery, sqlite_where=_WAITING, postgresql_where=_WAITING)
Index("ix_messages_in_flight", Message.claimed_by, sqlite_where=_IN_FLIGHT, postgresql_where=_IN_FLIGHT)


class DossierLookup(Base):
    """Audit of every dossier lookup: who (chat), which code, what happened. Never the phone."""

    __tablename__ = "dossier_lookups"
    # The per-code lock reads a code's recent failures (migration 0012), the per-client one a web
    # chat client's (0013).
    __table_args__ = (Index("ix_dossier_lookups_code_created", "code", "created_at"),
                      Index("ix_dossier_lookups_client_created", "client_key", "created_at"))

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200), nullable=False)
    code = Column(String(64), nullable=False, default="")
    # verified, ticket_verified, failed, locked (the chat), code_locked (the code or ticket),
    # client_locked (the web chat client's address), unavailable
    outcome = Column(String(16), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # The web chat client's address, hashed (bot/remote.py: client_key); None on other channels,
    # whose chats are platform accounts rather than ids a script can make up.
    client_key = Column(String(32), nullable=True)


class DossierSubscription(Base):
    """A verified chat asked to be told when its dossier changes."""

    __tablename__ = "dossier_subscriptions"
    __table_args__ = (UniqueConstraint("sender_id", "code", name="uq_subscription_sender_code"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200), nullable=False)
    code = Column(String(64), nullable=False, index=True)
    # What the citizen was last told; the watcher compares the case database against it.
    last_status = Column(String(20), nullable=False)
    last_due_at = Column(DateTime(timezone=True), nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    # The due date the citizen was reminded of (the working day before it); a moved date is reminded again.
    reminded_due_at = Column(DateTime(timezone=True), nullable=True)


class TicketCounter(Base):
    """The last ticket number given in a year; incremented inside the filing transaction."""

    __tablename__ = "ticket_counters"

    year = Column(Integer, primary_key=True)
    last = Column(Integer, nullable=False, default=0)


class Complaint(Base):
    """Feedback (phản ánh, kiến nghị) filed by a citizen: a ticket owned by an agency, with a deadline."""

    __tablename__ = "complaints"

    id = Column(Integer, primary_key=True)
    ticket = Column(String(16), nullable=False, unique=True)
    sender_id = Column(String(200), nullable=False, index=True)
    content = Column(Text, nullable=False)
    category = Column(String(40), nullable=False)
    place = Column(Text, nullable=False, default="")
    name = Column(String(200), nullable=False, default="")
    phone = Column(String(20), nullable=False, default="")
    agency = Column(String(64), nullable=False)
    # new → in_progress → resolved (→ reopened → …)
    status = Column(String(16), nullable=False, default="new")
    deadline_at = Column(DateTime(timezone=True), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    resolved_at = Column(DateTime(timezone=True), nullable=True)
    # A shared location (Telegram/Zalo) and a photo's file reference on its channel.
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    photo = Column(Text, nullable=True)
    assigned_to = Column(Integer, ForeignKey("officials.id", ondelete="SET NULL"), nullable=True)
    # Escalation: the warning before the deadline and the escalation after it happen once each.
    due_soon_at = Column(DateTime(timezone=True), nullable=True)
    escalated_at = Column(DateTime(timezone=True), nullable=True)
    escalated_to = Column(String(64), nullable=True)
    # The post about this ticket in the officials' Telegram group (-1 while being posted).
    officials_post_id = Column(Integer, nullable=True)
    # Content, place and name folded (lower case, no diacritics) for the dashboard's search.
    search_text = Column(Text, nullable=False, default="")


class ComplaintEvent(Base):
    """Every change to a complaint: who did what, when (the audit log)."""

    __tablename__ = "complaint_events"

    id = Column(Integer, primary_key=True)
    complaint_id = Column(Integer, ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False, index=True)
    actor = Column(String(200), nullable=False)
    action = Column(String(32), nullable=False)
    detail = Column(Text, nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class InboxUpdate(Base):
    """Every incoming channel update, stored before it is processed: a retried delivery finds
    its row and is not answered twice; a row left unfinished is processed at the next start."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_inbox_channel_update"),)

    id = Column(Integer, primary_key=True)
    channel = Column(String(16), nullable=False)
    update_id = Column(String(64), nullable=False)
    payload = Column(JSON, nullable=False)
    status = Column(String(12), nullable=False, default="received")  # received, done, failed
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    processed_at = Column(DateTime(timezone=True), nullable=True)
    # The gateway processing it (GATEWAY_ID): with several gateways, only the owner, its next
    # incarnation, or — once the owner stopped beating — another gateway takes it up again.
    owner = Column(String(100), nullable=True)
    # The chat it belongs to: with several gateways, a chat's later update waits for its earlier ones.
    chat_key = Column(String(100), nullable=True)


class GatewayHeartbeat(Base):
    """Each gateway's last sign of life (see InboxUpdate.owner)."""

    __tablename__ = "gateway_heartbeats"

    gateway_id = Column(String(100), primary_key=True)
    last_seen = Column(DateTime(timezone=True), nullable=False)


class ButtonPayload(Base):
    """Button payloads too long for a channel's callback data (Telegram allows 64 bytes)."""

    __tablename__ = "button_payloads"

    key = Column(String(32), primary_key=True)
    payload = Column(Text, nullable=False)


class OaToken(Base):
    """The Zalo OA access token and the refresh token Zalo gave last (each refresh replaces both)."""

    __tablename__ = "oa_tokens"

    app_id = Column(String(64), primary_key=True)
    access_token = Column(Text, nullable=False)
    refresh_token = Column(Text, nullable=True)
    expires_at = Column(DateTime(timezone=True), nullable=True)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Official(Base):
    """A person who signs in to the dashboard: an agency's official, a supervisor or an admin."""

    __tablename__ = "officials"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    full_name = Column(String(200), nullable=False, default="")
    # scrypt$<salt hex>$<hash hex>
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False, default="official")  # official, supervisor, admin
    agency = Column(String(64), nullable=True)  # officials see their agency's complaints
    telegram_user_id = Column(String(32), nullable=True, unique=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    token_hash = Column(String(64), primary_key=True)
    official_id = Column(Integer, ForeignKey("officials.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False)


class Rating(Base):
    """A citizen's satisfaction: Rất hài lòng / Hài lòng / Không hài lòng (+ reason)."""

    __tablename__ = "ratings"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200), nullable=False, index=True)
    subject = Column(String(16), nullable=False)  # complaint, dossier, procedure, service
    subject_ref = Column(String(64), nullable=False, default="")  # ticket, dossier code, procedure id
    agency = Column(String(64), nullable=True)
    level = Column(String(20), nullable=False)  # very_satisfied, satisfied, unsatisfied
    reason = Column(Text, nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Handoff(Base):
    """A citizen's conversation handed to officials: the bot stays silent until it ends."""

    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200), nullable=False, index=True)
    status = Column(String(12), nullable=False, default="waiting")  # waiting, active, ended
    official = Column(String(200), nullable=True)  # who is talking (dashboard name or Telegram name)
    officials_post_id = Column(Integer, nullable=True)  # its post in the officials' Telegram group
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_activity_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    ended_at = Column(DateTime(timezone=True), nullable=True)
    ended_by = Column(String(200), nullable=True)


class FormalGuidance(Base):
    """The bot explained the formal route for a khiếu nại or tố cáo (they are not feedback tickets)."""

    __tablename__ = "formal_guidance"

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # khieu_nai, to_cao
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class NluInboxItem(Base):
    """A citizen message the bot may have misunderstood, kept for admins to annotate (issue 8):
    low intent confidence (the fallback), a procedure answer marked unhelpful, or the message
    before a handoff to officials. The text is stored with phone and CCCD numbers masked."""

    __tablename__ = "nlu_inbox"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_nlu_inbox_source"),)

    id = Column(Integer, primary_key=True)
    sender_id = Column(String(200), nullable=False, index=True)
    text = Column(Text, nullable=False)
    # fold(text): lower case, no diacritics, shorthand expanded; identical ones are one group.
    folded = Column(String(500), nullable=False, index=True)
    # Why it is here: fallback (low confidence), unhelpful (rating), handoff; harvested rows
    # keep the rating's or handoff's id, so harvesting twice adds nothing.
    source = Column(String(16), nullable=False)
    source_id = Column(Integer, nullable=True)
    intent = Column(String(64), nullable=True)  # the classifier's best intent (before the fallback)
    confidence = Column(Float, nullable=True)
    ranking = Column(JSON, nullable=True)  # [[intent, confidence], …] top 3
    procedure = Column(String(64), nullable=True)  # the procedure the bot understood, if any
    # new → annotated | dismissed (| skipped: a harvested rating/handoff with no citizen wording)
    status = Column(String(12), nullable=False, default="new", index=True)
    resolved_intent = Column(String(64), nullable=True)
    resolved_by = Column(String(200), nullable=True)
    resolved_at = Column(DateTime(timezone=True), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class ModelVersion(Base):
    """One retraining run and the model it produced: its held-out scores next to the model that
    was serving then, and the verdict of the promotion rule (motcua/retrain/rule.py)."""

    __tablename__ = "model_versions"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=True, index=True)  # file in models/ (several runs may share one)
    # running → accepted (promoted) | rejected (an admin may override) | unchanged | failed;
    # initial: a model that was serving before any retraining (registered when first seen)
    status = Column(String(12), nullable=False, default="running")
    stage = Column(String(200), nullable=False, default="")
    progress = Column(Integer, nullable=False, default=0)
    started_by = Column(String(200), nullable=False, default="")
    data_hash = Column(String(32), nullable=True)
    scores = Column(JSON, nullable=True)  # accuracy, macro_f1, n, per_intent {intent: {f1, …}}, entity_f1
    baseline_id = Column(Integer, ForeignKey("model_versions.id", ondelete="SET NULL"), nullable=True)
    baseline_scores = Column(JSON, nullable=True)  # the serving model, on the same examples, same run
    reasons = Column(JSON, nullable=True)  # why the rule refused it (Vietnamese sentences)
    error = Column(Text, nullable=True)
    log_tail = Column(Text, nullable=True)
    train_seconds = Column(Float, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)  # heartbeat while running
    finished_at = Column(DateTime(timezone=True), nullable=True)


class ModelEvent(Base):
    """A model put into service: promoted by the rule, by an admin's override (with the reason),
    rolled back to, or found serving at start. The newest event names the serving model."""

    __tablename__ = "model_events"

    id = Column(Integer, primary_key=True)
    model_id = Column(Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), nullable=False, index=True)
    action = Column(String(12), nullable=False)  # promote, override, rollback, startup
    actor = Column(String(200), nullable=False)
    reason = Column(Text, nullable=False, default="")
    swap_seconds = Column(Float, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class RateCounter(Base):
    """How many requests one key (e.g. a web chat client address) made in one window (a minute)."""

    __tablename__ = "rate_counters"

    key = Column(String(200), primary_key=True)
    window = Column(Integer, primary_key=True)
    count = Column(Integer, nullable=False)


class ModelFile(Base):
    """A model's file, kept in the store so that every Rasa replica can pull it from any gateway
    (Rasa's model-server protocol, bot/model_server.py) without a shared volume. The one the
    replicas serve is the one published last."""

    __tablename__ = "model_files"

    name = Column(String(200), primary_key=True)  # the file name: motcua-<hash>[-<run>].tar.gz
    sha256 = Column(String(64), nullable=False)
    size = Column(Integer, nullable=False)
    # The hash of the data outside the admins' files it was trained for (motcua.training.inputs_hash):
    # a new image's data replaces a model admins promoted for older data.
    base_hash = Column(String(32), nullable=True)
    content = Column(LargeBinary, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    published_at = Column(DateTime(timezone=True), nullable=True, index=True)


class Appointment(Base):
    """A time booked at the one-stop office (đặt lịch hẹn), LH-YYYY-NNNNNN.

    booked → arrived (checked in at the counter) → served (called to the counter), or no_show, or
    cancelled (by the citizen, or by an official with a reason the citizen is told)."""

    __tablename__ = "appointments"

    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False, unique=True)
    sender_id = Column(String(200), nullable=False, index=True)  # the chat that booked: told, reminded
    procedure_id = Column(String(64), nullable=False)
    procedure_name = Column(Text, nullable=False)
    counter_id = Column(String(64), nullable=False)
    starts_at = Column(DateTime(timezone=True), nullable=False, index=True)
    name = Column(String(200), nullable=False)
    phone = Column(String(20), nullable=False)
    status = Column(String(16), nullable=False, default="booked")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    arrived_at = Column(DateTime(timezone=True), nullable=True)
    served_at = Column(DateTime(timezone=True), nullable=True)
    cancelled_at = Column(DateTime(timezone=True), nullable=True)
    cancelled_by = Column(String(200), nullable=True)  # "citizen" or the official's name
    cancel_reason = Column(Text, nullable=True)
    # Each reminder is claimed once (compare-and-set), so one gateway replica sends it.
    reminded_evening_at = Column(DateTime(timezone=True), nullable=True)
    reminded_soon_at = Column(DateTime(timezone=True), nullable=True)


class AppointmentClaim(Base):
    """What an active booking holds, one row per unit, so that the database refuses a double
    booking however many gateways book at once: a seat of a slot ("seat:COUNTER:START:N") and one
    of a phone's bookings of a day ("phone:PHONE:DAY:N"). Released when the booking is cancelled."""

    __tablename__ = "appointment_claims"

    key = Column(String(200), primary_key=True)
    appointment_id = Column(Integer, ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False, index=True)


class AppointmentCounter(Base):
    """The last booking number given in a year (LH-YYYY-NNNNNN), like TicketCounter for PA-."""

    __tablename__ = "appointment_counters"

    year = Column(Integer, primary_key=True)
    last = Column(Integer, nullable=False, default=0)
