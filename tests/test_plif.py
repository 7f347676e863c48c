"""The fused ParametricLIF against spikingjelly 2.0.0's ParametricLIFNode, alone and in the student."""

import copy

import pytest
import torch
from spikingjelly.activation_based import functional, monitor, neuron, surrogate

from espnet2_spiking.gan_vocoder.plif import FusedParametricLIF, plif_inference
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from tests.conftest import make_spiking_vocos_args


def spikingjelly_node(tau: float = 2.0, v_threshold: float = 1.0, alpha: float = 4.0):
    """The reference: spikingjelly's node in the student's setting."""
    return neuron.ParametricLIFNode(
        init_tau=tau,
        decay_input=True,
        v_threshold=v_threshold,
        v_reset=0.0,
        surrogate_function=surrogate.Sigmoid(alpha=alpha),
        detach_reset=False,
        step_mode="m",
    )


def with_spikingjelly_nodes(student: SpikingVocosGenerator) -> SpikingVocosGenerator:
    """A copy of ``student`` whose neurons are spikingjelly's, with the same ``w``."""
    reference = copy.deepcopy(student)
    for block in reference.backbone.convnext:
        for name in ("lif1", "lif2"):
            fused = getattr(block, name)
            node = spikingjelly_node(v_threshold=fused.v_threshold, alpha=fused.surrogate_alpha)
            node.w = fused.w
            setattr(block, name, node)
    return reference


def assert_close_grads(a: torch.Tensor, b: torch.Tensor, name: str = ""):
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-5 * b.abs().max().item() + 1e-8), name


@pytest.mark.parametrize("tau, alpha", [(2.0, 4.0), (1.3, 2.0), (5.0, 8.0)])
@pytest.mark.parametrize("broadcast", [False, True], ids=["dense", "same_input_every_step"])
@pytest.mark.parametrize("steps", [5, 1])
def test_node_matches_spikingjelly(tau, alpha, broadcast, steps):
    reference, fused = spikingjelly_node(tau, alpha=alpha), FusedParametricLIF(tau, 1.0, alpha)
    assert torch.equal(reference.w, fused.w)
    x = tau * torch.randn(1 if broadcast else steps, 3, 20, 16)  # fires at any tau
    xs = [x.clone().requires_grad_() for _ in range(2)]
    inputs = [x.expand(steps, -1, -1, -1) for x in xs]
    spikes = [reference(inputs[0]), fused(inputs[1])]
    assert torch.equal(spikes[0], spikes[1])  # bit-identical
    assert 0.05 < spikes[1].mean() < 0.95 and set(spikes[1].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(reference.v, fused.v)  # the last potential, left in memory
    with torch.no_grad():  # the inference path, from rest and from the memory just left
        assert torch.equal(reference(inputs[0]), fused(inputs[1])) and torch.equal(reference.v, fused.v)
        for node in (reference, fused):
            functional.reset_net(node)
        assert torch.equal(reference(inputs[0]), fused(inputs[1])) and torch.equal(reference.v, fused.v)
    grad = torch.randn_like(spikes[0])
    for s in spikes:
        (s * grad).sum().backward()
    assert_close_grads(xs[1].grad, xs[0].grad, "input")
    assert_close_grads(fused.w.grad, reference.w.grad, "w")


def test_node_continues_from_its_memory_until_reset():
    reference, fused = spikingjelly_node(), FusedParametricLIF()
    x = 2 * torch.randn(3, 4, 10)
    with torch.no_grad():
        for node in (reference, fused):
            node(x)
        assert torch.equal(reference(x), fused(x)) and torch.equal(reference.v, fused.v)
        functional.reset_net(fused)
        assert fused.v == 0.0 and torch.equal(fused(x), plif_inference(x, fused.w, 1.0)[0])


def test_inference_path_keeps_no_autograd_state():
    node = FusedParametricLIF()
    x = 2 * torch.randn(4, 2, 8)
    with torch.no_grad():
        spikes = node(x)
    assert spikes.grad_fn is None and not spikes.requires_grad
    node.w.requires_grad_(False)
    functional.reset_net(node)
    assert node(x).grad_fn is None  # nothing to differentiate: the inference path, grad mode or not
    functional.reset_net(node)
    assert node(x.requires_grad_()).grad_fn is not None


def test_monitor_reset_and_checkpoint_keys_see_a_spikingjelly_node():
    student = SpikingVocosGenerator(**make_spiking_vocos_args())
    reference = with_spikingjelly_nodes(student)
    assert student.state_dict().keys() == reference.state_dict().keys()
    assert "backbone.convnext.1.lif2.w" in student.state_dict()
    student.load_state_dict(reference.state_dict())  # checkpoints of either load into the other
    with monitor.OutputMonitor(student, neuron.BaseNode) as spikes:
        with torch.no_grad():
            student(torch.randn(1, 16, 12))
        assert spikes.monitored_layers == [f"backbone.convnext.{b}.lif{n}" for b in (0, 1) for n in (1, 2)]
    lif = student.backbone.convnext[0].lif1
    assert isinstance(lif.v, torch.Tensor)
    functional.reset_net(student)
    assert lif.v == 0.0


@pytest.mark.parametrize("use_tsm", [False, True], ids=["no_tsm", "tsm"])
def test_student_matches_spikingjelly_nodes(use_tsm):
    """Same spikes, output and hidden states; gradients of every parameter (PLIF w and TSM
    alpha included) and of the mel within float tolerance."""
    student = SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=use_tsm, init_tau=1.5)).train()
    reference = with_spikingjelly_nodes(student)
    mel = 2 * torch.randn(2, 16, 24)
    mels = [mel.clone().requires_grad_() for _ in range(2)]
    outputs, fired = [], []
    for model, m in zip((reference, student), mels):
        with monitor.OutputMonitor(model, neuron.BaseNode) as spikes:
            feats, hiddens = model.hidden_states(m)
            wav = model.head(feats)
            wav.square().mean().backward()
            fired.append({name: spikes[name][0] for name in spikes.monitored_layers})
        outputs.append((wav, hiddens))
    assert fired[0].keys() == fired[1].keys() and len(fired[0]) == 4
    for name in fired[0]:
        assert torch.equal(fired[0][name], fired[1][name]), name
        assert fired[1][name].sum() > 0, f"{name} never fires: the comparison would be empty"
    assert torch.allclose(outputs[0][0], outputs[1][0], atol=1e-6)
    for h_ref, h in zip(outputs[0][1], outputs[1][1]):
        assert torch.allclose(h_ref, h, atol=1e-5)
    assert_close_grads(mels[1].grad, mels[0].grad, "mel")
    params = dict(reference.named_parameters())
    for name, p in student.named_parameters():
        assert p.grad is not None, name
        assert_close_grads(p.grad, params[name].grad, name)


def backbone_repeating_every_step(backbone, mel):
    """The backbone as first written: the embedded mel copied T times and every layer run on
    every copy, with ``gamma * (y * x_c)`` in that order; the reference for the computed-once path."""
    steps = backbone.time_steps
    functional.reset_net(backbone)
    u = backbone.embed(mel).unsqueeze(0).expand(steps, -1, -1, -1)
    hiddens = []
    for block in backbone.convnext:
        x = block.tsm(u) if block.tsm is not None else u
        x_c = block.norm(block.dwconv(x.flatten(0, 1)).transpose(1, 2))
        x_c = x_c.view(steps, u.size(1), u.size(3), u.size(2))
        y = block.pwconv2(block.lif2(block.act(block.pwconv1(block.lif1(x_c)))))
        u = u + (block.gamma * (y * x_c)).permute(0, 1, 3, 2)
        hiddens.append(u)
    x = (backbone.readout_decay ** torch.arange(steps - 1, -1, -1.0)).view(-1, 1, 1, 1) * u
    return backbone.final_layer_norm(x.sum(0).transpose(1, 2)), hiddens


@pytest.mark.parametrize("use_tsm", [False, True], ids=["no_tsm", "tsm"])
def test_backbone_computing_once_matches_repeating_every_step(use_tsm):
    student = SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=use_tsm)).train()
    reference = with_spikingjelly_nodes(student)
    mel = 2 * torch.randn(2, 16, 24)
    results = []
    for model, forward in ((reference.backbone, backbone_repeating_every_step), (student.backbone, None)):
        with monitor.OutputMonitor(model, neuron.BaseNode) as spikes:
            feats, hiddens = forward(model, mel) if forward else model(mel)
            feats.square().mean().backward()
            results.append((feats, hiddens, [spikes[name][0] for name in spikes.monitored_layers]))
    (feats_ref, hiddens_ref, spikes_ref), (feats, hiddens, spikes) = results
    assert torch.allclose(feats, feats_ref, atol=1e-5)
    assert all(
        h.shape == h_ref.shape and torch.allclose(h, h_ref, atol=1e-5)
        for h, h_ref in zip(hiddens, hiddens_ref)
    )
    for s, s_ref in zip(spikes, spikes_ref):
        assert torch.equal(s, s_ref) and set(s.unique().tolist()) == {0.0, 1.0}
    params = dict(reference.backbone.named_parameters())
    for name, p in student.backbone.named_parameters():
        assert_close_grads(p.grad, params[name].grad, name)
