"""Bot commands: parsed into typed arguments (parse.py), checked against roles
(roles.py), handled by topic (subscriber.py, operator.py, admin.py), routed by
router.py. Telegram-free: bot/telegram/bot_handlers.py only forwards events here.
"""
from bot.commands.context import Ctx, Reply
from bot.commands.router import dispatch, dispatch_callback

__all__ = ["Ctx", "Reply", "dispatch", "dispatch_callback"]
