"""Frozen records: the dataclass behaviour fusenum's tables and specs rely on."""
import copy
import os
import pickle
import subprocess
import sys

import pytest

from fusenum.ir import records
from fusenum.ir.reductions import ReduceAttr


@records.record
class Point:
    """A record for these tests."""

    x: int
    y: int = 2
    tags: tuple = ()


@records.record
class Scaled:
    """A record with a value computed from its fields."""

    value: float

    def __post_init__(self):
        object.__setattr__(self, "doubled", 2 * self.value)


def test_fields_defaults_and_keywords():
    assert records.fields(Point) == ("x", "y", "tags")
    assert (Point(1).x, Point(1).y, Point(1).tags) == (1, 2, ())
    assert Point(1, tags=("a",)).tags == ("a",)
    for args, kwargs, message in [((), {}, "Point() missing required argument: 'x'"),
                                  ((1, 2, (), 4), {}, "Point() takes 3 arguments but 4 were given"),
                                  ((1,), {"z": 2}, "Point() got an unexpected keyword argument 'z'"),
                                  ((1,), {"x": 2}, "Point() got multiple values for argument 'x'")]:
        with pytest.raises(TypeError) as info:
            Point(*args, **kwargs)
        assert str(info.value) == message


def test_equality_and_hash_follow_the_fields_and_the_class():
    assert Point(1, 2) == Point(1, 2) and hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1, 2) != Point(1, 3)
    assert len({Point(1), Point(1), Point(2)}) == 2
    assert Point(1) != (1, 2, ())
    assert ReduceAttr("sum", None, False) != Point("sum", None, False)


def test_immutable():
    point = Point(1)
    with pytest.raises(AttributeError, match="cannot assign to field 'x': Point is immutable"):
        point.x = 3
    with pytest.raises(AttributeError, match="cannot assign to field 'y': Point is immutable"):
        del point.y


def test_post_init_and_repr():
    assert Scaled(1.5).doubled == 3.0
    assert repr(Point(1, tags=("a",))) == "Point(x=1, y=2, tags=('a',))"


def test_replace_and_pickle():
    assert records.replace(Point(1), y=5) == Point(1, 5)
    with pytest.raises(TypeError, match="Point has no field 'z'"):
        records.replace(Point(1), z=5)
    attr = ReduceAttr("mean", (0, 1), True, partial=True)
    assert pickle.loads(pickle.dumps(attr)) == attr
    assert records.is_record(attr) and records.is_record(ReduceAttr) and not records.is_record(object())


def test_a_field_without_a_default_after_one_with_a_default_is_refused():
    class Wrong:
        a: int = 1
        b: int

    with pytest.raises(TypeError, match="Wrong: a field without a default follows one with a default"):
        records.record(Wrong)


def test_records_without_fields_and_with_one():
    @records.record
    class Empty:
        """No fields."""

    @records.record
    class One:
        """One field."""

        x: int

    assert Empty() == Empty() and hash(Empty()) == hash(Empty()) and repr(Empty()).endswith(".Empty()")
    assert One(1) == One(x=1) != One(2) and hash(One(1)) == hash(One(1))


_HASH_IN_ANOTHER_PROCESS = """
import pickle, sys
from fusenum.ir.reductions import ReduceAttr
print(hash(pickle.loads(bytes.fromhex(sys.argv[1]))) == hash(ReduceAttr("sum", None, True)))
"""


def test_a_kept_hash_is_not_pickled():
    """A record keeps its hash once computed; a string's hash differs from process to process, so
    an unpickled record must compute its own."""
    access = ReduceAttr("sum", None, True)
    hash(access)
    assert "_record_hash" in vars(access) and "_record_hash" not in vars(pickle.loads(pickle.dumps(access)))
    assert vars(copy.copy(access)).keys() == {"reduction", "axis", "keepdims", "partial", "to_half", "axis_rule"}
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", _HASH_IN_ANOTHER_PROCESS, pickle.dumps(access).hex()],
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.stdout.strip() == "True", done.stderr
