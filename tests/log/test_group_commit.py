import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from trackway.log.group_commit import Flush, GroupCommit


def test_first_submission_flushes_alone() -> None:
    commit = GroupCommit()
    assert commit.submit(b"a") == 0

    flush = commit.start_flush()

    assert flush == Flush(b"a", range(0, 1))
    assert commit.finish_flush(flush) == range(0, 1)
    assert commit.idle


def test_submissions_during_a_flush_share_the_next_one() -> None:
    commit = GroupCommit()
    commit.submit(b"a")
    first = commit.start_flush()
    assert first is not None
    tickets = [commit.submit(b"b"), commit.submit(b"cc"), commit.submit(b"d")]

    assert commit.start_flush() is None  # one flush in flight at a time
    commit.finish_flush(first)
    second = commit.start_flush()

    assert tickets == [1, 2, 3]
    assert second == Flush(b"bccd", range(1, 4))


def test_nothing_pending_means_no_flush() -> None:
    assert GroupCommit().start_flush() is None


def test_max_batch_bytes_splits_batches_but_never_stalls_a_big_frame() -> None:
    commit = GroupCommit(max_batch_bytes=4)
    for frame in (b"12", b"34", b"5", b"big frame", b"6"):
        commit.submit(frame)
    batches = []
    while (flush := commit.start_flush()) is not None:
        batches.append(flush.data)
        commit.finish_flush(flush)
    assert batches == [b"1234", b"5", b"big frame", b"6"]


def test_a_failed_flush_fails_its_tickets_and_the_next_one_proceeds() -> None:
    commit = GroupCommit()
    commit.submit(b"a")
    failing = commit.start_flush()
    assert failing is not None
    commit.submit(b"b")

    assert commit.fail_flush(failing) == range(0, 1)
    retry = commit.start_flush()
    assert retry == Flush(b"b", range(1, 2))


def test_finishing_a_flush_that_is_not_in_flight_is_an_error() -> None:
    commit = GroupCommit()
    commit.submit(b"a")
    flush = commit.start_flush()
    assert flush is not None
    commit.finish_flush(flush)
    with pytest.raises(ValueError, match="in flight"):
        commit.finish_flush(flush)


class GroupCommitMachine(RuleBasedStateMachine):
    """Any interleaving of submit, start, finish and fail settles every ticket exactly once,
    in submission order, with at most one flush in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.commit = GroupCommit(max_batch_bytes=16)
        self.submitted: list[bytes] = []
        self.settled: list[int] = []
        self.flush: Flush | None = None

    @rule(frame=st.binary(min_size=1, max_size=12))
    def submit(self, frame: bytes) -> None:
        assert self.commit.submit(frame) == len(self.submitted)
        self.submitted.append(frame)

    @rule()
    def start(self) -> None:
        flush = self.commit.start_flush()
        if self.flush is not None or len(self.settled) == len(self.submitted):
            assert flush is None
            return
        assert flush is not None
        assert flush.tickets.start == len(self.settled)
        assert flush.data == b"".join(self.submitted[t] for t in flush.tickets)
        self.flush = flush

    @precondition(lambda self: self.flush is not None)
    @rule(succeeds=st.booleans())
    def settle(self, succeeds: bool) -> None:
        assert self.flush is not None
        end = self.commit.finish_flush if succeeds else self.commit.fail_flush
        self.settled.extend(end(self.flush))
        self.flush = None

    @invariant()
    def settled_in_order_exactly_once(self) -> None:
        assert self.settled == list(range(len(self.settled)))
        assert self.commit.in_flight is self.flush

    def teardown(self) -> None:
        # Drain: whatever was submitted still settles.
        if self.flush is not None:
            self.settled.extend(self.commit.finish_flush(self.flush))
        while (flush := self.commit.start_flush()) is not None:
            self.settled.extend(self.commit.finish_flush(flush))
        assert self.settled == list(range(len(self.submitted)))


TestGroupCommitMachine = GroupCommitMachine.TestCase
