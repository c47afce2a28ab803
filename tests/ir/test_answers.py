"""NumPy's answers as a process keeps them (fusenum.ir.answers): asked once, recorded as JSON-ready
data, adopted back, and the hook that adopts them before a process's first question."""
import json
import threading
import time

import numpy as np
import pytest

from fusenum.ir import answers, numpy_behaviour, reductions


@pytest.fixture
def fresh(monkeypatch):
    """No answer known and no hook; the process's answers and hook as they were afterwards."""
    kept = dict(answers._answers)
    monkeypatch.setattr(answers, "before_asking", None)
    answers.forget()
    yield
    answers.forget(adopt_again=False)
    answers._answers.update(kept)


_calls = []


@answers.question
def _echo(*args):
    _calls.append(args)
    return args[0] if len(args) == 1 else args


ECHO = f"{_echo.__module__}.{_echo.__qualname__}"  # (the name its answers are recorded under)


def test_a_question_is_asked_once_per_arguments(fresh):
    _calls.clear()
    assert _echo(1) == 1 and _echo(1) == 1 and _echo(2) == 2
    assert _calls == [(1,), (2,)]
    assert answers.known() == 2


VALUES = [None, True, False, 0, -7, 2**70, "square", 0.5, -0.0, float("inf"), float("-inf"),
          (1, (2.0, None)), frozenset({2.0, -1.0, 0.5}), frozenset(), np.dtype("<f8"), np.dtype(">i2"),
          np.dtype("S5"), np.dtype("?"), np.dtype("<c8"), int, float, bool, complex, np.ndarray, np.float32,
          np.int8, np.bool_, (np.dtype("<f4"), (int, None, 2))]


def _records(*items) -> str:
    """Recorded answers (lines of name, arguments' text and answer's text) of ``(arguments, answer)``
    pairs of :func:`_echo` given as JSON-ready data."""
    def compact(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "".join(f"{ECHO}\t{compact(args)}\t{compact(answer)}\n" for args, answer in items)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_answers_and_arguments_survive_recording(fresh, value):
    _echo(value)
    (name, args, answer), = answers.recorded()
    assert "\t" not in args + answer and "\n" not in args + answer
    answers.forget()
    _calls.clear()
    assert answers.adopt(f"{name}\t{args}\t{answer}\n") == 1
    found = _echo(value)
    assert _calls == [] and found == value and type(found) is type(value)
    if isinstance(value, float):
        assert np.signbit(found) == np.signbit(value)


UNRECORDABLE = [float("nan"), np.float64(1.0), [1], {1: 2}, np.add, np.dtype([("x", "<f8")]), object,
                type("Local", (), {})]


@answers.question
def _unrecordable(index):
    return UNRECORDABLE[index]


UNRECORDABLE_NAME = f"{_unrecordable.__module__}.{_unrecordable.__qualname__}"


@pytest.mark.parametrize("index", range(len(UNRECORDABLE)), ids=lambda index: repr(UNRECORDABLE[index]))
def test_what_would_not_survive_is_not_recorded(fresh, index):
    _unrecordable(index)
    if index not in (2, 3):  # (as an argument too, where it is hashable)
        _echo(UNRECORDABLE[index])
    # (only these two questions' records: a background thread of an earlier test may ask others meanwhile)
    assert [record for record in answers.recorded() if record[0] in (ECHO, UNRECORDABLE_NAME)] == []


@pytest.mark.parametrize("records", [{(ECHO, '{"tuple":[1]}'): "1"}, [ECHO, '{"tuple":[1]}', "1"], b"x\ty\tz\n"],
                         ids=repr)
def test_records_that_are_not_text_are_refused(fresh, records):
    with pytest.raises(ValueError):
        answers.adopt(records)
    assert answers.known() == 0


@pytest.mark.parametrize("answer", [
    "not JSON", '{"dtype":"not a dtype"}', '{"type":"numpy.add"}', '{"type":"os"}', '{"float":1.5}',
    '{"float":"0x1p+0","tuple":[]}', "[1]", '{"tuple":' * 5000 + "[]" + "}" * 5000, '4\t5',
])
def test_an_answer_that_does_not_decode_is_asked_instead(fresh, answer):
    _calls.clear()
    assert answers.adopt(f'{ECHO}\t{{"tuple":[4]}}\t{answer}\n') == 1
    assert _echo(4) == 4 and _calls == [(4,)]


def test_adopted_lines_are_counted_once_and_the_last_needs_no_line_break(fresh):
    _calls.clear()
    assert answers.adopt(_records(({"tuple": [12]}, "twelve")) + f'{ECHO}\t{{"tuple":[13]}}\t"thirteen"') == 2
    assert answers.known() == 2
    assert _echo(12) == "twelve" and _echo(13) == "thirteen" and _calls == []
    assert answers.known() == 2
    assert _echo(14) == 14 and answers.known() == 3


@pytest.mark.parametrize("lines", [
    f'{ECHO}\t{{"tuple": [4]}}\t5\n',  # arguments not as recorded
    f'{ECHO}.other\t{{"tuple":[4]}}\t5\n',
    f'x{ECHO}\t{{"tuple":[4]}}\t5\n',
    f'{ECHO}\t{{"tuple":[4,5]}}\t5\n',
])
def test_only_an_answer_recorded_as_asked_is_found(fresh, lines):
    _calls.clear()
    answers.adopt(lines)
    assert _echo(4) == 4 and _calls == [(4,)]


def test_two_questions_of_one_name_are_refused():
    def another(*args):
        return args
    another.__qualname__ = _echo.__qualname__
    with pytest.raises(ValueError, match="two questions are named"):
        answers.question(another)
    assert answers.questions()[ECHO] is not another


def test_an_answer_known_is_kept_over_an_adopted_one(fresh):
    _echo(5)
    assert answers.adopt(_records(({"tuple": [5]}, 6), ({"tuple": [7]}, 7))) == 2
    assert _echo(5) == 5 and _echo(7) == 7


def test_the_hook_runs_once_before_the_first_unknown_answer(fresh, monkeypatch):
    seen = []

    def hook():
        seen.append(answers.known())
        _echo("asked by the hook")  # (a question inside the hook does not run it again)
        answers.adopt(_records(({"tuple": [8]}, "adopted")))

    monkeypatch.setattr(answers, "before_asking", hook)
    assert _echo(8) == "adopted" and _echo(9) == 9
    assert seen == [0]
    answers.forget()
    assert _echo(8) == "adopted" and seen == [0, 0]  # re-armed by forget()
    answers.forget(adopt_again=False)
    assert _echo(8) == 8 and seen == [0, 0]


def test_a_failing_hook_leaves_the_question_to_numpy(fresh, monkeypatch):
    def hook():
        raise OSError("unreadable")
    monkeypatch.setattr(answers, "before_asking", hook)
    assert _echo(10) == 10


def test_another_thread_waits_for_the_adoption_under_way(fresh, monkeypatch):
    began = threading.Event()

    def hook():
        began.set()
        time.sleep(0.2)
        answers.adopt(_records(({"tuple": [11]}, "adopted")))

    monkeypatch.setattr(answers, "before_asking", hook)
    thread = threading.Thread(target=answers.prepare)
    thread.start()
    began.wait(5)
    assert _echo(11) == "adopted"  # (asked meanwhile, it would have been 11)
    thread.join()


def test_every_answer_typing_asks_for_is_recordable(fresh):
    for dtype in map(np.dtype, "?bBhHiIlLqQefdFD"):
        for name in reductions.ROWS:
            try:
                reductions.dtypes(name, dtype, None)
            except TypeError:
                pass
        for exponent in (2, -1, 0.5, 2.0, 1):
            numpy_behaviour.operator_power_rewrite(dtype, exponent)
        if dtype.kind == "f":
            numpy_behaviour.power_loop_rewrites(dtype)
            numpy_behaviour.nextafter_nan_operand(dtype)
    numpy_behaviour.where_wraps_out_of_range_ints()
    # (the answers of these questions only: another test's background compile may ask others meanwhile)
    asked = {f"{f.__module__}.{f.__qualname__}" for f in (
        reductions.dtypes, numpy_behaviour.operator_power_rewrite, numpy_behaviour.power_loop_rewrites,
        numpy_behaviour.nextafter_nan_operand, numpy_behaviour.where_wraps_out_of_range_ints)}
    ours = [key for key in list(answers._answers) if key[0] in asked]
    assert len(ours) > 100 and sum(1 for name, _, _ in answers.recorded() if name in asked) == len(ours)
