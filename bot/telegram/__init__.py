"""Everything that imports Telethon: client, login, channel lookup, the live watcher.

The rest of Dozor sees only our Post/Deletion and our errors (bot.errors).
Entry points: `bot.telegram.live.run_live`, `bot.cli.channels.register`,
`bot.telegram.client.make_client`, `bot.storage.channels.pending_warnings`.
"""
