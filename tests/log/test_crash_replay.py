"""Acknowledged batches survive any torn write that follows them, exactly once and in order."""

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from trackway.log.frame import encode_frame
from trackway.log.reader import replay
from trackway.log.segments import list_segments
from trackway.log.writer import LogWriter

batches = st.lists(st.lists(st.binary(max_size=64), min_size=1, max_size=5), max_size=6)


def replayed(root: Path) -> list[bytes]:
    return [entry.record_payload for _, entry in replay(root)]


@settings(max_examples=60, deadline=None)
@given(
    acknowledged=batches,
    unacknowledged=st.lists(st.binary(max_size=64), min_size=1, max_size=4),
    segment_bytes=st.integers(16, 200),
    data=st.data(),
)
def test_acknowledged_records_survive_a_torn_write(
    acknowledged: list[list[bytes]],
    unacknowledged: list[bytes],
    segment_bytes: int,
    data: st.DataObject,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        directory = root / "writer-0"
        writer = LogWriter(directory, segment_bytes)
        for batch in acknowledged:
            writer.write(b"".join(encode_frame(p) for p in batch))
            writer.sync()
        writer.close()
        # The crash: part of an unacknowledged batch reached the last segment.
        torn = b"".join(encode_frame(p) for p in unacknowledged)
        torn = torn[: data.draw(st.integers(0, len(torn) - 1), label="torn length")]
        with list_segments(directory)[-1].path.open("ab") as file:
            file.write(torn)

        recovered = LogWriter(directory, segment_bytes)
        recovered.write(encode_frame(b"after the crash"))
        recovered.sync()
        recovered.close()

        expected = [p for batch in acknowledged for p in batch]
        # A whole frame that made it before the tear may survive; it was never acknowledged.
        survivors = replayed(root)[len(expected) : -1]
        assert replayed(root)[: len(expected)] == expected
        assert survivors == unacknowledged[: len(survivors)]
        assert replayed(root)[-1] == b"after the crash"
