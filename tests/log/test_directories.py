from pathlib import Path

from trackway.log.directories import claim_writer_dir, writer_dirs


def test_each_claim_gets_a_free_directory(tmp_path: Path) -> None:
    first, first_lock = claim_writer_dir(tmp_path / "log")
    second, second_lock = claim_writer_dir(tmp_path / "log")
    assert (first.name, second.name) == ("writer-0", "writer-1")

    first_lock.close()
    with second_lock:
        again, again_lock = claim_writer_dir(tmp_path / "log")
        assert again == first
        again_lock.close()


def test_writer_dirs_in_number_order(tmp_path: Path) -> None:
    for name in ("writer-10", "writer-2", "writer-x", "other"):
        (tmp_path / name).mkdir()
    (tmp_path / "writer-3").write_text("not a directory")
    assert [d.name for d in writer_dirs(tmp_path)] == ["writer-2", "writer-10"]
    assert writer_dirs(tmp_path / "missing") == []
