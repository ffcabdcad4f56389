# Benign: pytest tests that write and read files in tmp_path.
import json


def save(path, data):
    path.write_text(json.dumps(data))


def test_roundtrip(tmp_path):
    target = tmp_path / "data.json"
    save(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}


def test_listing(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
