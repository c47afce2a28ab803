"""The background compiler's queue (:mod:`fusenum.runtime.compile_requests`): smallest first, a wait
that ends when every request taken is marked done (or at its timeout), and errors where
``queue.PriorityQueue`` raises them."""
import threading

import pytest

from fusenum.runtime.compile_requests import Empty, Requests


def test_requests_are_taken_smallest_first_whatever_the_order_they_came_in():
    requests = Requests()
    arrivals = [(2, 0.0, 0, "optimize"), (0, 0.0, 3, "asked late"), (1, 0.0, 1, "ahead"), (0, 0.0, 2, "asked")]
    for request in arrivals:
        requests.put_nowait(request)
    assert [requests.get_nowait()[-1] for _ in range(4)] == ["asked", "asked late", "ahead", "optimize"]
    with pytest.raises(Empty):
        requests.get_nowait()


def test_a_wait_ends_when_every_request_is_marked_done():
    requests = Requests()
    assert requests.wait(0)  # nothing put
    requests.put_nowait((0, 0.0, 0, "a"))
    requests.put_nowait((0, 0.0, 1, "b"))
    assert not requests.wait(0.01)
    requests.get_nowait()
    requests.task_done()
    assert not requests.wait(0)  # one is still to do
    taker = threading.Thread(target=lambda: (requests.get(), requests.task_done()))
    taker.start()
    assert requests.wait(60)
    taker.join(60)
    with pytest.raises(ValueError, match="more times"):
        requests.task_done()


def test_get_waits_for_a_request():
    requests = Requests()
    taken = []
    taker = threading.Thread(target=lambda: taken.append(requests.get()))
    taker.start()
    taker.join(0.05)
    assert taker.is_alive() and not taken
    requests.put_nowait((0, 0.0, 0, "late"))
    taker.join(60)
    assert taken == [(0, 0.0, 0, "late")]
