"""Energy of a vocoder's forward pass, counted while it runs.

Operations are counted by spikingjelly's op counter (``DispatchCounterMode`` with
``MACCounter``, ``ACCounter`` and ``SynOpCounter``), per module, on every aten operation
the forward pass dispatches; spikes are recorded by :func:`espnet2_spiking.metrics.spikes.spike_monitor`
(spikingjelly's ``monitor.OutputMonitor``). Energy: 4.6 pJ per MAC and 0.9 pJ per AC (45 nm,
32-bit float; Horowitz 2014). A spike into a weight layer costs one AC per synapse it reaches (a SynOp).

Two conventions, side by side:

- ``reference``: the Spiking Vocos paper's count. ConvNeXt blocks only: the depthwise
  convolution as MACs (T times in the student) and the two pointwise layers as MACs in
  the teacher, SynOps in the student. :func:`reference_energy` is its closed form. The
  run-time count counts what runs: the student's first block gets the same input at every
  step without TSM, so its depthwise convolution runs once, not T times (a 1/(T x layers)
  share of the depthwise MACs less than the closed form).
- ``complete``: every arithmetic operation of the forward pass, also the embed,
  LayerNorms, GELU, neuron updates, amplitude multiply, layer scale, residual adds,
  read-out, head projection and ISTFT. Element-wise products, quotients and powers count
  one MAC, sums, differences and comparisons one AC per element; LayerNorm 3 MACs + 2
  ACs, GELU 4 MACs + 1 AC (its erf as one MAC), ``polar`` 4 MACs (cos and sin as one MAC
  each) and ``exp``/``sigmoid`` one MAC per element, which is a lower bound for these
  functions; a real inverse FFT of size N costs N log2 N MACs + N/2 log2 N ACs and the
  overlap-add one AC per sample it adds. Copies, views and casts cost nothing and are
  listed in ``not_counted``.
"""

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Dict, Tuple

import torch
from spikingjelly.activation_based.op_counter import ACCounter, DispatchCounterMode, MACCounter, SynOpCounter

from espnet2_spiking.metrics.spikes import spike_monitor

E_MAC_PJ = 4.6
E_AC_PJ = 0.9
REFERENCE_LAYER = re.compile(r"(^|\.)convnext\.\d+\.(dwconv|pwconv1|pwconv2)$")

aten = torch.ops.aten


@dataclass
class Ops:
    """Operation counts: MACs, ACs and the SynOps among the ACs."""

    mac: int = 0
    ac: int = 0
    synop: int = 0

    def __add__(self, other: "Ops") -> "Ops":
        return Ops(self.mac + other.mac, self.ac + other.ac, self.synop + other.synop)

    def __sub__(self, other: "Ops") -> "Ops":
        return Ops(self.mac - other.mac, self.ac - other.ac, self.synop - other.synop)

    def __bool__(self) -> bool:
        return bool(self.mac or self.ac or self.synop)

    @property
    def energy_pj(self) -> float:
        return E_MAC_PJ * self.mac + E_AC_PJ * self.ac


FREE_OPS = {
    f"aten.{op}"
    for op in """view.default _unsafe_view.default transpose.int t.default permute.default unsqueeze.default
    squeeze.dim expand.default select.int slice.Tensor split.Tensor unbind.int stack.default cat.default
    clone.default copy_.default _to_copy.default detach.default alias.default as_strided.default
    full_like.default zeros_like.default ones_like.default empty_like.default zeros.default
    arange.start_step arange.default lift_fresh.default _local_scalar_dense.default""".split()
}  # data movement, allocation, casts: no arithmetic, so not counted


def _reference_ops(ops: Ops) -> Ops:
    """The reference convention's view of a layer: its MACs and SynOps, no other ACs."""
    return Ops(mac=ops.mac, ac=ops.synop, synop=ops.synop)


def reference_energy(
    num_frames: int = 1000,
    dim: int = 512,
    intermediate_dim: int = 1536,
    num_layers: int = 8,
    kernel_size: int = 7,
    time_steps: int = 4,
    firing_rate: float = 0.176,
) -> Dict[str, float]:
    """The reference's closed-form count over the ConvNeXt blocks, with one global firing rate.

    ANN: every dwconv and pointwise product is a MAC. SNN: the dwconv runs T times as
    MACs; the pointwise layers cost ``firing_rate * T * FLOPs`` SynOps.

    Returns:
        ``ann_mj``, ``snn_mj``, their ``ratio``, and ``num_frames``, ``time_steps``, ``firing_rate``.
    """
    dw = num_frames * num_layers * dim * kernel_size
    pw = num_frames * num_layers * 2 * dim * intermediate_dim
    ann = E_MAC_PJ * (dw + pw)
    snn = E_MAC_PJ * dw * time_steps + E_AC_PJ * firing_rate * time_steps * pw
    return dict(
        ann_mj=ann * 1e-9,
        snn_mj=snn * 1e-9,
        ratio=snn / ann,
        num_frames=num_frames,
        time_steps=time_steps,
        firing_rate=firing_rate,
    )


def _per_element(k: float, of_input: bool = False):
    def rule(args, kwargs, out):
        x = args[0] if of_input else (out[0] if isinstance(out, (tuple, list)) else out)
        return int(k * x.numel())

    return rule


def _irfft(share: float):
    """``_fft_c2r(x, dim, norm, N)``: ``share * N log2 N`` per transform of size N."""

    def rule(args, kwargs, out):
        n = args[3]
        return int(share * out.numel() * math.log2(n))

    return rule


_COMPARISONS = [
    aten.abs.default,
    aten.eq.Scalar,
    aten.eq.Tensor,
    aten.ne.Scalar,
    aten.ne.Tensor,
    aten.ge.Scalar,
    aten.ge.Scalar_out,
    aten.ge.Tensor,
    aten.gt.Scalar,
    aten.gt.Tensor,
    aten.le.Scalar,
    aten.le.Tensor,
    aten.lt.Scalar,
    aten.lt.Tensor,
    aten.clamp.default,
    aten.clamp_min.default,
    aten.clamp_max.default,
]
MAC_RULES = {
    aten.mul.Tensor: _per_element(1),
    aten.mul_.Tensor: _per_element(1),
    aten.mul.Scalar: _per_element(1),
    aten.addcmul.default: _per_element(1),  # a + b * c: one multiply-accumulate
    aten.addcmul_.default: _per_element(1),
    aten.div.Tensor: _per_element(1),
    aten.div.Scalar: _per_element(1),
    aten.pow.Tensor_Scalar: _per_element(1),
    aten.pow.Scalar: _per_element(1),
    aten.exp.default: _per_element(1),
    aten.sigmoid.default: _per_element(1),
    aten.gelu.default: _per_element(4),
    aten.polar.default: _per_element(4),
    aten.native_layer_norm.default: _per_element(3, of_input=True),
    aten._fft_c2r.default: _irfft(1.0),
}
AC_RULES = {
    **{op: _per_element(1) for op in _COMPARISONS},
    aten.all.default: _per_element(1, of_input=True),
    aten.gelu.default: _per_element(1),
    aten.native_layer_norm.default: _per_element(2, of_input=True),
    aten._fft_c2r.default: _irfft(0.5),
    aten.col2im.default: _per_element(1, of_input=True),
}


@dataclass
class EnergyCount:
    """Counted operations of one or more forward passes.

    Attributes:
        frames: Mel frames processed.
        layers: Operations of each module itself (without its submodules), by qualified
            module name; ``""`` is the generator's own code.
        spikes: For each spiking layer, (spikes emitted, neuron time steps).
        not_counted: Aten operations without a counting rule (copies, views, casts), by call count.
    """

    frames: int = 0
    layers: Dict[str, Ops] = field(default_factory=dict)
    spikes: Dict[str, Tuple[int, int]] = field(default_factory=dict)
    not_counted: Dict[str, int] = field(default_factory=dict)

    def __add__(self, other: "EnergyCount") -> "EnergyCount":
        def merge(a, b, add):
            return {k: add(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}

        return EnergyCount(
            self.frames + other.frames,
            merge(self.layers, other.layers, lambda x, y: x + y),
            merge(self.spikes, other.spikes, lambda x, y: (x[0] + y[0], x[1] + y[1])),
            merge(self.not_counted, other.not_counted, lambda x, y: x + y),
        )

    @property
    def complete(self) -> Ops:
        return sum(self.layers.values(), Ops())

    @property
    def reference(self) -> Ops:
        """Reference convention: dwconv and pointwise MACs, pointwise SynOps; nothing else."""
        return sum((_reference_ops(o) for n, o in self.layers.items() if REFERENCE_LAYER.search(n)), Ops())

    def components(self, per_frames: int = 1000) -> Dict[str, Dict[str, float]]:
        """Energy of each part of the vocoder (:func:`component`), in mJ per ``per_frames``
        frames, in both conventions: ``{part: {"reference": mJ, "complete": mJ}}``."""
        parts = {}
        for name, ops in self.layers.items():
            part = parts.setdefault(component(name), dict(reference=0.0, complete=0.0))
            part["complete"] += self.energy_mj(ops, per_frames)
            if REFERENCE_LAYER.search(name):
                part["reference"] += self.energy_mj(_reference_ops(ops), per_frames)
        return parts

    @property
    def firing_rates(self) -> Dict[str, float]:
        return {name: s / n for name, (s, n) in self.spikes.items()}

    @property
    def global_firing_rate(self) -> float:
        """Spikes over neuron time steps of all spiking layers together (NaN for an ANN)."""
        spikes, steps = (sum(v) for v in zip(*self.spikes.values())) if self.spikes else (0, 0)
        return spikes / steps if steps else float("nan")

    def energy_mj(self, ops: Ops, per_frames: int = 1000) -> float:
        """Energy of ``ops`` in mJ, scaled to ``per_frames`` mel frames."""
        return ops.energy_pj * 1e-9 * per_frames / self.frames

    def summary(self, per_frames: int = 1000) -> dict:
        """Everything as plain data (for JSON), energies in mJ per ``per_frames`` frames."""
        return dict(
            frames=self.frames,
            per_frames=per_frames,
            energy_mj=dict(
                reference=self.energy_mj(self.reference, per_frames),
                complete=self.energy_mj(self.complete, per_frames),
            ),
            ops=dict(reference=vars(self.reference), complete=vars(self.complete)),
            components=self.components(per_frames),
            layers={
                n: dict(vars(o), energy_mj=self.energy_mj(o, per_frames)) for n, o in self.layers.items()
            },
            firing_rates=self.firing_rates,
            global_firing_rate=self.global_firing_rate if self.spikes else None,
            not_counted=self.not_counted,
        )


def _own_ops(root: torch.nn.Module, totals: Dict[str, Ops]) -> Dict[str, Ops]:
    """Subtract each module's submodules from its inclusive count; drop modules with no ops."""
    own = {}

    def visit(name: str, module: torch.nn.Module) -> Ops:
        children = sum(
            (visit(f"{name}.{c}" if name else c, child) for c, child in module.named_children()), Ops()
        )
        total = totals.get(name, children)  # a container never called (ModuleList) holds its children
        if total - children:
            own[name] = total - children
        return total

    visit("", root)
    return own


def count_energy(generator: torch.nn.Module, mel: torch.Tensor) -> EnergyCount:
    """Run ``generator(mel)`` once and count its operations and spikes.

    Args:
        generator: A mel vocoder (its ``forward`` is what is counted), in eval mode.
        mel: Log-mel (1, C, L); one utterance, so that padding does not count.

    Returns:
        The counts of this forward pass.
    """
    counters = dict(
        mac=MACCounter(extra_rules=MAC_RULES), ac=ACCounter(extra_rules=AC_RULES), synop=SynOpCounter()
    )
    with torch.no_grad(), spike_monitor(generator) as spikes:
        with DispatchCounterMode(list(counters.values())) as mode:
            generator(mel)
        spike_counts = {
            name: (int(sum(s.sum().item() for s in spikes[name])), sum(s.numel() for s in spikes[name]))
            for name in spikes.monitored_layers
        }
    root = type(generator).__name__
    counts = {key: c.get_counts() for key, c in counters.items()}
    totals = {}
    for scope in counts["mac"].keys() | counts["ac"].keys() | counts["synop"].keys():
        if scope == root or scope.startswith(root + "."):
            totals[scope[len(root) + 1 :]] = Ops(
                *(sum(counts[key].get(scope, {}).values()) for key in ("mac", "ac", "synop"))
            )
    skipped = [mode.get_unsupported(counters[key]) for key in ("mac", "ac")]
    not_counted = {op: n for op, n in skipped[0].items() if op in skipped[1]}
    arithmetic = sorted(set(not_counted) - FREE_OPS)
    if arithmetic:
        logging.warning(f"no counting rule for {', '.join(arithmetic)}: the complete count leaves them out")
    return EnergyCount(
        frames=mel.size(-1), layers=_own_ops(generator, totals), spikes=spike_counts, not_counted=not_counted
    )


_COMPONENTS = [
    (r"convnext\.\d+\.dwconv$", "depthwise conv"),
    (r"convnext\.\d+\.pwconv[12]$", "pointwise layers"),
    (r"convnext\.\d+\.lif[12]$", "spiking neurons"),
    (r"convnext\.\d+\.act$", "GELU"),
    (r"convnext\.\d+\.tsm$", "temporal shift"),
    (r"norm$", "LayerNorm"),
    (r"convnext\.\d+$", "layer scale, amplitude multiply, residual"),
    (r"embed$", "embed"),
    (r"^backbone$", "read-out"),
    (r"head\.out$", "head projection"),
    (r"head\.istft$", "ISTFT"),
    (r"head$", "magnitude and phase"),
    (r"^$", "input check"),
]


def component(name: str) -> str:
    """The part of the vocoder a module belongs to, for energy breakdowns."""
    return next((label for pattern, label in _COMPONENTS if re.search(pattern, name)), name)

