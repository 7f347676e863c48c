"""The dense against event-driven comparison script of the recipe (pyscripts/lab/spike_matmul_crossover.py)."""

import torch

from tests.helpers import recipe_module

crossover = recipe_module("pyscripts/lab/spike_matmul_crossover.py")


def test_event_driven_layer_equals_the_dense_one():
    spikes = (torch.rand(30, 16) < 0.2).float()
    weight, bias = torch.randn(8, 16), torch.randn(8)
    expected = torch.nn.functional.linear(spikes, weight, bias)
    assert torch.allclose(crossover.dense_linear(spikes, weight, bias), expected, atol=1e-5)
    assert torch.allclose(crossover.event_driven_linear(spikes, weight, bias), expected, atol=1e-5)


def test_highest_winning_rate():
    results = [
        dict(layer="a", rate=0.01, dense_ms=2.0, event_ms=1.0),
        dict(layer="a", rate=0.05, dense_ms=2.0, event_ms=1.5),
        dict(layer="a", rate=0.1, dense_ms=2.0, event_ms=3.0),
        dict(layer="b", rate=0.01, dense_ms=1.0, event_ms=2.0),
    ]
    assert crossover.highest_winning_rate(results, "a") == 0.05
    assert crossover.highest_winning_rate(results, "b") is None


def test_table_on_a_tiny_size(capsys):
    cmd = [
        "--rates",
        "0.1",
        "0.5",
        "--dim",
        "8",
        "--intermediate_dim",
        "12",
        "--frames",
        "5",
        "--repeats",
        "1",
    ]
    results = crossover.main(cmd)
    assert [(r["layer"], r["rate"]) for r in results] == [
        ("pwconv1", 0.1), ("pwconv1", 0.5), ("pwconv2", 0.1), ("pwconv2", 0.5)
    ]  # fmt: skip
    assert all(r["same"] for r in results)
    out = capsys.readouterr().out
    assert "20 rows (T=4 x 5 frames)" in out and out.count("| pwconv") == 4
