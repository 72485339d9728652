"""The Telethon handlers only route: a "/…" message reaches the router, its Reply goes back."""
from telethon import TelegramClient
from telethon.sessions import MemorySession

from bot.telegram.bot_handlers import install_bot_handlers
from tests.commands.cmd_helpers import ADMIN, NOW, STRANGER
from tests.fakes import FakeSender


class FakeEvent:
    """What the handlers read from a NewMessage/CallbackQuery event, and what they answer."""

    def __init__(self, text: str = "", data: bytes = b"", chat_id: int = STRANGER, sender_id: int = STRANGER):
        self.raw_text, self.data = text, data
        self.chat_id, self.sender_id = chat_id, sender_id
        self.is_private, self.is_group, self.is_channel = True, False, False
        self.responses: list[tuple[str, dict]] = []
        self.answered = False

    async def get_chat(self):
        return type("User", (), {"first_name": "Anna", "last_name": None})()

    async def respond(self, text, **kwargs):
        self.responses.append((text, kwargs))

    async def answer(self):
        self.answered = True


def handlers(store, settings, sender):
    client = TelegramClient(MemorySession(), 1, "0" * 32)
    install_bot_handlers(client, store, settings, sender, clock=lambda: NOW)
    return [callback for callback, _ in client.list_event_handlers()]


async def test_start_from_a_stranger_is_answered_through_the_sender_and_admins_are_notified(store, settings):
    sender = FakeSender()
    on_command, _ = handlers(store, settings, sender)
    event = FakeEvent("/start")
    await on_command(event)
    answer, notice = sender.sent
    assert answer.chat_id == STRANGER and "sent to the admins" in answer.html and not event.responses
    assert notice.chat_id == ADMIN and "Anna" in notice.html


async def test_button_press_is_answered_and_routed(store, settings):
    sender = FakeSender()
    _, on_button = handlers(store, settings, sender)
    event = FakeEvent(data=b"sp:2", chat_id=ADMIN, sender_id=ADMIN)
    await on_button(event)
    assert event.answered and "expired" in sender.sent[0].html


async def test_export_is_sent_as_a_named_document_through_the_rate_limited_sender(store, settings):
    from bot.storage import access
    await store.write(lambda c: access.add_subscriber(c, STRANGER, "test", NOW))
    sender = FakeSender()
    on_command, _ = handlers(store, settings, sender)
    event = FakeEvent("/export")
    await on_command(event)
    [answer] = sender.sent
    name, data = answer.document
    assert answer.chat_id == STRANGER and name.endswith(".csv") and data and not event.responses


async def test_command_replies_take_the_same_rate_limit_slots_as_alerts(store, settings):
    from bot.delivery.ratelimit import RateLimiter
    from bot.delivery.senders import LimitedSender
    limiter, fake = RateLimiter(), FakeSender()
    on_command, _ = handlers(store, settings, LimitedSender(fake, limiter, monotonic=lambda: 100.0))
    await on_command(FakeEvent("/start"))
    assert fake.sent[0].chat_id == STRANGER
    assert limiter.delay(STRANGER, 100.0) > 0  # the next alert to that chat waits its turn


async def test_command_for_another_bot_gets_no_answer(store, settings):
    sender = FakeSender()
    on_command, _ = handlers(store, settings, sender)
    event = FakeEvent("/start@OtherBot")
    await on_command(event)
    assert sender.sent == [] and event.responses == []
