"""Energy: the reference's published figure, and the run-time counter against hand counts."""

import json
import math

import pytest
import torch
from spikingjelly.activation_based import neuron

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.metrics.energy import (
    FREE_OPS,
    EnergyCount,
    Ops,
    count_energy,
    reference_energy,
)
from tests.conftest import make_spiking_vocos_args, make_vocos_args

C, D, I, N, K, N_FFT, HOP = 16, 32, 48, 2, 7, 64, 16  # the tiny configuration of conftest
L = 10  # frames


def test_reference_figure_is_reproduced_from_its_published_inputs():
    """Firing rate 0.176, T=4, 1000 frames, dim 512, 1536, 8 blocks, k=7: 8.5 mJ vs 58.0 mJ = 14.65 %."""
    ref = reference_energy(
        num_frames=1000,
        dim=512,
        intermediate_dim=1536,
        num_layers=8,
        kernel_size=7,
        time_steps=4,
        firing_rate=0.176,
    )
    assert round(ref["snn_mj"], 1) == 8.5
    assert round(ref["ann_mj"], 1) == 58.0
    assert round(100 * ref["ratio"], 2) == 14.65


def test_teacher_count_matches_a_hand_count():
    teacher = VocosGenerator(**make_vocos_args()).eval()
    count = count_energy(teacher, torch.randn(1, C, L))
    norm = Ops(3 * D * L, 2 * D * L)  # mean and centring as ACs, variance, scale and affine as MACs
    bins = N_FFT // 2 + 1
    log_n = int(math.log2(N_FFT))
    expected = {
        "backbone.embed": Ops(C * D * 7 * L),
        "backbone.norm": norm,
        "backbone.final_layer_norm": norm,
        "head.out": Ops(D * (N_FFT + 2) * L),
        "head": Ops(5 * bins * L, bins * L),  # exp, polar (cos, sin, 2 products); clip
        # inverse FFT, window, squared window, division by the envelope; two overlap-adds
        "head.istft": Ops(
            N_FFT * log_n * L + N_FFT * L + N_FFT + HOP * L, N_FFT * log_n * L // 2 + 2 * N_FFT * L
        ),
    }
    for b in range(N):
        expected.update(
            {
                f"backbone.convnext.{b}.dwconv": Ops(D * K * L),
                f"backbone.convnext.{b}.norm": norm,
                f"backbone.convnext.{b}.pwconv1": Ops(D * I * L),
                f"backbone.convnext.{b}.act": Ops(4 * I * L, I * L),
                f"backbone.convnext.{b}.pwconv2": Ops(I * D * L),
                f"backbone.convnext.{b}": Ops(D * L, D * L),  # layer scale, residual
            }
        )
    assert {name: ops for name, ops in count.layers.items() if name} == expected
    assert count.reference == Ops(N * L * (D * K + 2 * D * I))
    closed_form = reference_energy(num_frames=1000, dim=D, intermediate_dim=I, num_layers=N, kernel_size=K)
    assert count.energy_mj(count.reference) == pytest.approx(closed_form["ann_mj"])
    assert count.spikes == {} and math.isnan(count.global_firing_rate)
    assert count.summary()["global_firing_rate"] is None  # valid JSON


def spiking_student(**kwargs):
    student = SpikingVocosGenerator(**make_spiking_vocos_args(v_threshold=0.02, **kwargs)).eval()
    return student


def test_student_count_matches_spikes_counted_by_hand():
    student = spiking_student()
    steps = student.backbone.time_steps
    mel = 2 * torch.randn(1, C, L)
    fired = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, name=name: fired.__setitem__(name, o.detach().clone()))
        for name, m in student.named_modules()
        if isinstance(m, neuron.BaseNode)
    ]
    count = count_energy(student, mel)
    for h in hooks:
        h.remove()
    synops = 0
    for b in range(N):
        prefix = f"backbone.convnext.{b}"
        s1, s2 = fired[f"{prefix}.lif1"], fired[f"{prefix}.lif2"]
        assert s1.sum() > 0 and s2.sum() > 0, "the hand count needs both layers to fire"
        # T times the teacher's, once in block 0, whose input is the same at every step
        assert count.layers[f"{prefix}.dwconv"] == Ops((steps if b else 1) * D * K * L)
        assert count.layers[f"{prefix}.pwconv1"] == Ops(0, int(s1.sum()) * I, int(s1.sum()) * I)
        assert count.layers[f"{prefix}.pwconv2"] == Ops(0, int(s2.sum()) * D, int(s2.sum()) * D)
        assert count.firing_rates[f"{prefix}.lif1"] == pytest.approx(s1.mean().item())
        assert count.firing_rates[f"{prefix}.lif2"] == pytest.approx(s2.mean().item())
        synops += int(s1.sum()) * I + int(s2.sum()) * D
    dw = ((N - 1) * steps + 1) * D * K * L
    assert count.reference == Ops(dw, synops, synops)
    assert count.reference.energy_pj == pytest.approx(4.6 * dw + 0.9 * synops)
    # the complete count has everything the reference has, and more
    assert count.complete.mac > count.reference.mac and count.complete.ac > count.reference.ac
    assert count.complete.synop == synops


def test_counts_add_over_utterances():
    student = spiking_student()
    a, b = count_energy(student, torch.randn(1, C, L)), count_energy(student, torch.randn(1, C, 2 * L))
    total = a + b
    assert total.frames == 3 * L
    assert total.complete == a.complete + b.complete
    spikes, steps = (sum(v[i] for v in total.spikes.values()) for i in (0, 1))
    assert total.global_firing_rate == pytest.approx(spikes / steps)
    assert sum((a, b), EnergyCount()).complete == total.complete
    json.dumps(total.summary())  # plain data


@pytest.mark.parametrize(
    "generator",
    [VocosGenerator(**make_vocos_args()), spiking_student(use_tsm=True)],
    ids=["vocos", "spiking_vocos_tsm"],
)
def test_every_arithmetic_op_has_a_rule(generator):
    count = count_energy(generator.eval(), torch.randn(1, C, L))
    assert set(count.not_counted) <= FREE_OPS
    parts = count.components()
    assert sum(p["complete"] for p in parts.values()) == pytest.approx(count.energy_mj(count.complete))
    assert sum(p["reference"] for p in parts.values()) == pytest.approx(count.energy_mj(count.reference))
