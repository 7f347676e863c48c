"""Pictures are written as readable PNGs."""

import numpy as np
import pytest

from espnet2_spiking.metrics import plots
from tests.helpers import check_png


def test_spike_raster(tmp_path):
    rng = np.random.default_rng(0)
    spikes = {
        f"backbone.convnext.{b}.lif1": (rng.random((4, 30, 40)) < 0.1).astype(np.float32) for b in range(3)
    }
    spikes["backbone.convnext.3.lif1"] = np.zeros((4, 30, 40), np.float32)  # a silent layer
    check_png(plots.plot_spike_raster(spikes, tmp_path / "raster.png", max_channels=16))


def test_firing_rates(tmp_path):
    rates = {f"backbone.convnext.{b}.lif{i}": 0.1 * (b + i) for b in range(4) for i in (1, 2)}
    check_png(plots.plot_firing_rates(rates, tmp_path / "rates.png"))


def test_energy(tmp_path):
    systems = {
        "teacher": {
            "pointwise layers": dict(reference=50.0, complete=50.0),
            "embed": dict(reference=0.0, complete=2.0),
        },
        "student": {
            "pointwise layers": dict(reference=5.0, complete=5.0),
            "spiking neurons": dict(reference=0.0, complete=1.0),
        },
    }
    check_png(plots.plot_energy(systems, tmp_path / "sub" / "energy.png"))


def test_mels(tmp_path):
    rng = np.random.default_rng(0)
    mels = {"reference": rng.standard_normal((16, 50)), "output": rng.standard_normal((16, 50))}
    check_png(plots.plot_mels(mels, tmp_path / "mel.png", fs=8000, hop_length=16))


@pytest.mark.parametrize("name, short", [("backbone.convnext.3.lif1", "3.lif1"), ("head", "head")])
def test_short_name(name, short):
    assert plots.short_name(name) == short
