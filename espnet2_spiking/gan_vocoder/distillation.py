"""Self-architectural distillation of the Spiking Vocos student from a frozen Vocos teacher.

- Feature loss: a student hidden state per block (T, B, C, L) is fused over T with the
  student's read-out weights, mapped by an adapter (1x1 conv, LayerNorm, GELU) and
  compared by MSE with a teacher block's output (B, C, L); summed and divided by the
  number of blocks. Which student state meets which teacher block is ``student_hidden``:

  - ``"output"`` (default): block i's output, the updated membrane stream ``u_i``, against
    teacher block i, for every block. Both are the residual stream after the same block,
    the last block's (what the read-out and the head see) included, and the target does
    not depend on whether the student has a TSM, which the teacher has no counterpart of.
    The reference distils its student without TSM this way (``spiking_modelsv3_distill``).
  - ``"tsm_input"``: the reference's TSM-distill (``spiking_modelsv3_TSM_distill``,
    ``experiment_TSM_distill``): block i's TSM-mixed input ``x_in = u_{i-1} + alpha
    shift(u_{i-1})`` against teacher block i - 1, for i = 1..N-1 (N - 1 pairs, the sum
    still divided by N; without TSM ``x_in`` is ``u_{i-1}``).
- Output loss: L1 between the student's and the teacher's log-magnitudes plus
  ``lambda_phase`` times the anti-wrapping phase losses (instantaneous phase, group delay,
  phase time difference).

The teacher stays in eval mode, never requires gradients and runs under ``no_grad``; the
adapters train with the generator and are not part of it.
"""

from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch
from typeguard import typechecked

from espnet2_spiking.gan_vocoder.losses import masked_mean, phase_losses
from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator, fuse_time_steps
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel
from espnet2_spiking.utils.checkpoint import load_generator, load_train_config


class FeatureAdapter(torch.nn.Module):
    """1x1 convolution, LayerNorm over channels, GELU. Args: dim: Channels."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = torch.nn.Conv1d(dim, dim, kernel_size=1)
        self.norm = torch.nn.LayerNorm(dim)
        self.act = torch.nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x: (B, dim, L). Returns: (B, dim, L)."""
        return self.act(self.norm(self.conv(x).transpose(1, 2))).transpose(1, 2)


# The generator settings a Vocos teacher shares with its Spiking Vocos student (the same
# architecture: self-architectural distillation); the benchmark builds an untrained teacher by them.
TEACHER_SHAPE = ("in_channels", "dim", "intermediate_dim", "num_layers", "kernel_size", "n_fft", "hop_length")
STUDENT_HIDDENS = ("output", "tsm_input")


def vocoder_shape(generator: MelVocoder) -> Dict[str, int]:
    """The settings of :data:`TEACHER_SHAPE` of ``generator``: a student distils from a teacher with the same."""
    return {key: generator.settings[key] for key in TEACHER_SHAPE}


class Distillation(torch.nn.Module):
    """Distillation losses from a frozen teacher, with one adapter per block.

    Args:
        teacher: The trained ANN Vocos (see :func:`load_teacher`); it is frozen here.
        lambda_feature: Weight of the feature loss.
        lambda_output: Weight of the output loss.
        lambda_phase: Weight of the phase losses inside the output loss.
        student_hidden: ``"output"`` or ``"tsm_input"``: which student state meets which
            teacher block (see the module docstring).
    """

    @typechecked
    def __init__(
        self,
        teacher: VocosGenerator,
        lambda_feature: float = 40.0,
        lambda_output: float = 10.0,
        lambda_phase: float = 0.05,
        student_hidden: str = "output",
    ):
        super().__init__()
        if student_hidden not in STUDENT_HIDDENS:
            raise ValueError(
                f"distillation_conf.student_hidden must be one of {', '.join(STUDENT_HIDDENS)}, got {student_hidden!r}."
            )
        self.teacher = teacher.eval().requires_grad_(False)
        shape = vocoder_shape(teacher)
        num_pairs = shape["num_layers"] - (student_hidden == "tsm_input")
        self.adapters = torch.nn.ModuleList([FeatureAdapter(shape["dim"]) for _ in range(num_pairs)])
        self.lambda_feature = lambda_feature
        self.lambda_output = lambda_output
        self.lambda_phase = lambda_phase
        self.student_hidden = student_hidden
        self.readout_decay: Optional[float] = None  # the student's, from attach_student
        # the student's blocks' input mixes (its TSMs), from attach_student; a plain list, so
        # that the student's parameters do not become this module's
        self._student_mixes: List[torch.nn.Module] = []

    def train(self, mode: bool = True) -> "Distillation":
        """Switch the adapters' mode; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def attach_student(self, student: MelVocoder):
        """Check ``student`` (:meth:`check_student`) and adopt its read-out and its blocks' TSMs."""
        self.check_student(student)
        self.readout_decay = student.settings["readout_decay"]
        self._student_mixes = [
            block.tsm if block.tsm is not None else torch.nn.Identity() for block in student.backbone.convnext
        ]

    def feature_pairs(
        self, hiddens: List[torch.Tensor], teacher_hiddens: List[torch.Tensor]
    ) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
        """(student state (T, B, C, L), teacher block output (B, C, L)) per adapter, as ``student_hidden`` says.

        Args:
            hiddens: The student's block outputs, one (T, B, C, L) per block.
            teacher_hiddens: The teacher's block outputs, one (B, C, L) per block.
        """
        if self.student_hidden == "output":
            return zip(hiddens, teacher_hiddens)
        if not self._student_mixes:
            raise RuntimeError("student_hidden: tsm_input needs the student's TSMs: call attach_student first.")
        # block i's input is block i - 1's output, mixed by block i's TSM
        mixes = self._student_mixes[1:]
        return ((mix(h), t) for mix, h, t in zip(mixes, hiddens[:-1], teacher_hiddens[:-1]))

    def check_student(self, student: MelVocoder):
        """Refuse a student that cannot learn block by block from this teacher."""
        if not isinstance(student, SpikingVocosGenerator):
            raise ValueError(
                f"Distillation trains a spiking_vocos student, got a {type(student).__name__} "
                "generator: set `generator: spiking_vocos` or `distill: false`."
            )
        ours, theirs = vocoder_shape(student), vocoder_shape(self.teacher)
        wrong = [f"{k}: student {v}, teacher {theirs[k]}" for k, v in ours.items() if v != theirs[k]]
        if wrong:
            raise ValueError(
                "The student must have the teacher's shape for distillation; they differ in "
                + "; ".join(wrong)
                + ". Build the student with the teacher's generator_conf (and features)."
            )

    def forward(
        self,
        mel: torch.Tensor,
        hiddens: List[torch.Tensor],
        log_mag: torch.Tensor,
        phase: torch.Tensor,
        frame_lengths: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Distillation loss of one student pass.

        Args:
            mel: The log-mel both decode (B, n_mels, L).
            hiddens: The student's block outputs (membrane streams), one (T, B, C, L) per block.
            log_mag: The student's log-magnitude (B, n_fft // 2 + 1, L).
            phase: The student's phase (B, n_fft // 2 + 1, L).
            frame_lengths: Valid frames per item (B,).

        Each membrane stream is fused over T with the read-out of the student given to
        :meth:`attach_student` (without one: :func:`fuse_time_steps`'s default).

        Returns:
            The weighted loss and, unweighted and detached, ``distill_feature_loss`` and
            ``distill_output_loss``.
        """
        readout = {} if self.readout_decay is None else dict(decay=self.readout_decay)
        with torch.no_grad():
            teacher_feats, teacher_hiddens = self.teacher.hidden_states(mel)
            teacher_log_mag, teacher_phase = self.teacher.head.spectrum(teacher_feats)
        feature_loss = torch.stack(
            [
                masked_mean((adapter(fuse_time_steps(h, **readout)) - t).square(), frame_lengths)
                for adapter, (h, t) in zip(self.adapters, self.feature_pairs(hiddens, teacher_hiddens))
            ]
        ).sum() / len(teacher_hiddens)
        output_loss = masked_mean((log_mag - teacher_log_mag).abs(), frame_lengths) + self.lambda_phase * sum(
            phase_losses(phase, teacher_phase, frame_lengths)
        )
        loss = self.lambda_feature * feature_loss + self.lambda_output * output_loss
        return loss, dict(
            distill_feature_loss=feature_loss.detach(), distill_output_loss=output_loss.detach()
        )


def load_teacher(model_file: Union[str, Path], config_file: Union[str, Path, None] = None) -> VocosGenerator:
    """Load a Vocos teacher from a checkpoint of the GAN vocoder task.

    Args:
        model_file: ``*.pth`` checkpoint (its ``generator.*`` weights are the teacher), e.g.
            ``exp/vocos/valid.mel_loss.best.pth`` or the ``model.pth`` of ``convert_vocos``.
        config_file: Its ``config.yaml`` (default: beside ``model_file``), with
            ``generator: vocos``, ``generator_conf`` and ``feats_extract_conf``.

    Returns:
        The teacher, in eval mode, without gradients.
    """
    try:
        config_file, config = load_train_config(model_file, config_file)
    except FileNotFoundError as e:
        raise FileNotFoundError(
            f"Cannot load the distillation teacher: {e} Train the Vocos teacher first (recipe "
            "stage 3), or pass --teacher_model_file (and --teacher_config) naming its checkpoint; "
            "a public Vocos checkpoint can be converted with "
            "`python -m espnet2_spiking.bin.convert_vocos`."
        ) from e
    generator = getattr(config, "generator", None)
    if generator != "vocos":
        raise ValueError(
            f"The distillation teacher must be an ANN Vocos, but {config_file} says "
            f"`generator: {generator}`; pass the checkpoint of a model trained with `generator: vocos`."
        )
    features = VocosLogMel(**(getattr(config, "feats_extract_conf", None) or {}))
    teacher = VocosGenerator(**features.vocoder_conf(getattr(config, "generator_conf", None) or {}))
    return load_generator(teacher, model_file, config_file).eval().requires_grad_(False)
