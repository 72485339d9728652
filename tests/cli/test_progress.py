"""bot/cli/progress.py: a bar on a terminal only, and only for steps past the delay."""
import io

from bot.cli.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_once_the_step_passes_the_delay():
    stream = Terminal()
    with progress_bar("indexing word forms", delay=0, stream=stream) as update:
        update(250, 500)
        update(500, 500)
    assert "indexing word forms" in stream.getvalue()


def test_nothing_is_drawn_when_stderr_is_not_a_terminal():
    stream = io.StringIO()
    with progress_bar("indexing word forms", delay=0, stream=stream) as update:
        update(500, 500)
    assert stream.getvalue() == ""


def test_a_quick_step_draws_nothing_even_on_a_terminal():
    stream = Terminal()
    with progress_bar("indexing word forms", delay=60, stream=stream) as update:
        update(500, 500)
    assert stream.getvalue() == ""
