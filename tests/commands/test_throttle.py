"""Command limits per user and per chat: one "slow down" answer, then silence until the window has room."""
from bot.commands.throttle import CommandThrottle


def test_a_user_over_the_limit_is_told_once_then_ignored_until_the_window_passes():
    throttle = CommandThrottle(per_user=2, per_chat=100, window=10)
    assert throttle.check(1, 1, 0.0).allowed and throttle.check(1, 1, 1.0).allowed
    warned = throttle.check(1, 1, 2.0)
    assert not warned.allowed and warned.warn and warned.wait == 8
    assert throttle.check(1, 1, 3.0) == throttle.check(1, 1, 9.0)  # quiet, no second warning
    assert not throttle.check(1, 1, 9.5).warn
    assert throttle.check(1, 1, 10.5).allowed


def test_a_busy_group_is_limited_across_its_members():
    throttle = CommandThrottle(per_user=100, per_chat=3, window=60)
    assert all(throttle.check(user, -5, 0.0).allowed for user in (1, 2, 3))
    assert throttle.check(4, -5, 1.0).warn
    assert throttle.check(4, 7, 1.0).allowed  # the same user elsewhere is fine
