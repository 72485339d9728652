import io

from bot import runner
from foundation_helpers import make_post


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
