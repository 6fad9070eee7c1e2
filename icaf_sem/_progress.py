"""One progress line per stage on stderr, with the time elapsed and an estimate of the time left.

Used by ``analyze`` (a line per stage) and ``compare-waves`` (a line per wave and step)::

    icaf-sem compare-waves [5/19] invariance: fitting the scalar model ... 1.9 s elapsed, about 4 s left

The estimate is the mean time of the steps done so far times the steps still to come (so it
appears from the second step on).  Lines go to stderr and are flushed at once; nothing is
printed unless the caller turned progress on (the CLI does on a terminal, or with ``--progress``).
"""
from __future__ import annotations

import sys
import time


def _secs(s: float) -> str:
    if s < 10:
        return f"{s:.1f} s"
    if s < 90:
        return f"{s:.0f} s"
    return f"{s / 60:.0f} min"


class StageProgress:
    """Print ``[k/n] message ... elapsed, about t left`` for each step.

    Parameters
    ----------
    command : str
        The command named at the start of each line (``"analyze"``, ``"compare-waves"``).
    total : int
        The number of steps expected; :meth:`add` raises it when more turn up.
    stream : file, optional
        Default ``sys.stderr`` (looked up at each line, so that a redirected stderr is honoured).
    eta : bool
        Show the estimate of the time left.
    """

    def __init__(self, command: str, total: int, stream=None, eta: bool = True):
        self.command = command
        self.total = max(int(total), 1)
        self.done = 0
        self.stream = stream
        self.eta = eta
        self.t0 = time.perf_counter()

    def add(self, n: int = 1) -> None:
        """Expect ``n`` more steps than announced."""
        self.total += int(n)

    def __call__(self, message: str, index: int | None = None) -> str:
        """Announce the next step (or step ``index``, 1-based); returns the line written."""
        self.done = self.done + 1 if index is None else int(index)
        self.total = max(self.total, self.done)
        elapsed = time.perf_counter() - self.t0
        line = f"icaf-sem {self.command} [{self.done}/{self.total}] {message} ... {_secs(elapsed)} elapsed"
        if self.eta and self.done > 1:
            left = elapsed / (self.done - 1) * (self.total - self.done + 1)
            line += f", about {_secs(left)} left"
        out = self.stream or sys.stderr
        out.write(line + "\n")
        out.flush()
        return line
