"""Size-capped, rotated log files; reading and following them (no root)."""

import os
import threading
import time
from pathlib import Path

import pytest

from nsnet.run import logfiles


def sizes(path, files):
    return [os.path.getsize(p) if os.path.exists(p) else None for p in logfiles.rotated_paths(path, files)]


def test_rotation_keeps_max_files_of_at_most_max_size(tmp_path):
    path = str(tmp_path / "stdout.log")
    log = logfiles.RotatingLog(path, max_size=100, max_files=3)
    written = b"".join(f"line {i:04d}\n".encode() for i in range(100))  # 1000 bytes, 10 per line
    for i in range(0, len(written), 37):
        log.write(written[i:i + 37])
    log.close()
    assert all(s is not None and s <= 100 for s in sizes(path, 3))
    assert not os.path.exists(path + ".3")
    kept = b"".join(logfiles.read_all(path, 3))
    assert written.endswith(kept) and len(kept) >= 200  # the newest output, contiguous
    for p in logfiles.rotated_paths(path, 3)[:-1]:
        assert Path(p).read_bytes().endswith(b"\n")  # cut after whole lines


def test_a_line_longer_than_the_cap_is_split(tmp_path):
    path = str(tmp_path / "x.log")
    log = logfiles.RotatingLog(path, max_size=10, max_files=2)
    log.write(b"a" * 25)
    log.close()
    assert sizes(path, 2) == [10, 5]


def test_one_file_means_truncate(tmp_path):
    path = str(tmp_path / "x.log")
    log = logfiles.RotatingLog(path, max_size=10, max_files=1)
    log.write(b"123456789\n")
    log.write(b"abc\n")
    log.close()
    assert Path(path).read_bytes() == b"abc\n" and not os.path.exists(path + ".1")


def test_reopening_appends_and_counts_the_existing_size(tmp_path):
    path = str(tmp_path / "x.log")
    logfiles.RotatingLog(path, 10, 2).write(b"12345678\n")
    log = logfiles.RotatingLog(path, 10, 2)
    assert log.size == 9
    log.write(b"ab\n")
    log.close()
    assert sizes(path, 2) == [9, 3]


def test_bad_limits():
    with pytest.raises(ValueError):
        logfiles.RotatingLog("/nonexistent/x", 0, 1)


def test_read_all_without_the_current_file(tmp_path):
    path = str(tmp_path / "x.log")
    log = logfiles.RotatingLog(path, 4, 3)
    log.write(b"aaa\nbbb\nccc\n")
    log.close()
    assert b"".join(logfiles.read_all(path, 3)) == b"aaa\nbbb\nccc\n"
    assert b"".join(logfiles.read_all(path, 3, current=False)) == b"aaa\nbbb\n"


def test_follow_sees_new_output_across_rotations(tmp_path):
    path = str(tmp_path / "stdout.log")
    log = logfiles.RotatingLog(path, max_size=150, max_files=3)  # ~2 rotations, ~0.1 s apart
    log.write(b"before\n")
    done = threading.Event()
    expected = b"".join(f"n{i:03d}\n".encode() for i in range(60))

    def writer():
        for i in range(0, len(expected), 15):
            log.write(expected[i:i + 15])
            time.sleep(0.01)
        time.sleep(0.2)
        done.set()

    t = threading.Thread(target=writer)
    got = []
    tail = logfiles.follow({"stdout": path}, lambda: not done.is_set(), interval=0.005, max_seconds=10,
                           from_start=True)
    t.start()
    try:
        for stream, data in tail:
            assert stream == "stdout"
            got.append(data)
    finally:
        t.join(10)
        log.close()
    assert b"".join(got) == b"before\n" + expected  # nothing lost or repeated across rotations


def test_follow_picks_up_a_file_that_appears_and_stops_in_time(tmp_path):
    path = str(tmp_path / "late.log")
    t0 = time.monotonic()
    assert list(logfiles.follow({"stderr": path}, lambda: True, interval=0.01, max_seconds=0.3)) == []
    assert time.monotonic() - t0 < 2
    timer = threading.Timer(0.1, lambda: Path(path).write_bytes(b"hello\n"))
    timer.start()
    try:
        chunks = logfiles.follow({"stderr": path}, lambda: True, interval=0.01, max_seconds=5)
        assert next(chunks) == ("stderr", b"hello\n")
    finally:
        timer.join(5)
