"""`dozor subscribers set CHAT_ID --style full|compact --topic ID|--no-topic`, and `add … --topic ID`.

How a subscriber receives alerts, beside what it receives: the alert style
(full, or one line each) and the forum topic of its group that alerts and
digests go to. Changes are audited (actor "cli"), as the bot's /style and
/subscribe (in a topic) are.
"""
from __future__ import annotations

from bot.errors import UsageError
from bot.models import AlertStyle
from bot.storage import access
from bot.storage.subscribers import subscriber_by_chat

ACTOR = "cli"


def add_arguments(parser) -> None:
    """The options of `subscribers add` and `subscribers set`."""
    parser.add_argument("--style", choices=[s.value for s in AlertStyle],
                        help="set: alerts in full (default) or compact (one line each)")
    parser.add_argument("--topic", type=int, metavar="ID",
                        help="add/set: send alerts and digests into this forum topic of the group "
                             "(the topic's id: the number after the group in a t.me/c/…/ID link to its first message)")
    parser.add_argument("--no-topic", action="store_true", help="set: send to the chat itself again (General)")


def check_topic(chat_id: int, topic_id: int | None) -> None:
    if topic_id is None:
        return
    if chat_id > 0:
        raise UsageError(f"{chat_id} is a person; only a forum group (a -100… id) has topics")
    if topic_id <= 0:
        raise UsageError(f"--topic {topic_id}: a topic id is a positive message id")


async def set_options(store, args, now) -> int:
    """`subscribers set`: change the style and/or topic of an active subscriber; prints what it is now."""
    chat_id = args.chat_id
    if args.style is None and args.topic is None and not args.no_topic:
        raise UsageError("subscribers set needs --style full|compact, --topic ID, --no-topic or --calendar-day on|off")
    if args.topic is not None and args.no_topic:
        raise UsageError("--topic and --no-topic contradict each other; give one")
    check_topic(chat_id, args.topic)
    sub = await subscriber_by_chat(store, chat_id, active_only=True)
    if sub is None:
        raise UsageError(f"{chat_id} is not an active subscriber")
    fields: dict = {}
    if args.style is not None:
        fields["alert_style"] = args.style
    if args.topic is not None or args.no_topic:
        fields["topic_id"] = None if args.no_topic else args.topic
    await store.write(lambda c: access.update_subscriber(c, chat_id, ACTOR, now, "subscriber.options", **fields))
    sub = await subscriber_by_chat(store, chat_id, active_only=True)
    print(f"{chat_id}: style {sub.style}, {describe_topic(sub.topic_id)}")
    return 0


def describe_topic(topic_id: int | None) -> str:
    return f"forum topic {topic_id}" if topic_id is not None else "the chat itself"
