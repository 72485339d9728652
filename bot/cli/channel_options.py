"""`dozor channels set GROUP --show-authors|--hide-authors`: whether a watched group's members are named.

By default a group member's message is stored with the author's numeric id
only and alerts say "a member": ordinary people in public groups are not
named to Dozor's subscribers. An admin may turn names on for one group (the
watcher then keeps the name Telegram sends with each message); turning them
off again forgets the names stored for that group. Audited (actor "cli");
a running `dozor run` picks the change up at its next refresh.
"""
from __future__ import annotations

import argparse
import asyncio

from bot.errors import UsageError
from bot.storage import Store
from bot.storage import channels as db

ACTOR = "cli"


def register(actions) -> None:
    """Add `set` to the `dozor channels` actions."""
    options = actions.add_parser("set", help="a watched group's options: name its members in alerts or not")
    options.add_argument("ref", metavar="GROUP", help="@name, t.me/name or a -100… id of a watched group")
    names = options.add_mutually_exclusive_group(required=True)
    names.add_argument("--show-authors", dest="show_authors", action="store_const", const=True,
                       help="name the members who wrote matching messages")
    names.add_argument("--hide-authors", dest="show_authors", action="store_const", const=False,
                       help='say "a member" (the default) and forget the names stored for this group')
    options.set_defaults(handler=channels_set_command)


def channels_set_command(args: argparse.Namespace, settings) -> int:
    from bot.telegram.channels import parse_channel_ref  # Telethon: imported only by the commands that use it

    ref = parse_channel_ref(args.ref)

    async def go() -> str:
        store = await Store.open(settings.db_path)
        try:
            row = await (db.find_by_username(store, ref.username) if ref.username else db.get_channel(store, ref.channel_id))
            if row is None and ref.username and ref.username.lower() in {n.lower() for n in await db.list_requests(store)}:
                raise UsageError(f"{ref} is queued but not resolved yet: set it after the next `dozor run` "
                                 "(or `dozor channels add` with the account logged in) has resolved it")
            if row is None:
                raise UsageError(f"{ref} is not a watched channel or group: add it with `dozor channels add {ref}` first")
            await db.set_show_authors(store, row.id, args.show_authors, ACTOR)
            return row.label
        finally:
            await store.close()

    label = asyncio.run(go())
    if args.show_authors:
        print(f"{label}: alerts name the member who wrote each message")
    else:
        print(f'{label}: alerts say "a member" and keep only numeric ids; names stored for it were forgotten')
    return 0
