import gzip
import json
import os

import pytest

from codecurate.errors import UserError
from codecurate.io import JsonlAppender, atomic_write, iter_records, read_records, write_jsonl


def test_roundtrip_jsonl_gz_and_parquet(tmp_path):
    rows = [{"code": "def f(): pass", "language": "python"}, {"code": "x", "language": "go"}]
    write_jsonl(tmp_path / "a.jsonl", rows)
    with gzip.open(tmp_path / "a.jsonl.gz", "wt") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    for name in ("a.jsonl", "a.jsonl.gz", "a.parquet"):
        assert read_records(tmp_path / name, required=["code"]) == rows


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{"code": "a", "language": "python"}\n{"code": \n', r"bad\.jsonl:2: invalid JSON"),
        (b'{"code": "a", "language": "python"}\n{"language": "go"}\n', r"bad\.jsonl:2: field 'code': missing"),
        (b'{"code": "a", "language": "python"}\n{"code": "\xff\xfe"}\n', r"bad\.jsonl:2: not valid UTF-8"),
        (b"[1, 2]\n", r"bad\.jsonl:1: expected a JSON object"),
        (b"\n\n", r"bad\.jsonl: empty input"),
    ],
)
def test_bad_input_names_file_line_and_field(tmp_path, content, expected):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError, match=expected):
        read_records(path, required=["code"])


def test_missing_and_unsupported_paths(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        list(iter_records(tmp_path / "nope.jsonl"))
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(UserError, match="unsupported file type"):
        list(iter_records(tmp_path / "x.csv"))


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_appender_drops_torn_last_line_and_keeps_whole_records(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"k": 1}\n{"k": 2}\n{"k": 3, "tor')
    with JsonlAppender(path) as out:
        assert [r["k"] for r in out.existing] == [1, 2]
        out.write({"k": 3})
    assert [json.loads(line)["k"] for line in path.read_text().splitlines()] == [1, 2, 3]


def test_atomic_write_respects_umask(tmp_path):

    old = os.umask(0o022)
    try:
        write_jsonl(tmp_path / "out.jsonl", [{"a": 1}])
    finally:
        os.umask(old)
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o644


def test_appender_drops_damaged_middle_lines_and_keeps_the_rest(tmp_path, caplog):
    # A disk or copy fault in the middle of a resumable file: garbage, a zeroed block run into the next record.
    path = tmp_path / "out.jsonl"
    good = [{"k": i} for i in range(8)]
    lines = [json.dumps(r).encode() + b"\n" for r in good]
    lines[2] = b'{"k": 2, "tr\x00\x00\x00\n'
    lines[5] = b"\x00" * 40 + lines[5]
    path.write_bytes(b"".join(lines))
    with caplog.at_level("WARNING"), JsonlAppender(path) as out:
        assert [r["k"] for r in out.existing] == [0, 1, 3, 4, 6, 7]
        out.write({"k": 2})
    assert [m for m in caplog.messages if "damaged line" in m] == [
        f"{path}: dropped 2 damaged line(s) (line 3, 6); their work is done again"
    ]
    assert [json.loads(line)["k"] for line in path.read_text().splitlines()] == [0, 1, 3, 4, 6, 7, 2]


def test_appender_refuses_to_repair_a_file_that_is_not_its_own(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text("first note\nsecond note\nthird note\n")
    with pytest.raises(UserError, match=r"notes\.jsonl:1: 3 of 3 lines are not JSON records.*move the file away"):
        JsonlAppender(path)
    assert path.read_text() == "first note\nsecond note\nthird note\n"


def test_second_appender_in_another_process_is_refused_naming_the_holder(tmp_path):
    import socket
    import subprocess
    import sys

    path = tmp_path / "out.jsonl"
    code = (
        "import sys\nfrom codecurate.io import JsonlAppender\n"
        "try:\n    JsonlAppender(sys.argv[1])\nexcept Exception as e:\n    print(e)\n"
    )
    with JsonlAppender(path) as out:
        out.write({"k": 1})
        got = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
        assert f"in use by pid {os.getpid()} on {socket.gethostname()} since " in got.stdout
        with JsonlAppender(path) as again:  # the same process may reopen it (re-entrant)
            assert again.existing == [{"k": 1}]
    assert not (tmp_path / "out.jsonl.lock").exists()  # released and removed
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"k": 1}]


def test_ensure_free_space_says_how_much_is_needed(tmp_path):
    from codecurate.io import DiskError, ensure_free_space

    ensure_free_space(tmp_path / "not" / "yet", 1, "a byte")  # a missing folder is probed at its nearest parent
    with pytest.raises(DiskError, match=r"big\.npy: the matrix needs 1000\.0 TB but only .* is free there"):
        ensure_free_space(tmp_path / "big.npy", 10**15, "the matrix")
