"""bot/delivery/ratelimit.py with a fake clock: bursts drain within Telegram's limits, nothing dropped."""
from __future__ import annotations

from collections import defaultdict, deque

from bot.delivery.ratelimit import RateLimiter


def drain(limiter: RateLimiter, queue: deque[tuple[int, int]]) -> list[tuple[float, int, int]]:
    """Send everything as a worker would: ready chats first, else sleep to the soonest one."""
    now, sent = 0.0, []
    while queue:
        waits = []
        for i, (chat_id, item) in enumerate(queue):
            wait = limiter.delay(chat_id, now)
            if wait == 0.0:
                limiter.record(chat_id, now)
                sent.append((now, chat_id, item))
                del queue[i]
                break
            waits.append(wait)
        else:
            now += min(waits)
    return sent


def most_in_window(times: list[float], window: float) -> int:
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window + 1e-9:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def burst(n: int = 500) -> deque[tuple[int, int]]:
    chats = [1000 + i for i in range(40)] + [-100100 - i for i in range(10)]
    return deque((chats[i % len(chats)], i) for i in range(n))


def test_burst_of_500_is_all_sent_once():
    sent = drain(RateLimiter(1.0, 20, 30), burst())
    assert sorted(item for _, _, item in sent) == list(range(500))


def test_burst_never_exceeds_the_global_rate():
    sent = drain(RateLimiter(1.0, 20, 30), burst())
    assert most_in_window([t for t, _, _ in sent], 1.0) <= 30


def test_burst_never_sends_twice_a_second_to_one_chat():
    per_chat = defaultdict(list)
    for t, chat, _ in drain(RateLimiter(1.0, 20, 30), burst()):
        per_chat[chat].append(t)
    assert all(most_in_window(times, 1.0) <= 1 for times in per_chat.values())


def test_burst_never_sends_more_than_20_a_minute_to_a_group():
    per_group = defaultdict(list)
    for t, chat, _ in drain(RateLimiter(1.0, 20, 30), burst()):
        if chat < 0:
            per_group[chat].append(t)
    assert all(most_in_window(times, 60.0) <= 20 for times in per_group.values())


def test_burst_to_private_chats_drains_at_the_global_rate():
    queue = deque((1000 + i % 100, i) for i in range(500))
    sent = drain(RateLimiter(1.0, 20, 30), queue)
    assert sent[-1][0] <= 500 / 30 + 1  # simulated seconds, not wall clock


def test_second_message_to_a_chat_waits_a_second():
    limiter = RateLimiter(1.0, 20, 30)
    limiter.record(5, 10.0)
    assert limiter.delay(5, 10.25) == 0.75
    assert limiter.delay(6, 10.25) == 0.0


def test_group_waits_for_the_oldest_of_its_last_20_to_expire():
    limiter = RateLimiter(1.0, 20, 30)
    for i in range(20):
        limiter.record(-5, float(i * 2))
    assert limiter.delay(-5, 40.0) == 20.0  # the first went at 0 s: free again at 60 s


def test_flood_wait_pauses_one_chat_only():
    limiter = RateLimiter(1.0, 20, 30)
    limiter.pause(5, 30.0, now=0.0)
    assert limiter.delay(5, 1.0) == 29.0
    assert limiter.delay(6, 1.0) == 0.0


def test_global_pause_stops_every_chat():
    limiter = RateLimiter(1.0, 20, 30)
    limiter.pause(None, 5.0, now=0.0)
    assert limiter.delay(6, 1.0) == 4.0


def test_forget_keeps_limits_that_still_apply():
    limiter = RateLimiter(1.0, 20, 30)
    limiter.record(5, 0.0)
    limiter.forget(0.5)
    assert limiter.delay(5, 0.5) == 0.5
