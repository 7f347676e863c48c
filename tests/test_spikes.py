"""Spike recording: spikingjelly's monitor on the spiking layers, one forward pass's spikes."""

import torch

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.metrics.spikes import record_spikes, spike_monitor
from tests.conftest import make_spiking_vocos_args, make_vocos_args

C, I, N, L = 16, 48, 2, 10  # conftest's tiny mels, hidden channels and blocks; frames


def spiking_student():
    return SpikingVocosGenerator(**make_spiking_vocos_args(v_threshold=0.02)).eval()


def test_spike_monitor_watches_every_neuron_layer_in_network_order():
    student = spiking_student()
    with torch.no_grad(), spike_monitor(student, lambda s: s.sum()) as spikes:
        student(2 * torch.randn(1, C, L))
        student(2 * torch.randn(1, C, L))
        assert spikes.monitored_layers == [f"backbone.convnext.{b}.lif{n}" for b in range(N) for n in (1, 2)]
        assert all(len(spikes[name]) == 2 and spikes[name][0].dim() == 0 for name in spikes.monitored_layers)
    assert not spikes.hooks  # leaving the context removes them
    with spike_monitor(VocosGenerator(**make_vocos_args())) as none:
        assert none.monitored_layers == []


def test_record_spikes_selects_layers():
    student = spiking_student()
    spikes = record_spikes(student, torch.randn(1, C, L), r"lif2$")
    assert list(spikes) == [f"backbone.convnext.{b}.lif2" for b in range(N)]
    assert all(s.shape == (student.backbone.time_steps, L, I) for s in spikes.values())
    assert all(((s == 0) | (s == 1)).all() for s in spikes.values())
