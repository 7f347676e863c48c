"""The firing diagnosis of the recipe (pyscripts/lab/diagnose_firing.py) against the spikes and hooks by hand."""

import pytest
import torch

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.metrics.spikes import record_spikes
from tests.conftest import make_spiking_vocos_args
from tests.helpers import recipe_module

diagnose_firing = recipe_module("pyscripts/lab/diagnose_firing.py")


def test_diagnosis_of_each_block():
    generator = SpikingVocosGenerator(**make_spiking_vocos_args(init_firing_rate=0.1)).eval()
    mel = 2 * torch.randn(1, 16, 20)
    rows = diagnose_firing.diagnose(generator, [mel, mel])  # twice the same: the rates of once
    spikes = record_spikes(generator, mel)
    steps = generator.backbone.time_steps
    for row, block in zip(rows, generator.backbone.convnext):
        seen = {}
        hooks = [
            getattr(block, name).register_forward_hook(lambda m, x, y, name=name: seen.__setitem__(name, y))
            for name in ("pwconv1", "act")
        ]
        with torch.no_grad():
            generator(mel)
        for hook in hooks:
            hook.remove()
        level = block.lif2.v_threshold / (1 - (1 - torch.sigmoid(block.lif2.w).item()) ** steps)
        prefix = f"backbone.convnext.{row['block']}"
        assert row["lif1"] == pytest.approx(spikes[f"{prefix}.lif1"].mean().item())
        assert row["lif2"] == pytest.approx(spikes[f"{prefix}.lif2"].mean().item())
        assert row["pwconv1_std"] == pytest.approx(seen["pwconv1"].std(unbiased=False).item(), rel=1e-4)
        assert row["h_reaches"] == pytest.approx((seen["act"] >= level).double().mean().item())
    assert [row["block"] for row in rows] == [0, 1] and 0 < rows[0]["lif2"] < 1
