"""``JsonFile``: a change is all or nothing, and a reader that asks often sees every write,
also from several threads at once."""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec
import pytest

from trackway.files import JsonFile


class Counter(msgspec.Struct):
    value: int = 0
    history: list[int] = []


def test_update_writes_what_the_change_made(tmp_path: Path) -> None:
    document = JsonFile(tmp_path / "c.json", Counter)
    assert document.read() == Counter()
    assert document.update(lambda c: setattr(c, "value", 3)) is None
    assert document.read().value == 3


def test_a_change_that_raises_writes_nothing(tmp_path: Path) -> None:
    document = JsonFile(tmp_path / "c.json", Counter)
    document.update(lambda c: setattr(c, "value", 1))

    def fail(c: Counter) -> None:
        c.value = 2
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        document.update(fail)
    assert document.read().value == 1


def test_current_follows_writes_from_another_object(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    reader, writer = JsonFile(path, Counter), JsonFile(path, Counter)
    assert reader.current() == Counter()
    assert reader.changed() is None  # no file yet
    writer.update(lambda c: setattr(c, "value", 1))
    assert reader.changed() == Counter(1)
    assert reader.changed() is None
    assert reader.current().value == 1


def test_a_thread_never_sees_the_new_file_with_the_old_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.json"
    writer, shared = JsonFile(path, Counter), JsonFile(path, Counter)
    writer.update(lambda c: setattr(c, "value", 1))
    reading = threading.Event()
    slow_read = shared.read

    def read() -> Counter:
        # The first reader is held inside the read until the second one has asked too.
        reading.set()
        threading.Event().wait(0.2)
        return slow_read()

    monkeypatch.setattr(shared, "read", read)
    seen: list[int] = []
    first = threading.Thread(target=lambda: seen.append(shared.current().value))
    first.start()
    reading.wait()
    seen.append(shared.current().value)  # the file changed: this one must wait, not skip
    first.join()
    assert seen == [1, 1]
