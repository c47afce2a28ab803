"""The background compiler's queue (:mod:`.tiering`): requests taken smallest first, with a count of
those not marked done, which :meth:`Requests.wait` waits on.

The interface is the part of ``queue.PriorityQueue`` the compiler uses. Importing ``queue`` (and
``heapq`` with it) cost 0.7 ms of the call that asked for a process's first compile, five times the
rest of that call (a second call of ``2*a+3*b-c`` at N = 100 in a new process took 0.9 ms, then 0.16).
The queue holds at most a few thousand requests (the compiler's bounds), so a sorted list serves.
"""
from __future__ import annotations

import threading


class Empty(Exception):
    """:meth:`Requests.get_nowait` found the queue empty."""


class Requests:
    """Requests (tuples whose leading items order them and differ between any two) taken smallest
    first; every one taken is to be marked done with :meth:`task_done`."""

    def __init__(self) -> None:
        self.queue: list[tuple] = []  # sorted, largest first: the next to take is at the end
        self._mutex = threading.Lock()
        self._not_empty = threading.Condition(self._mutex)
        self.all_tasks_done = threading.Condition(self._mutex)
        self.unfinished_tasks = 0  # put and not marked done

    def put_nowait(self, request: tuple) -> None:
        with self._mutex:
            self.queue.append(request)
            self.queue.sort(reverse=True)
            self.unfinished_tasks += 1
            self._not_empty.notify()

    def get(self) -> tuple:
        """The smallest request, waiting for one if there is none."""
        with self._not_empty:
            self._not_empty.wait_for(lambda: self.queue)
            return self.queue.pop()

    def get_nowait(self) -> tuple:
        """The smallest request (:class:`Empty` if there is none)."""
        with self._mutex:
            if not self.queue:
                raise Empty
            return self.queue.pop()

    def task_done(self) -> None:
        """Mark one request taken as done (the last wakes :meth:`wait`)."""
        with self._mutex:
            if self.unfinished_tasks <= 0:
                raise ValueError("task_done() called more times than requests were put")
            self.unfinished_tasks -= 1
            if not self.unfinished_tasks:
                self.all_tasks_done.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every request put is marked done; False if ``timeout`` seconds passed first."""
        with self.all_tasks_done:
            return self.all_tasks_done.wait_for(lambda: not self.unfinished_tasks, timeout)
