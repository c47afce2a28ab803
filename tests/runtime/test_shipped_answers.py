"""NumPy's answers shipped with the package (fusenum.runtime.shipped_answers): written when the package
is built, adopted only where they were asked under the same NumPy release, C library, fusenum and
questions, and then the same as this process's own."""
import json
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

import fusenum
from fusenum.ir import answers, numpy_behaviour
from fusenum.runtime import prefetch, shipped, shipped_answers


@pytest.fixture
def written(tmp_path, monkeypatch):
    """Answers written to a directory of their own, which the package's stands for; no answer known."""
    shipped_answers.write(str(tmp_path))
    monkeypatch.setattr(shipped, "DIRECTORY", str(tmp_path))
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "on")
    answers.forget(adopt_again=False)
    yield tmp_path
    answers.forget(adopt_again=False)


def _no_probe(*args):
    raise AssertionError("NumPy was asked")


def test_adopted_answers_spare_the_questions(written, monkeypatch):
    assert shipped_answers.adopt() > 200
    monkeypatch.setattr(numpy_behaviour, "_float_probe", _no_probe)
    monkeypatch.setattr(numpy_behaviour, "_base_probe", _no_probe)
    for dtype in ("float16", "float32", "float64"):
        numpy_behaviour.power_loop_rewrites(np.dtype(dtype))
        numpy_behaviour.operator_power_rewrite(np.dtype(dtype), 2)
    a = np.linspace(0.5, 3, 1001)
    np.testing.assert_array_equal(fusenum.evaluate("a**2 + a**0.5 - a**-1 + mean(a)"),
                                  a**2 + a**0.5 - a**-1 + np.mean(a))


def _read(directory) -> tuple[bytes, dict, int, list[list[str]]]:
    """The shipped answers file in ``directory``: its first line, identity, checksum and answers."""
    with open(shipped_answers.path(str(directory)), "rb") as file:
        magic, head, checksum, body = file.read().split(b"\n", 3)
    return magic, json.loads(head), int(checksum), [line.split("\t") for line in body.decode().splitlines()]


def test_the_recorded_answers_are_this_processs_own(written):
    _, _, _, lines = _read(written)
    assert shipped_answers.adopt() == len(lines) > 200
    for name, args, _ in lines:  # (each asked for: decoded from the file)
        answers.questions()[name](*answers._decode(json.loads(args)))
    adopted = answers.recorded()
    answers.forget(adopt_again=False)
    shipped_answers.ask_common()
    assert adopted == answers.recorded() == [tuple(line) for line in lines]


def test_they_are_adopted_before_the_first_question(written, monkeypatch):
    monkeypatch.setattr(answers, "before_asking", shipped_answers.adopt)
    answers.forget()
    monkeypatch.setattr(numpy_behaviour, "_float_probe", _no_probe)
    assert numpy_behaviour.power_loop_rewrites(np.dtype("float32")) is not None
    assert answers.known() > 200


def test_the_look_ahead_thread_adopts_them(written, monkeypatch):
    monkeypatch.setattr(answers, "before_asking", shipped_answers.adopt)
    answers.forget()
    monkeypatch.setattr(shipped, "archive", lambda *args: None)
    prefetch._open_archive()
    assert answers.known() > 200


@pytest.mark.parametrize("part, changed", [
    ("numpy", "numpy 1.0.0; _multiarray_umath.so 1; cpu SSE2"),
    ("libc", "glibc 2.17"),
    ("fusenum", "0.0.1"),
    ("questions", {"fusenum.ir.numpy_behaviour": [1, 2]}),
    ("format", 0),
])
def test_answers_asked_elsewhere_are_not_adopted(written, monkeypatch, part, changed):
    identity = shipped_answers.identity()
    monkeypatch.setattr(shipped_answers, "identity", lambda: {**identity, part: changed})
    assert shipped_answers.adopt() == 0 and answers.known() == 0


def test_an_edited_question_makes_them_stale(written, monkeypatch):
    real = numpy_behaviour.__file__
    edited = written / "numpy_behaviour.py"
    edited.write_bytes(open(real, "rb").read() + b"\n# an edit\n")
    monkeypatch.setattr(numpy_behaviour, "__file__", str(edited))
    assert shipped_answers.adopt() == 0


def _with_checksum(text: bytes) -> bytes:
    """``text`` with its checksum made right again: a damage that the checksum does not catch."""
    magic, head, _, body = text.split(b"\n", 3)
    return b"\n".join([magic, head, str(zlib.crc32(body)).encode(), body])


@pytest.mark.parametrize("damage", [
    lambda text: text[: len(text) // 2],
    lambda text: b"\xff" + text,
    lambda text: b"",
    lambda text: text.replace(b"fusenum NumPy answers", b"fusenum NumPy questions", 1),
    lambda text: text.replace(b'{"dtype":"<f8"}', b'{"dtype":"<f4"}', 1),  # valid, one answer changed
    lambda text: _with_checksum(text + b"\xe9\n"),
])
def test_damaged_answers_are_not_adopted(written, damage):
    path = shipped_answers.path(str(written))
    with open(path, "rb") as file:
        text = file.read()
    with open(path, "wb") as file:
        file.write(damage(text))
    assert shipped_answers.adopt() == 0 and answers.known() == 0


@pytest.mark.parametrize("edit", [lambda text: text.replace(b"power_loop_rewrites", b"no_such_question"),
                                  lambda text: text.replace(b"power_loop_rewrites\t", b"power_loop_rewrites ")])
def test_a_line_edited_past_the_checksum_loses_only_its_own_answer(written, monkeypatch, edit):
    path = shipped_answers.path(str(written))
    with open(path, "rb") as file:
        text = file.read()
    with open(path, "wb") as file:
        file.write(_with_checksum(edit(text)))
    assert shipped_answers.adopt() > 200
    expected = numpy_behaviour.power_loop_rewrites.__wrapped__(np.dtype("float64"))  # (NumPy's, not kept)
    asked = []
    real = numpy_behaviour._float_probe
    monkeypatch.setattr(numpy_behaviour, "_float_probe", lambda dtype: asked.append(dtype) or real(dtype))
    assert numpy_behaviour.power_loop_rewrites(np.dtype("float64")) == expected
    assert asked == [np.dtype("float64")]
    numpy_behaviour.operator_power_rewrite(np.dtype("float32"), 2)  # (adopted: its line is whole)
    assert asked == [np.dtype("float64")]


def test_none_are_adopted_with_shipped_kernels_off_or_none_there(written, monkeypatch, tmp_path):
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "off")
    assert shipped_answers.adopt() == 0
    monkeypatch.setenv("FUSENUM_SHIPPED_KERNELS", "on")
    assert shipped_answers.adopt(str(tmp_path / "elsewhere")) == 0


def test_writing_replaces_the_file_and_leaves_no_temporary(written):
    path = shipped_answers.path(str(written))
    shipped_answers.write(str(written))
    assert sorted(os.listdir(written)) == [shipped_answers.NAME]
    assert _read(written)[1] == shipped_answers.identity()


def test_a_fresh_process_types_power_without_probing_numpy(written):
    code = f"""
import numpy as np
import fusenum
from fusenum.ir import answers, numpy_behaviour
from fusenum.runtime import shipped, shipped_answers
shipped.DIRECTORY = {str(written)!r}
answers.forget()  # (the look-ahead thread may have adopted the package's own)
def refuse(*args):
    raise AssertionError("NumPy was asked")
numpy_behaviour._float_probe = refuse
a = np.linspace(0.5, 2, 7)
assert (fusenum.evaluate("a**2 - a**-1 + sum(a)") == a**2 - a**-1 + np.sum(a)).all()
print(answers.known())
"""
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, FUSENUM_CACHE="off", FUSENUM_SHIPPED_KERNELS="on"))
    assert found.returncode == 0, found.stderr
    assert int(found.stdout) > 200


def test_only_fusenums_own_questions_are_shipped(written):
    @answers.question
    def a_tests_question(x):
        return x

    a_tests_question(1)
    shipped_answers.write(str(written))
    _, head, _, lines = _read(written)
    assert all(name.startswith(("fusenum.ir.numpy_behaviour.", "fusenum.ir.reductions.")) for name, _, _ in lines)
    assert all(module.startswith("fusenum.") for module in head["questions"])
