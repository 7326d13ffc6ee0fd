"""The embedded durable write-ahead log: framed records in segment files, appended with
group commit, read back by offset. See docs/log.md for the format and the durability argument."""

from trackway.log.appender import DurableAppender
from trackway.log.directories import WriterLock, claim_writer_dir, writer_dirs
from trackway.log.errors import LogClosedError, LogCorruptionError, LogError, LogWriteError
from trackway.log.frame import MAX_PAYLOAD_BYTES, ScanResult, Tail, encode_frame, scan_frames
from trackway.log.group_commit import Flush, GroupCommit
from trackway.log.reader import Entry, LogReader, read_entries, replay
from trackway.log.record import RECORD_KINDS, LogRecord, decode_record, encode_record
from trackway.log.writer import DEFAULT_SEGMENT_BYTES, LogWriter

__all__ = [
    "DEFAULT_SEGMENT_BYTES",
    "MAX_PAYLOAD_BYTES",
    "RECORD_KINDS",
    "DurableAppender",
    "Entry",
    "Flush",
    "GroupCommit",
    "LogClosedError",
    "LogCorruptionError",
    "LogError",
    "LogReader",
    "LogRecord",
    "LogWriteError",
    "LogWriter",
    "ScanResult",
    "Tail",
    "WriterLock",
    "claim_writer_dir",
    "decode_record",
    "encode_frame",
    "encode_record",
    "read_entries",
    "replay",
    "scan_frames",
    "writer_dirs",
]
