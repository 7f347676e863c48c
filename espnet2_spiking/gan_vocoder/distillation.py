"""Self-architectural distillation of the Spiking Vocos student from a frozen Vocos teacher.

- Feature loss: every student block's membrane stream (T, B, C, L) is fused over T with
  the student's read-out weights, mapped by an adapter (1x1 conv, LayerNorm, GELU) and
  compared by MSE with the teacher block's output (B, C, L); mean over blocks.
- Output loss: L1 between the student's and the teacher's log-magnitudes plus
  ``lambda_phase`` times the anti-wrapping phase losses (instantaneous phase, group delay,
  phase time difference).

The teacher stays in eval mode, never requires gradients and runs under ``no_grad``; the
adapters train with the generator and are not part of it.
"""

from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import torch
from typeguard import typechecked

from espnet2_spiking.gan_vocoder.losses import masked_mean, phase_losses
from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator, fuse_time_steps
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import AnyMelFeatures, build_features, check_same_features
from espnet2_spiking.utils.checkpoint import load_generator_state, load_train_config


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


SHARED_SHAPE = ("in_channels", "hop_length", "n_fft", "dim", "num_layers")


def vocoder_shape(generator: MelVocoder) -> Dict[str, int]:
    """The settings a student must share with its teacher for block-wise distillation."""
    return {key: generator.settings[key] for key in SHARED_SHAPE}


class Distillation(torch.nn.Module):
    """Distillation losses from a frozen teacher, with one adapter per block.

    Args:
        teacher: The trained ANN Vocos (see :func:`load_teacher`); it is frozen here.
        lambda_feature: Weight of the feature loss.
        lambda_output: Weight of the output loss.
        lambda_phase: Weight of the phase losses inside the output loss.
    """

    @typechecked
    def __init__(
        self,
        teacher: VocosGenerator,
        lambda_feature: float = 40.0,
        lambda_output: float = 10.0,
        lambda_phase: float = 0.05,
    ):
        super().__init__()
        self.teacher = teacher.eval().requires_grad_(False)
        shape = vocoder_shape(teacher)
        self.adapters = torch.nn.ModuleList(
            [FeatureAdapter(shape["dim"]) for _ in range(shape["num_layers"])]
        )
        self.lambda_feature = lambda_feature
        self.lambda_output = lambda_output
        self.lambda_phase = lambda_phase
        self.readout_decay: Optional[float] = None  # the student's, from attach_student

    def train(self, mode: bool = True) -> "Distillation":
        """Switch the adapters' mode; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def attach_student(self, student: MelVocoder):
        """Check ``student`` (:meth:`check_student`) and adopt its read-out for its hidden states."""
        self.check_student(student)
        self.readout_decay = student.settings["readout_decay"]

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
            hiddens: The student's membrane streams, one (T, B, C, L) per block.
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
                for adapter, h, t in zip(self.adapters, hiddens, teacher_hiddens)
            ]
        ).mean()
        output_loss = masked_mean((log_mag - teacher_log_mag).abs(), frame_lengths) + self.lambda_phase * sum(
            phase_losses(phase, teacher_phase, frame_lengths)
        )
        loss = self.lambda_feature * feature_loss + self.lambda_output * output_loss
        return loss, dict(
            distill_feature_loss=feature_loss.detach(), distill_output_loss=output_loss.detach()
        )


def load_teacher(
    model_file: Union[str, Path],
    config_file: Union[str, Path, None] = None,
    student_features: Optional[AnyMelFeatures] = None,
) -> VocosGenerator:
    """Load a Vocos teacher from a checkpoint of the GAN vocoder task.

    Args:
        model_file: ``*.pth`` checkpoint (its ``generator.*`` weights are the teacher), e.g.
            ``exp/vocos/valid.mel_loss.best.pth`` or the ``model.pth`` of ``convert_vocos``.
        config_file: Its ``config.yaml`` (default: beside ``model_file``), with
            ``generator: vocos``, ``generator_conf`` and ``feats_extract_conf``.
        student_features: The student's features: the teacher must decode the same ones.

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
    features = build_features(
        getattr(config, "feats_extract", None), getattr(config, "feats_extract_conf", None), str(config_file)
    )
    if student_features is not None:
        check_same_features(
            features,
            student_features,
            "The teacher and the student use",
            ("teacher", "student"),
            f"Train the student on the teacher's features (feats_extract and feats_extract_conf of {config_file}).",
        )
    teacher = VocosGenerator(**features.vocoder_conf(getattr(config, "generator_conf", None) or {}))
    try:
        teacher.load_state_dict(load_generator_state(model_file))
    except RuntimeError as e:
        raise ValueError(
            f"The weights in {model_file} do not fit the teacher that {config_file} describes: {e}"
        ) from e
    return teacher.eval().requires_grad_(False)
