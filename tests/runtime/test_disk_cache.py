"""The disk cache: entries are reused across processes, bad entries are recompiled, unsafe or
unwritable directories fall back to memory, the size stays bounded."""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import fusenum
from fusenum.codegen import jit, settings as codegen_settings
from fusenum.ir import numpy_behaviour
from fusenum.runtime import background, disk_cache, disk_usage, kernels, plan_store, sources_digest, tiering

RNG = np.random.default_rng(12)
NAMES = {"a": RNG.random(300) * 4 - 2, "b": RNG.random(300) * 4 - 2, "c": RNG.random(300),
         "f": (RNG.random(300) * 3).astype(np.float32)}


def entries(directory) -> dict[str, bytes]:
    if not directory.exists():
        return {}
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name.endswith(disk_cache.SUFFIX)}


def only_entry(directory):
    (name,) = entries(directory)
    return directory / name


def evaluate(text: str) -> np.ndarray:
    """Evaluate, and wait for the kernel's optimized build (which is what goes to disk) and the
    text's typed plan to be written."""
    with np.errstate(all="ignore"):
        result = fusenum.evaluate(text, NAMES)
    assert background.wait(120)
    plan_store.write_unwritten()
    return result


def last_kernel() -> kernels.Kernel:
    return next(reversed(kernels._kernels.values()))


def test_a_kernel_is_written_once_and_loaded_from_disk_after_memory_is_cleared(cache_dir):
    first = evaluate("a * b + c")
    assert last_kernel().origin == "compiled" and last_kernel().seconds > 0
    info = fusenum.cache_info()
    assert (info.disk_hits, info.disk_misses) == (0, 1) and info.compile_seconds > 0
    path = only_entry(cache_dir)
    (plan,) = cache_dir.glob("*" + disk_cache.PLAN_SUFFIX)  # the text's typed plan (plan_store)
    assert info.disk_bytes == disk_usage.allocated(path.stat()) + disk_usage.allocated(plan.stat())
    assert os.stat(cache_dir).st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == plan.stat().st_mode & 0o777 == 0o600
    fusenum.clear_cache()
    np.testing.assert_array_equal(evaluate("a * b + c"), first)
    assert last_kernel().origin == "disk" and last_kernel().seconds > 0
    info = fusenum.cache_info()
    assert (info.misses, info.disk_hits, info.disk_misses, info.compile_seconds) == (1, 1, 0, 0.0)


@pytest.mark.parametrize("text", ["a + b", "sin(a)**2 + cos(b)**2", "where(a > b, a, c)", "exp(f) * f - 1",
                                  "arctan2(a, c) + log1p(c)", "sum(a * b)", "(f > 1) & (c < 0.5)"])
def test_a_disk_loaded_kernel_gives_the_same_bits_as_a_compiled_one(cache_dir, simd, text):
    compiled = evaluate(text)
    fusenum.clear_cache()
    loaded = evaluate(text)
    assert fusenum.cache_info().disk_hits >= 1 and fusenum.cache_info().disk_misses == 0
    assert compiled.dtype == loaded.dtype
    assert compiled.tobytes() == loaded.tobytes()


def _damage_and_reload(cache_dir, damage) -> None:
    expected = evaluate("a - 2 * b")
    path = only_entry(cache_dir)
    good = path.read_bytes()
    path.write_bytes(damage(good))
    fusenum.clear_cache()
    np.testing.assert_array_equal(evaluate("a - 2 * b"), expected)
    assert last_kernel().origin == "compiled"
    assert (fusenum.cache_info().disk_hits, fusenum.cache_info().disk_misses) == (0, 1)
    assert path.read_bytes() == good  # the bad entry was replaced by a good one


def _with_header(data: bytes, **changes) -> bytes:
    fields = dict(zip(("magic", "version", "key", "length", "checksum"), disk_cache.HEADER.unpack_from(data)))
    fields.update(changes)
    return disk_cache.HEADER.pack(*fields.values()) + data[disk_cache.HEADER.size:]


@pytest.mark.parametrize("damage", [
    lambda data: data[:-100],  # truncated payload
    lambda data: data[:20],  # truncated header
    lambda data: b"",
    lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one flipped bit: the checksum fails
    lambda data: b"NOTFUSEN" + data[8:],
    lambda data: _with_header(data, version=disk_cache.FORMAT_VERSION + 1),
    lambda data: _with_header(data, key=bytes(32)),
], ids=["truncated", "truncated-header", "empty", "corrupted", "magic", "other-format", "other-key"])
def test_a_bad_entry_is_removed_and_recompiled(cache_dir, damage):
    _damage_and_reload(cache_dir, damage)


def test_object_code_that_cannot_be_linked_is_removed_and_recompiled(cache_dir):
    garbage = b"not an object file" * 10

    def sealed_garbage(data):  # a consistent header: only linking can tell
        return _with_header(data[:disk_cache.HEADER.size] + garbage, length=len(garbage),
                            checksum=disk_cache.new_hash(garbage).digest())
    _damage_and_reload(cache_dir, sealed_garbage)


def test_another_kernels_entry_is_never_run(cache_dir):
    """An entry copied under another kernel's name fails the key check: no wrong code."""
    evaluate("a + b")
    add = only_entry(cache_dir)
    fusenum.clear_cache()
    expected = evaluate("a * b")
    (multiply,) = set(entries(cache_dir)) - {add.name}
    (cache_dir / multiply).write_bytes(add.read_bytes())
    fusenum.clear_cache()
    np.testing.assert_array_equal(evaluate("a * b"), expected)
    assert last_kernel().origin == "compiled"


def test_turned_off_nothing_is_written(cache_dir):
    fusenum.set_disk_cache(enabled=False)
    evaluate("a / b")
    assert not entries(cache_dir)
    info = fusenum.cache_info()
    assert (info.disk_hits, info.disk_misses, info.disk_bytes) == (0, 0, 0)
    assert last_kernel().origin == "compiled"


def _run(code: str, *arguments: str, **env: str) -> str:
    result = subprocess.run([sys.executable, "-c", code, *arguments], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


_CHILD = """
import json, sys
import numpy as np
import fusenum
a, b, c = np.linspace(-2, 2, 100), np.linspace(0, 3, 100), np.linspace(1, 5, 100)
results = [fusenum.evaluate(t).tolist() for t in json.loads(sys.argv[1])]
print(json.dumps({"results": results, "info": fusenum.cache_info()._asdict()}))
"""


def test_fusenum_cache_off_in_the_environment(tmp_path):
    out = _run(_CHILD, json.dumps(["a + b"]), FUSENUM_CACHE="off",
               FUSENUM_CACHE_DIR=str(tmp_path / "cache"))
    assert json.loads(out)["info"]["disk_misses"] == 0
    assert not (tmp_path / "cache").exists()


def test_invalid_environment_settings_are_clear_errors():
    for name, value in [("FUSENUM_CACHE", "maybe"), ("FUSENUM_CACHE_MAX_BYTES", "lots"),
                        ("FUSENUM_MAX_KERNELS", "\u00b2"), ("FUSENUM_NUMEXPR", "bogus")]:
        result = subprocess.run([sys.executable, "-c", "import fusenum"], env={**os.environ, name: value},
                                capture_output=True, text=True, timeout=600)
        assert result.returncode != 0
        assert f"fusenum.errors.ConfigurationError: {name} must be" in result.stderr
        assert repr(value) in result.stderr


def test_an_empty_setting_is_an_unset_one():
    code = "import fusenum; print(fusenum.get_disk_cache().max_bytes == fusenum.runtime.disk_cache.DEFAULT_MAX_BYTES)"
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "FUSENUM_CACHE_MAX_BYTES": " "},
                            capture_output=True, text=True, timeout=600)
    assert result.stdout.split() == ["True"], result.stderr


@pytest.mark.parametrize("arguments, message", [
    ({"max_bytes": -1}, "max_bytes must be a number of bytes (an integer >= 0), not -1"),
    ({"max_bytes": 1.5}, "max_bytes must be a number of bytes (an integer >= 0), not 1.5"),
    ({"max_bytes": "100"}, "max_bytes must be a number of bytes (an integer >= 0), not '100'"),
    ({"max_bytes": np.float32(1.5)},
     "max_bytes must be a number of bytes (an integer >= 0), not np.float32(1.5)"),
    ({"enabled": "yes"}, "enabled must be True, False or None, not 'yes'"),
])
def test_invalid_settings_are_configuration_errors(arguments, message):
    with pytest.raises(fusenum.ConfigurationError) as info:
        fusenum.set_disk_cache(**arguments)
    assert str(info.value) == message


@pytest.mark.parametrize("value", ["1_000", "\u0663", "1e3", "+5"])
def test_a_cache_size_not_written_in_ascii_digits_is_a_configuration_error(value):
    code = "import fusenum; fusenum.get_disk_cache()"
    env = {**os.environ, "FUSENUM_CACHE_MAX_BYTES": value}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=600)
    assert (f"ConfigurationError: FUSENUM_CACHE_MAX_BYTES must be a number of bytes (an integer >= 0), "
            f"not {value!r}") in result.stderr


def test_two_processes_fill_one_directory_at_once(tmp_path):
    texts = ["a + b", "a * b - c", "sqrt(b) + c", "where(a > 0, b, c)", "exp(-b) * c", "a / c + 1"]
    env = {**os.environ, "FUSENUM_CACHE_DIR": str(tmp_path / "shared")}
    children = [subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(order)], env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for order in (texts, texts[::-1])]
    outputs = [child.communicate(timeout=600) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _, err in outputs]
    first, second = (json.loads(out) for out, _ in outputs)
    assert first["results"] == second["results"][::-1]
    names = os.listdir(tmp_path / "shared")
    assert all(n.endswith((disk_cache.SUFFIX, disk_cache.PLAN_SUFFIX, disk_cache.HOST_SUFFIX))
               for n in names), names  # no temporaries
    assert len([n for n in names if n.endswith(disk_cache.SUFFIX)]) == len(texts)
    third = json.loads(_run(_CHILD, json.dumps(texts), FUSENUM_CACHE_DIR=str(tmp_path / "shared")))
    assert third["results"] == first["results"]
    assert (third["info"]["disk_hits"], third["info"]["disk_misses"]) == (len(texts), 0)


def _expect_refusal(directory, reason: str) -> None:
    fusenum.set_disk_cache(enabled=True, directory=directory)
    with pytest.warns(fusenum.DiskCacheWarning) as caught:
        np.testing.assert_array_equal(evaluate("a + 3 * b"), NAMES["a"] + 3 * NAMES["b"])
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"fusenum: not using the kernel cache directory {directory}: it {reason}")
    assert message.endswith("Compiled kernels are kept in memory only.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once only
        evaluate("a + 4 * b")
    assert last_kernel().origin == "compiled"
    assert fusenum.cache_info().disk_misses == 0


@pytest.mark.parametrize("mode, writers", [(0o777, "group and others"), (0o775, "group"), (0o703, "others")])
def test_a_directory_others_can_write_is_refused(cache_dir, mode, writers):
    cache_dir.mkdir()
    cache_dir.chmod(mode)
    _expect_refusal(cache_dir, f"is writable by {writers} (mode {mode:o}), and kernels are machine code")
    assert not entries(cache_dir)


def test_a_directory_of_another_user_is_refused(cache_dir):
    cache_dir.mkdir(mode=0o700)
    os.chown(cache_dir, os.getuid() + 1, -1)  # the tests run as root; as another user, use root's
    _expect_refusal(cache_dir, f"is owned by another user (uid {os.getuid() + 1})")
    assert not entries(cache_dir)


def test_an_entry_anybody_could_have_written_is_not_loaded_and_its_opened_up_directory_refused(cache_dir):
    """The directory is checked once; one opened up (or swapped for another's) later must not have
    its machine code run: an entry anybody could have written is never loaded, and the directory is
    then checked again."""
    first = evaluate("a * 3 + b")
    path = only_entry(cache_dir)
    fusenum.clear_cache()
    cache_dir.chmod(0o777)
    path.chmod(0o666)  # (what any user could have put there)
    with pytest.warns(fusenum.DiskCacheWarning, match="is writable by group and others"):
        np.testing.assert_array_equal(evaluate("a * 3 + b"), first)
    assert fusenum.cache_info().disk_hits == 0


def test_an_entry_others_could_write_in_a_private_directory_is_not_loaded(cache_dir):
    first = evaluate("a * 5 + b")
    path = only_entry(cache_dir)
    fusenum.clear_cache()
    path.chmod(0o622)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the directory stays in use: no warning
        np.testing.assert_array_equal(evaluate("a * 5 + b"), first)
    assert fusenum.cache_info().disk_hits == 0 and disk_cache.usable()


def test_a_symbolic_link_at_an_entrys_name_is_not_followed(cache_dir, tmp_path):
    """A link to a file elsewhere (a whole entry for this very kernel: only the link is wrong) is
    not loaded, and the kernel's next store replaces the link, not the file it points to."""
    expected = evaluate("a * 6 - b")
    path = only_entry(cache_dir)
    elsewhere = tmp_path / "elsewhere"
    path.rename(elsewhere)
    path.symlink_to(elsewhere)
    kept = elsewhere.read_bytes()
    fusenum.clear_cache()
    np.testing.assert_array_equal(evaluate("a * 6 - b"), expected)
    assert last_kernel().origin == "compiled" and fusenum.cache_info().disk_hits == 0
    assert not path.is_symlink() and path.is_file() and elsewhere.read_bytes() == kept


def test_a_hard_linked_entry_is_not_loaded(cache_dir, tmp_path):
    """fusenum never links an entry: one with another name may be a file of the user's from elsewhere
    (linked into a directory swapped in where hard links are not protected)."""
    expected = evaluate("a * 6 + b")
    path = only_entry(cache_dir)
    os.link(path, tmp_path / "another-name")
    fusenum.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error", fusenum.DiskCacheWarning)  # the directory stays in use
        np.testing.assert_array_equal(evaluate("a * 6 + b"), expected)
    assert last_kernel().origin == "compiled" and fusenum.cache_info().disk_hits == 0
    assert path.stat().st_nlink == 1 and disk_cache.usable()  # replaced by the new entry
    fusenum.clear_cache()
    evaluate("a * 6 + b")
    assert last_kernel().origin == "disk"


def test_a_directory_opened_up_after_its_check_is_written_no_more(cache_dir):
    evaluate("a * 8 + b")
    before = sorted(cache_dir.iterdir())
    cache_dir.chmod(0o777)
    with pytest.warns(fusenum.DiskCacheWarning, match="is writable by group and others"):
        evaluate("a * 8 - b")
    assert sorted(cache_dir.iterdir()) == before and not disk_cache.usable()


def test_a_directory_replaced_by_another_users_is_written_no_more(cache_dir, tmp_path):
    """As where a parent directory is writable by others, not sticky: another user renames the
    checked directory away and puts one of theirs in its place."""
    evaluate("a * 9 + b")
    cache_dir.rename(tmp_path / "moved")
    cache_dir.mkdir(mode=0o755)
    os.chown(cache_dir, os.getuid() + 1, -1)  # (the tests run as root)
    with pytest.warns(fusenum.DiskCacheWarning, match=rf"is owned by another user \(uid {os.getuid() + 1}\)"):
        evaluate("a * 9 - b")
    assert not list(cache_dir.iterdir()) and not disk_cache.usable()


def test_missing_parents_are_created_private_whatever_the_umask(tmp_path):
    """Under ``umask 0`` a parent made with the default mode (``~/.cache/fusenum``) was writable by
    all, who could rename the cache directory away and put theirs in its place."""
    directory = tmp_path / "cache" / "fusenum" / "kernels"
    _run("import os; os.umask(0); from fusenum.runtime import disk_cache; assert disk_cache.usable()",
         FUSENUM_CACHE_DIR=str(directory))
    for made in (directory.parent.parent, directory.parent, directory):
        assert made.stat().st_mode & 0o777 == 0o700, made


def test_a_directory_that_cannot_be_created_is_refused(tmp_path, cache_dir):
    (tmp_path / "file").write_text("a regular file")
    _expect_refusal(tmp_path / "file" / "cache", "cannot be created (Not a directory)")


def test_a_directory_that_cannot_be_written_is_refused(cache_dir):
    evaluate("a + 1")  # the directory is checked and used
    only_entry(cache_dir)
    shutil.rmtree(cache_dir)
    cache_dir.write_text("now a file: nothing can be written under it")
    fusenum.clear_cache()
    with pytest.warns(fusenum.DiskCacheWarning, match="it cannot be written .*Not a directory"):
        evaluate("a + 1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate("a + 2")
    # "a + 1"'s kernel was looked for (the typed plan is written later), and the failure met
    # storing it; "a + 2"'s was not: the cache was off by then
    assert fusenum.cache_info().disk_misses == 1


def test_least_recently_used_entries_are_evicted_beyond_the_size_limit(cache_dir, monkeypatch):
    # Optimized builds only: a quick build, written first, would count towards the limit too (see
    # test_quick_builds_count_towards_the_size_limit), and its size is not the entry's. Kernels only:
    # typed plans count too (test_typed_plans_count_towards_the_size_limit).
    monkeypatch.setattr(kernels, "TIERED", False)
    monkeypatch.setattr(plan_store, "store", lambda text, record: None)
    texts = ["a + b", "a - b", "a * b", "a / b"]
    names = []
    for text in texts:
        before = set(entries(cache_dir))
        evaluate(text)
        (name,) = set(entries(cache_dir)) - before
        names.append(name)
    sizes = {name: disk_usage.allocated((cache_dir / name).stat()) for name in names}
    for age, name in enumerate(names):
        os.utime(cache_dir / name, (1000 + age, 1000 + age))
    (cache_dir / names[3]).unlink()
    fusenum.clear_cache()
    evaluate(texts[0])  # a hit: now the most recently used
    limit = sum(sizes.values()) - 1  # (the four would be one byte over; three are under 90% of it)
    fusenum.set_disk_cache(max_bytes=limit)
    evaluate(texts[3])  # compiled and written: over the limit
    assert set(entries(cache_dir)) == {names[0], names[2], names[3]}
    assert fusenum.cache_info().disk_bytes <= limit


def test_a_hit_refreshes_its_entrys_time_only_when_it_is_old(cache_dir):
    evaluate("a * 7 + b")
    (name,) = entries(cache_dir)
    path = cache_dir / name
    for age, refreshed in [(disk_cache.TOUCH_SECONDS / 2, False), (disk_cache.TOUCH_SECONDS * 2, True)]:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
        fusenum.clear_cache()
        hits = fusenum.cache_info().disk_hits
        evaluate("a * 7 + b")
        assert fusenum.cache_info().disk_hits == hits + 1
        assert (path.stat().st_mtime > stamp + age / 2) == refreshed


def test_clear_disk_cache_removes_every_entry(cache_dir):
    evaluate("a + c")
    assert entries(cache_dir)
    fusenum.clear_disk_cache()
    assert not entries(cache_dir) and fusenum.cache_info().disk_bytes == 0


def test_eviction_and_clearing_remove_only_fusenums_files(cache_dir):
    """The directory may be one the user keeps other files in (``FUSENUM_CACHE_DIR=.``): only names
    fusenum gives are removed, and temporary files only once a killed process left them."""
    import tempfile

    evaluate("a - 3 * b")
    old = time.time() - 2 * disk_cache.STALE_TEMP_SECONDS
    theirs = ["notes.plan", "linux.kernel", "draft.quick", ".tmp-mine", "g" * 64 + ".host",
              "0" * 64 + ".plan~"]
    for name in theirs:
        (cache_dir / name).write_text("the user's")
        os.utime(cache_dir / name, (old, old))
    handle, left_behind = tempfile.mkstemp(prefix=disk_cache.TEMP_PREFIX, dir=cache_dir)  # as _write names it
    os.close(handle)
    os.utime(left_behind, (old, old))
    fusenum.set_disk_cache(max_bytes=1)
    evaluate("a - 4 * b")  # written, then everything evicted
    (kept,) = {p.name for p in cache_dir.iterdir()} - set(theirs)  # no kernel, plan or temporary:
    assert kept.endswith(disk_cache.HOST_SUFFIX)  # only the host's record, which is not evicted
    fusenum.set_disk_cache(max_bytes=disk_cache.DEFAULT_MAX_BYTES)
    evaluate("a - 5 * b")
    fusenum.clear_disk_cache()
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(theirs)


def test_settings_round_trip(cache_dir):
    previous = fusenum.set_disk_cache(enabled=False, max_bytes=1234)
    assert previous == fusenum.DiskCache(True, str(cache_dir), disk_cache.DEFAULT_MAX_BYTES)
    assert fusenum.get_disk_cache() == (False, str(cache_dir), 1234)
    fusenum.set_disk_cache(*previous)
    assert fusenum.get_disk_cache() == previous


_KEY_CODE = """
import numpy as np
from fusenum.codegen import settings, target
from fusenum.codegen.spec import Access, KernelSpec
from fusenum.ir import nodes
from fusenum.runtime import disk_cache
x, y = nodes.input_slot(0, np.float64), nodes.input_slot(1, np.float32)
root = nodes.make("add", (x, nodes.cast(y, np.float64)), np.float64)
spec = KernelSpec(nodes.make("multiply", (root, nodes.const(np.float64(2.5))), np.float64),
                  (Access("c"), Access("s", True), Access("c")), 2)
print(disk_cache.key(repr(settings.key) + spec.canonical(), target.current()).hex())
"""


def test_the_key_is_the_same_in_every_process():
    keys = {_run(_KEY_CODE, PYTHONHASHSEED=str(seed)) for seed in (1, 2)}
    assert len(keys) == 1


def _sources_digest_of(monkeypatch, files: dict) -> bytes:
    """The code generator's digest were its sources ``files`` (name -> path)."""
    monkeypatch.setattr(sources_digest, "source_files", lambda root: sorted(files.items()) if "codegen" in root else [])
    sources_digest.sources_digest.cache_clear()
    sources_digest.code_generator_files.cache_clear()
    try:
        return sources_digest.sources_digest()
    finally:
        sources_digest.sources_digest.cache_clear()
        sources_digest.code_generator_files.cache_clear()


@pytest.mark.parametrize("times", ["the files' own", "all equal", "from 1970"])
def test_an_edited_source_changes_the_key(monkeypatch, tmp_path, times):
    """An edit changes a file's modification time, unless its times are set for it (reproducible
    builds, packagers): then the text decides, so a same-size edit still changes the key."""
    files = {name: str(tmp_path / name) for name in ("rules.py", "emit.py")}
    stamps = {"the files' own": (1_700_000_000, 1_700_000_500), "all equal": (1_700_000_000,) * 2,
              "from 1970": (1, 2)}[times]

    def write(text: str) -> bytes:
        for (name, path), stamp in zip(sorted(files.items()), stamps):
            with open(path, "w") as file:
                file.write(text if name == "rules.py" else "x = 1\n")
            os.utime(path, ns=(stamp * 10**9, stamp * 10**9))
        return _sources_digest_of(monkeypatch, files)

    before = write("less = '<'\n")
    assert write("less = '<'\n") == before
    edited = write("less = '>'\n")  # same size; the same times, as set for the files
    assert (edited != before) == (times != "the files' own")
    if times == "the files' own":  # an edit's new time
        os.utime(files["rules.py"], ns=(stamps[0] * 10**9 + 1, stamps[0] * 10**9 + 1))
        assert _sources_digest_of(monkeypatch, files) != edited


def test_the_native_thread_pool_is_kept_on_disk_too(tmp_path):
    code = """
import sys
import numpy as np
import fusenum
from fusenum.codegen import jit
from fusenum.runtime import threads
if sys.argv[1] == "warm":
    jit.compile_object = None  # anything compiled now would fail
fusenum.set_num_threads(2)
a = np.ones(4_000_000)
assert (fusenum.evaluate("a + 1") == 2).all()
print(threads.wait_for_native_pool())
"""
    directory = tmp_path / "cache"
    assert _run(code, "cold", FUSENUM_CACHE_DIR=str(directory)).split() == ["True"]
    cold = set(entries(directory))
    assert _run(code, "warm", FUSENUM_CACHE_DIR=str(directory)).split() == ["True"]
    assert set(entries(directory)) == cold


def test_editing_the_code_generator_changes_every_key(tmp_path):
    """A developer who edits a lowering rule never gets code compiled before the edit."""
    copy = tmp_path / "src"
    shutil.copytree(os.path.dirname(fusenum.__file__), copy / "fusenum")
    code = f"import sys\nsys.path.insert(0, {str(copy)!r})\n{_KEY_CODE}\nassert 'src' in disk_cache.__file__"
    before = _run(code)
    with open(copy / "fusenum" / "codegen" / "rules" / "basic.py", "a") as rules:
        rules.write("\n# edited\n")
    assert _run(code) != before


def test_a_removed_directory_is_created_again(cache_dir):
    evaluate("a + 5")
    shutil.rmtree(cache_dir)
    fusenum.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate("a + 5")
    assert len(entries(cache_dir)) == 1 and os.stat(cache_dir).st_mode & 0o777 == 0o700


def test_a_process_that_exits_right_after_its_first_call_leaves_the_optimized_kernel_on_disk(cache_dir):
    code = "import numpy as np, fusenum; a = np.arange(9.0); print(fusenum.evaluate('a * 5 - 1').sum())"
    settings = {"FUSENUM_SIMD": fusenum.get_simd(), "FUSENUM_VECTOR_MATH": codegen_settings.vector_math}
    assert _run(code, FUSENUM_CACHE_DIR=str(cache_dir), **settings).split() == ["171.0"]
    assert len(entries(cache_dir)) == 1  # written at exit, by the background optimizer
    a = np.arange(9.0)
    np.testing.assert_array_equal(fusenum.evaluate("a * 5 - 1", {"a": a}), a * 5 - 1)
    assert last_kernel().origin == "disk"


_FIRST_CALL_CODE = """
import sys
import numpy as np
import fusenum
from fusenum.codegen import target
from fusenum.runtime import tiering
a = np.arange(100.0)
first = fusenum.evaluate("a * 7 - 2")
info = fusenum.cache_info()
llvm_at_first = target.llvm_ready()
fusenum.evaluate("a * 7 - 2")  # if interpreted, this second call asks for the kernel
tiering.wait_for_compiles()
second = fusenum.evaluate("a * 7 - 2")
assert (first == a * 7 - 2).all() and (second == first).all()
print(info.tier0_calls, info.disk_hits, fusenum.cache_info().disk_hits, fusenum.cache_info().disk_misses,
      llvm_at_first, target.llvm_ready(), "llvmlite.binding" in sys.modules, "llvmlite" in sys.modules)
"""


def test_a_new_process_loads_its_first_kernel_from_disk_without_loading_llvm(cache_dir):
    """The first process compiles (LLVM loaded in the background while the interpreter serves) and
    records the host's description; the next one links the kernel from disk with no LLVM at all.
    Without the record, the first call is interpreted while the background compiler loads LLVM
    (~10-30 ms) and then the kernel, as before there was a record."""
    settings = {"FUSENUM_SIMD": fusenum.get_simd(), "FUSENUM_VECTOR_MATH": codegen_settings.vector_math,
                "FUSENUM_CACHE_DIR": str(cache_dir), "FUSENUM_TIERING": "auto"}
    cold = _run(_FIRST_CALL_CODE, **settings).split()
    assert cold[:7] == ["1", "0", "0", "1", "False", "True", "False"]  # interpreted, compiled, stored
    assert len(list(cache_dir.glob("*" + disk_cache.HOST_SUFFIX))) == 1
    warm = _run(_FIRST_CALL_CODE, **settings).split()
    # loaded at once; neither LLVM nor llvmlite's Python package (its version and library file are read)
    assert warm == ["0", "1", "1", "0", "False", "False", "False", "False"]
    for record in cache_dir.glob("*" + disk_cache.HOST_SUFFIX):
        record.unlink()
    unrecorded = _run(_FIRST_CALL_CODE, **settings).split()
    assert unrecorded[:7] == ["1", "0", "1", "0", "False", "True", "False"]  # interpreted, then loaded


_EMPTY_DIRECTORY_CODE = """
import sys, threading
import numpy as np
import fusenum
from fusenum.codegen import cpu_probe
a = np.arange(100.0)
assert (fusenum.evaluate("a * 7 - 2") == a * 7 - 2).all()
for thread in threading.enumerate():  # the look-ahead started at import (fusenum.runtime.prefetch)
    if thread.name == "fusenum-prefetch":
        thread.join(60)
print(cpu_probe.fingerprint.cache_info().misses if "fusenum.codegen.cpu_probe" in sys.modules else 0)
"""


def test_a_first_call_in_an_empty_directory_skips_the_host_record(cache_dir):
    """An empty directory holds no host record: the first call does not read the host's signature
    (~2 ms: the CPU probe, llvmlite's files); with a record there it does, once."""
    settings = {"FUSENUM_CACHE_DIR": str(cache_dir), "FUSENUM_TIERING": "auto"}
    assert _run(_EMPTY_DIRECTORY_CODE, **settings).split() == ["0"]
    _run(_FIRST_CALL_CODE, **settings)  # compiles: stores a kernel and the host's record
    assert _run(_EMPTY_DIRECTORY_CODE, **settings).split() == ["1"]


def test_loading_the_compiler_records_the_host(cache_dir):
    """The background compiler records the host once it has loaded LLVM, before any kernel: the
    first disk load of a call that came meanwhile did (~3 ms: the CPU's signature, a store)."""
    _run("from fusenum.runtime import kernels; kernels.load_compiler()", FUSENUM_CACHE_DIR=str(cache_dir))
    assert len(list(cache_dir.glob("*" + disk_cache.HOST_SUFFIX))) == 1


def test_a_damaged_host_record_is_removed_and_llvm_asked(cache_dir):
    settings = {"FUSENUM_SIMD": fusenum.get_simd(), "FUSENUM_VECTOR_MATH": codegen_settings.vector_math,
                "FUSENUM_CACHE_DIR": str(cache_dir), "FUSENUM_TIERING": "never"}
    _run(_FIRST_CALL_CODE, **settings)
    (record,) = cache_dir.glob("*" + disk_cache.HOST_SUFFIX)
    data = bytearray(record.read_bytes())
    data[-3] ^= 0x20
    record.write_bytes(bytes(data))
    code = ("import fusenum, numpy as np; from fusenum.codegen import target; a = np.arange(5.0);"
            "print(fusenum.evaluate('a * 7 - 2').tolist(), target.llvm_ready())")
    assert _run(code, **settings).split() == ["[-2.0,", "5.0,", "12.0,", "19.0,", "26.0]", "True"]
    (again,) = cache_dir.glob("*" + disk_cache.HOST_SUFFIX)  # recorded again, whole
    assert again.read_bytes() != bytes(data)


def test_an_adopted_host_record_is_what_llvm_says(cache_dir):
    """The record a process adopts describes the host exactly as LLVM does, so keys (and the code
    compiled under them) do not depend on which process asked LLVM."""
    settings = {"FUSENUM_CACHE_DIR": str(cache_dir), "FUSENUM_TIERING": "never"}
    _run(_FIRST_CALL_CODE, **settings)
    code = """
from fusenum.codegen import target
from fusenum.runtime import host_record
host_record.recall()
assert target.host_described() and not target.llvm_ready()
adopted = target.host_description()
library = target.native()
asked = (library.host_cpu_name(), library.host_cpu_features(), library.process_triple(), tuple(library.version()))
print(adopted == asked)
"""
    assert _run(code, **settings).split() == ["True"]


_RECORD_CODE = """
import sys, warnings
import numpy as np
import fusenum
from fusenum.codegen import target
from fusenum.runtime import disk_cache, host_record
if sys.argv[1] == "plant":  # a whole, checksummed record that is not what LLVM says
    if sys.argv[2] == "renamed":  # LLVM's answer with another CPU name
        cpu, features, triple, version = target.llvm_host_description()
        text = host_record._text(("fusenum-test-cpu", features, triple, version)).encode()
    else:
        text = sys.argv[2].encode()
    disk_cache.store(host_record._digest(), text, disk_cache.HOST_SUFFIX)
    sys.exit()
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    a = np.arange(6.0)
    result = fusenum.evaluate("a * 3 + 1")  # compiles: LLVM loaded, so the record is checked
print(result.tolist() == [1.0, 4.0, 7.0, 10.0, 13.0, 16.0], [str(w.message)[:60] for w in caught])
"""


def test_a_record_that_does_not_parse_is_removed_and_llvm_asked(tmp_path):
    settings = {"FUSENUM_CACHE_DIR": str(tmp_path), "FUSENUM_TIERING": "never"}
    _run(_RECORD_CODE, "plant", "not a host description", **settings)
    out = _run(_RECORD_CODE, "use", **settings)
    assert out.startswith("True []")
    (record,) = tmp_path.glob("*" + disk_cache.HOST_SUFFIX)  # LLVM's, recorded again
    assert b"not a host description" not in record.read_bytes()


def test_a_record_llvm_contradicts_is_removed_with_a_warning(tmp_path):
    """A signature that missed a difference: the process that adopted the record and then loads LLVM
    to compile sees it, warns, and replaces the record with LLVM's answer."""
    settings = {"FUSENUM_CACHE_DIR": str(tmp_path), "FUSENUM_TIERING": "never"}
    _run(_RECORD_CODE, "plant", "renamed", **settings)
    out = _run(_RECORD_CODE, "use", **settings)
    assert out.startswith("True ['fusenum: the host description recorded in the kernel cache")
    (record,) = tmp_path.glob("*" + disk_cache.HOST_SUFFIX)
    assert b"fusenum-test-cpu" not in record.read_bytes()
    assert _run(_RECORD_CODE, "use", **settings).startswith("True []")


_NUMPY_ASKED_CODE = """
import sys
import numpy as np
import fusenum
from fusenum.ir import answers
a, b = np.linspace(0.5, 2, 100), np.linspace(1, 3, 100)
fusenum.evaluate(sys.argv[1])
# (none shipped in the tests: each one known was asked; the loop's, which the kernel follows, must not be)
print(sum(name.endswith(".power_loop_rewrites") for name, _ in answers._answers), fusenum.cache_info().disk_hits)
"""


@pytest.mark.parametrize("text, follows", [("a * 2 + b", False), ("a ** b - 1", True), ("clip(a, 0.7, b)", True),
                                           ("log(a) - b", True)])
def test_only_kernels_that_follow_numpys_loops_are_keyed_by_the_installed_numpy(cache_dir, text, follows):
    """A float power or clip compiles to what the installed NumPy's loops do (which it is asked), a
    math function gives NumPy's NaN outside its domain: such a kernel's key names the installed
    NumPy; any other kernel's does not. A process loading them does not ask NumPy (~0.5 ms)."""
    evaluate(text)
    description = kernels.description(last_kernel().spec, codegen_settings.key)
    assert (numpy_behaviour.installation() in description) == follows
    # the kernels shipped with the package name NumPy's release, wherever it is installed
    portable = kernels.description(last_kernel().spec, codegen_settings.key, portable=True)
    assert (numpy_behaviour.release() in portable) == follows and numpy_behaviour.installation() not in portable
    assert portable.replace(numpy_behaviour.release(), numpy_behaviour.installation()) == description
    settings = {"FUSENUM_CACHE_DIR": str(cache_dir), "FUSENUM_TIERING": "never",
                "FUSENUM_SIMD": fusenum.get_simd(), "FUSENUM_VECTOR_MATH": codegen_settings.vector_math}
    asked, loaded = _run(_NUMPY_ASKED_CODE, text, **settings).split()
    assert loaded == "1" and asked == "0"


@pytest.mark.skipif(sys.platform != "linux", reason="fusenum applies the XDG rule itself on Linux only")
@pytest.mark.parametrize("xdg", [None, "", "relative/cache", "/tmp/fusenum-xdg-cache"])
@pytest.mark.parametrize("home", ["/tmp/fusenum-home", ""])
def test_the_default_directory_is_platformdirs_user_cache_directory(monkeypatch, xdg, home):
    import platformdirs
    monkeypatch.setenv("HOME", home)
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    if xdg == "relative/cache" and home:
        # the XDG rule: a relative path is ignored (as current platformdirs does; some older releases used it)
        expected = os.path.join(home, ".cache", "fusenum", "kernels")
    else:
        expected = os.path.join(platformdirs.user_cache_dir("fusenum", appauthor=False), "kernels")
    assert disk_cache._default_directory() == expected
    if home:  # (without one, platformdirs is asked)
        assert ("platformdirs" in _run("import sys, fusenum.runtime.disk_cache as d; d._default_directory();"
                                       "print(sorted(sys.modules))")) is False


@pytest.mark.parametrize("directory, error, base", [
    (b"/tmp/fusenum-kernels", fusenum.errors.ArgumentTypeError, TypeError),
    (42, fusenum.errors.ArgumentTypeError, TypeError),
    ("", fusenum.ConfigurationError, ValueError),
    ("/tmp/fusenum\0kernels", fusenum.ConfigurationError, ValueError),
    ("/tmp/fusenum-\ud800", fusenum.ConfigurationError, ValueError),  # (evaluate's UnicodeEncodeError, later)
], ids=["bytes", "int", "empty", "nul", "surrogate"])
def test_an_invalid_directory_is_a_clear_error(cache_dir, directory, error, base):
    before = fusenum.get_disk_cache()
    with pytest.raises(error) as info:
        fusenum.set_disk_cache(directory=directory)
    assert isinstance(info.value, base) and str(info.value).startswith("directory must")
    assert fusenum.get_disk_cache() == before  # nothing changed


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_at_an_entrys_name_is_a_bad_entry(cache_dir):
    """Opening a FIFO for reading waits for a writer: the entry is never read, and is replaced."""
    expected = evaluate("a - 2 * b")
    path = only_entry(cache_dir)
    path.unlink()
    os.mkfifo(path, 0o600)
    fusenum.clear_cache()
    hung = []

    def unblock():  # (if the load waits on the FIFO, a writer lets it go on, and the test fails)
        hung.append(True)
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    timer = threading.Timer(20, unblock)
    timer.start()
    try:
        result = evaluate("a - 2 * b")
    finally:
        timer.cancel()
    assert not hung, "loading the entry waited on the FIFO"
    np.testing.assert_array_equal(result, expected)
    assert last_kernel().origin == "compiled"
    assert path.is_file() and disk_cache.load(bytes.fromhex(path.name[:-len(disk_cache.SUFFIX)])) is not None


def test_a_huge_file_at_an_entrys_name_is_removed_unread(cache_dir):
    """Read whole, a 3 GB file made every call fail with MemoryError under a memory limit (and was
    kept); a file above the entries' size bound is a bad entry, never read."""
    import tracemalloc

    expected = evaluate("a - 2 * b")
    path = only_entry(cache_dir)
    with open(path, "r+b") as file:
        file.truncate(3 * 2**30)  # (sparse: no disk used)
    fusenum.clear_cache()
    tracemalloc.start()
    try:
        result = evaluate("a - 2 * b")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(result, expected)
    assert last_kernel().origin == "compiled" and peak < disk_cache.MAX_ENTRY_BYTES
    assert path.stat().st_size < 2**20  # replaced by the new entry


def test_a_directory_at_an_entrys_name_leaves_the_cache_on_for_other_kernels(cache_dir):
    expected = evaluate("a - 2 * b")
    path = only_entry(cache_dir)
    path.unlink()
    path.mkdir()
    fusenum.clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error", fusenum.DiskCacheWarning)
        np.testing.assert_array_equal(evaluate("a - 2 * b"), expected)
        assert last_kernel().origin == "compiled"
        evaluate("a * b + 7")
    assert disk_cache.usable() and path.is_dir()  # left alone: this kernel only is not kept
    assert [p.is_file() for p in cache_dir.iterdir() if p.name.endswith(disk_cache.SUFFIX)].count(True) == 1
    fusenum.clear_cache()
    evaluate("a * b + 7")
    assert last_kernel().origin == "disk"


def test_the_default_directory_is_found_without_holding_the_caches_lock(monkeypatch):
    """Without a usable HOME the default directory imports platformdirs under ``loading``, which a
    fork takes before the disk cache's lock: finding it while holding that lock could deadlock a
    fork (the forking thread holding ``loading`` and waiting for the lock, this one the reverse)."""
    held = []
    real = disk_cache._default_directory
    monkeypatch.setattr(disk_cache, "_default_directory",
                        lambda: held.append(disk_cache._lock._is_owned()) or real())
    monkeypatch.setattr(disk_cache.state, "directory", None)
    monkeypatch.setattr(disk_cache.state, "usable", None)
    monkeypatch.setattr(disk_cache.state, "refused", False)
    monkeypatch.setattr(disk_cache.state, "enabled", True)
    monkeypatch.setattr(disk_cache, "_problem", lambda path, create=True: None)  # (the user's real cache is not touched)
    assert disk_cache._directory() == real()
    assert held and not any(held)


# ---- quick builds -------------------------------------------------------------------------------
def assert_bits(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


def quick_entries(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(disk_cache.QUICK_SUFFIX)) \
        if directory.exists() else []


@pytest.fixture
def paused_optimizer():
    """Holds the background thread (optimized builds a call's quick build queued) until released."""
    release = threading.Event()
    background.submit(lambda: release.wait(120))
    yield release
    release.set()
    assert background.wait(120)


def _only_a_quick_build(cache_dir, text: str, paused) -> tuple[np.ndarray, bytes]:
    """The result of ``text`` and its quick build's entry, as a process that exited before its
    optimized build leaves the cache directory (with that entry only)."""
    with np.errstate(all="ignore"):
        result = fusenum.evaluate(text, NAMES)
    (name,) = quick_entries(cache_dir)
    assert not entries(cache_dir)  # the optimized build has not run yet
    data = (cache_dir / name).read_bytes()
    paused.set()
    assert background.wait(120)
    assert not quick_entries(cache_dir) and len(entries(cache_dir)) == 1  # replaced by the optimized build
    fusenum.clear_cache()
    fusenum.clear_disk_cache()
    (cache_dir / name).write_bytes(data)
    return result, data


def test_a_quick_build_is_stored_until_its_optimized_build_replaces_it(cache_dir, paused_optimizer):
    _only_a_quick_build(cache_dir, "a * 2.75 - c", paused_optimizer)


def test_a_quick_build_on_disk_serves_a_new_process_and_is_optimized_there(cache_dir, paused_optimizer,
                                                                           monkeypatch):
    # the optimized build waits long enough for the checks of the quick one on a loaded machine
    monkeypatch.setattr(kernels, "OPTIMIZE_LOADED_AFTER", 2.0)
    first, _ = _only_a_quick_build(cache_dir, "sin(a) * 2.75 - c", paused_optimizer)
    with np.errstate(all="ignore"):
        again = fusenum.evaluate("sin(a) * 2.75 - c", NAMES)
    assert_bits(again, first)
    loaded = last_kernel()
    assert (loaded.origin, loaded.build) == ("disk", "quick")
    info = fusenum.cache_info()
    assert (info.disk_hits, info.compile_seconds) == (1, 0.0)
    assert "its quick build" in fusenum.explain("sin(a) * 2.75 - c", NAMES)
    # its optimized build, queued on the tiers' compiler a little later, replaces it on disk
    assert tiering.wait_for_compiles(120)
    assert loaded.build == "optimized" and not quick_entries(cache_dir) and len(entries(cache_dir)) == 1
    with np.errstate(all="ignore"):
        assert_bits(fusenum.evaluate("sin(a) * 2.75 - c", NAMES), first)


def test_optimized_builds_only_never_run_a_quick_build_from_disk(cache_dir, paused_optimizer, monkeypatch):
    first, _ = _only_a_quick_build(cache_dir, "a * 3.25 + c", paused_optimizer)
    monkeypatch.setattr(kernels, "TIERED", False)
    assert_bits(evaluate("a * 3.25 + c"), first)
    assert last_kernel().origin == "compiled" and last_kernel().build == "optimized"
    assert len(entries(cache_dir)) == 1


@pytest.mark.parametrize("damage", [lambda data: data[:-9], lambda data: data[:80] + b"\xff" + data[81:]],
                         ids=["truncated", "corrupted"])
def test_a_bad_quick_build_is_removed_and_recompiled(cache_dir, paused_optimizer, damage):
    first, data = _only_a_quick_build(cache_dir, "a * 1.5 + b", paused_optimizer)
    (name,) = quick_entries(cache_dir)
    (cache_dir / name).write_bytes(damage(data))
    assert_bits(evaluate("a * 1.5 + b"), first)
    assert last_kernel().origin == "compiled"
    assert not quick_entries(cache_dir) and len(entries(cache_dir)) == 1


def test_quick_builds_count_towards_the_size_limit(cache_dir, paused_optimizer):
    _only_a_quick_build(cache_dir, "a * 4.5 - b", paused_optimizer)
    (name,) = quick_entries(cache_dir)
    assert fusenum.cache_info().disk_bytes == disk_usage.allocated((cache_dir / name).stat())
    fusenum.clear_disk_cache()
    assert not quick_entries(cache_dir) and fusenum.cache_info().disk_bytes == 0


def test_a_failed_optimized_build_leaves_the_quick_build_on_disk(cache_dir, paused_optimizer, monkeypatch):
    with np.errstate(all="ignore"):
        fusenum.evaluate("a * 5.5 - c", NAMES)
    (name,) = quick_entries(cache_dir)

    def failing(object_code):
        raise RuntimeError("injected failure")
    monkeypatch.setattr(jit, "storable", failing)
    with pytest.warns(RuntimeWarning, match="injected failure"):
        paused_optimizer.set()
        assert background.wait(120)
    assert quick_entries(cache_dir) == [name] and not entries(cache_dir)


def test_a_quick_build_on_disk_serves_a_thread_while_the_optimizer_is_behind(cache_dir, paused_optimizer,
                                                                             monkeypatch):
    first, _ = _only_a_quick_build(cache_dir, "a * 6.5 - b", paused_optimizer)
    release = threading.Event()
    background.submit(lambda: release.wait(120))
    monkeypatch.setattr(kernels, "_MAX_BEHIND", 1)  # (one job waiting: behind)
    results = []
    with np.errstate(all="ignore"):
        helper = threading.Thread(target=lambda: results.append(fusenum.evaluate("a * 6.5 - b", NAMES)))
        helper.start()
        helper.join()
    release.set()
    assert background.wait(120) and tiering.wait_for_compiles(120)
    assert_bits(results[0], first)
    assert last_kernel().origin == "disk" and fusenum.cache_info().compile_seconds > 0  # (its optimized build)


def test_an_editors_lock_link_among_the_sources_is_not_a_source(tmp_path):
    """Emacs keeps a dangling link ``.#name.py`` beside a file being edited: the key's walk of the
    sources skips what is not a regular file (stat would fail on it at every compile)."""
    from fusenum.runtime import sources_digest
    (tmp_path / "rule.py").write_text("x = 1\n")
    (tmp_path / ".#rule.py").symlink_to("root@host.1234:1700000000")
    assert [name for name, _ in sources_digest.source_files(str(tmp_path))] == ["rule.py"]
