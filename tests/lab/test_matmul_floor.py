"""The dense-floor profile of the recipe (pyscripts/lab/matmul_floor.py)."""

import pytest
import torch

from tests.helpers import recipe_module

matmul_floor = recipe_module("pyscripts/lab/matmul_floor.py")


def test_matmul_seconds_count_only_matrix_products():
    a = torch.randn(256, 256)
    total, mm = matmul_floor.matmul_seconds(lambda: a @ a, calls=3)
    assert 0 < mm <= total
    total, mm = matmul_floor.matmul_seconds(lambda: (a * 2).exp(), calls=3)
    assert total > 0 and mm == 0


def test_floor_table_on_a_tiny_size(capsys):
    cmd = ["--time_steps", "2", "--dim", "16", "--intermediate_dim", "24", "--num_layers", "2"]
    cmd += ["--frames", "20", "--segments", "2", "--segment_frames", "8", "--calls", "1"]
    rows, floor = matmul_floor.main(cmd)
    assert [(name, work) for name, work, _, _ in rows] == [
        ("teacher", "decoding"), ("teacher", "training step"),
        ("student T=2", "decoding"), ("student T=2", "training step"),
    ]  # fmt: skip
    assert all(0 < mm <= s for _, _, s, mm in rows)
    by = {(name, work): mm for name, work, _, mm in rows}
    whole = {work: s for name, work, s, _ in rows if name == "teacher"}
    assert floor["training step"] == pytest.approx(
        by["student T=2", "training step"] / whole["training step"]
    )
    out = capsys.readouterr().out
    assert out.count("| student T=2 |") == 2 and "matrix products alone take" in out
