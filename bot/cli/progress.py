"""A progress bar on stderr for CLI steps that may take more than 2 seconds (tqdm).

    with progress_bar("indexing word forms", unit="posts") as update:
        await refresh_lemma_index(store, progress=update)   # update(done, total)

It appears only when stderr is a terminal and only once the step has run for
`delay` seconds, so quick steps, pipes and tests print nothing.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

DELAY = 2.0  # seconds before a bar is drawn


@contextmanager
def progress_bar(label: str, unit: str = "posts", delay: float = DELAY,
                 stream=None) -> Iterator[Callable[[int, int], None]]:
    """A callback `update(done, total)` drawing a bar on `stream` (default stderr) when it is a terminal."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    bar = tqdm(desc=label, unit=" " + unit, delay=delay, file=stream, leave=False,
               disable=not stream.isatty(), dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()
