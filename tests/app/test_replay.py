import io

from bot.app import replay as runner
from tests.factories import make_post


def test_progress_bar_is_drawn_only_on_a_terminal(monkeypatch, tmp_path):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    path = tmp_path / "p.jsonl"
    path.write_text("{}\n" * 10, encoding="utf-8")
    for stream, drawn in ((Tty(), True), (io.StringIO(), False)):
        monkeypatch.setattr(runner.sys, "stderr", stream)
        progress = runner.Progress(path)
        progress.show(5)
        assert ("5/10" in stream.getvalue()) is drawn


def test_batches_keep_order_and_size():
    posts = [make_post() for _ in range(5)]
    assert [len(b) for b in runner.batched(posts, 2)] == [2, 2, 1]
    assert [p for b in runner.batched(posts, 2) for p in b] == posts


async def test_replay_digest_counts_posts_dated_with_fractions_of_a_second(store, capsys):
    from datetime import datetime, timezone

    from bot.models import Match
    from bot.storage.posts import add_matches, insert_post

    post = make_post(date=datetime(2024, 5, 1, 9, 30, 0, tzinfo=timezone.utc), text="Повестки раздают у метро")

    async def add(conn):
        post_id = await insert_post(conn, post, datetime(2024, 5, 1, 9, 31, tzinfo=timezone.utc))
        await add_matches(conn, post_id, [Match("mob", ("mobilization",))], datetime(2024, 5, 1, 9, 31, tzinfo=timezone.utc))

    await store.write(add)
    first = last = datetime(2024, 5, 1, 9, 30, 0, 654321, tzinfo=timezone.utc)  # a replay clock with microseconds
    await runner.print_digest(store, first, last, "Europe/Moscow")
    assert "matched: 1" in capsys.readouterr().out
