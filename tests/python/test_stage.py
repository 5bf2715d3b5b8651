from snowcart.stages.local import LocalStage


def test_write_is_atomic_and_named_by_batch(tmp_path):
    stage = LocalStage(tmp_path)
    staged = stage.write("orders", 12, ['{"a":1}', '{"a":2}'])
    assert staged.name == "orders/batch-0000000012.ndjson"
    assert staged.path.read_text() == '{"a":1}\n{"a":2}\n'
    assert [path.name for path in (tmp_path / "orders").iterdir()] == ["batch-0000000012.ndjson"]


def test_retried_batch_never_overwrites_the_staged_file(tmp_path):
    stage = LocalStage(tmp_path)
    stage.write("orders", 1, ['{"first":true}'])
    stage.write("orders", 1, ['{"retry":true}'])
    assert (tmp_path / "orders" / "batch-0000000001.ndjson").read_text() == '{"first":true}\n'


def test_files_skips_partial_writes_and_keeps_batch_order(tmp_path):
    stage = LocalStage(tmp_path)
    stage.write("orders", 2, ["{}"])
    stage.write("orders", 1, ["{}"])
    (tmp_path / "orders" / ".batch-0000000003.ndjson.tmp").write_text("{")
    assert [staged.name for staged in stage.files(["orders", "payments"])] == [
        "orders/batch-0000000001.ndjson",
        "orders/batch-0000000002.ndjson",
    ]
