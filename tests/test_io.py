import gzip
import json

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
    import os

    old = os.umask(0o022)
    try:
        write_jsonl(tmp_path / "out.jsonl", [{"a": 1}])
    finally:
        os.umask(old)
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o644
