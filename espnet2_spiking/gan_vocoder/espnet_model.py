"""The GAN vocoder as an ESPnet model: generator and discriminator turns for ``GANTrainer``.

Training (Vocos recipe): a random ``segment_size``-sample segment per utterance, its
log-mel decoded by the generator; generator loss ``lambda_mel * mel L1 (on Vocos's log-mel,
see losses.mel_loss_features) + lambda_adv *
(MPD + lambda_mrd * MRD) hinge loss + lambda_feat_match * (MPD + lambda_mrd * MRD) feature
matching`` (+ distillation); discriminator loss ``MPD + lambda_mrd * MRD`` hinge loss.
Validation decodes whole utterances and leaves padded frames out of the mel loss.
Fine-tuning on a text-to-mel model's teacher-forced mels: given ``feats`` frame-aligned to
the waveform, each segment starts on a frame in both, the generator decodes the given
features and the losses still compare its output with the waveform.

The generator runs once per batch: the first turn caches its outputs and the second turn
of the same batch reuses them, whichever of the two comes first.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from espnet2.gan_tts.hifigan.loss import (
    DiscriminatorAdversarialLoss,
    FeatureMatchLoss,
    GeneratorAdversarialLoss,
)
from espnet2.torch_utils.device_funcs import force_gatherable
from espnet2.train.abs_gan_espnet_model import AbsGANESPnetModel
from typeguard import typechecked

from espnet2_spiking.gan_vocoder.discriminators import MultiPeriodMultiResolutionDiscriminator
from espnet2_spiking.gan_vocoder.distillation import Distillation
from espnet2_spiking.gan_vocoder.losses import log_mel_l1_loss, mel_loss_features, vocos_generator_hinge_loss
from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder
from espnet2_spiking.layers.mel import AnyMelFeatures
from espnet2_spiking.metrics.spikes import FiringRates


def random_starts(max_start: torch.Tensor, step: int = 1) -> torch.Tensor:
    """A random start in ``[0, max_start]`` per item, a multiple of ``step``.

    Args:
        max_start: The latest start per item (B,), >= 0.
        step: Starts are multiples of this (e.g. the hop length, so that a segment starts
            on a frame of its features).

    Returns:
        Starts (B,).
    """
    choices = max_start // step + 1
    pick = (torch.rand(max_start.shape, device=max_start.device) * choices).long()
    return pick.minimum(choices - 1) * step


def cut_segments(x: torch.Tensor, start: torch.Tensor, size: int) -> torch.Tensor:
    """Cut ``x[b, start[b] : start[b] + size]`` for every item, zero-padded beyond the end.

    Args:
        x: Sequences (B, N) or (B, N, C).
        start: Start per item (B,).
        size: Length of every segment.

    Returns:
        Segments (B, size) or (B, size, C).
    """
    pad = max(0, int(start.max()) + size - x.size(1))
    x = torch.nn.functional.pad(x, (0, 0) * (x.dim() - 2) + (0, pad))
    index = start[:, None] + torch.arange(size, device=x.device)
    if x.dim() == 3:
        index = index[..., None].expand(-1, -1, x.size(2))
    return x.gather(1, index)


def random_segments(
    speech: torch.Tensor, lengths: torch.Tensor, segment_size: int
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cut one random segment per utterance; a shorter utterance is taken whole, zero-padded.

    Args:
        speech: Waveforms (B, N), zero beyond each length.
        lengths: Samples per utterance (B,).
        segment_size: Samples per segment.

    Returns:
        Segments (B, segment_size) and the number of utterance samples in each (B,).
    """
    start = random_starts((lengths - segment_size).clamp(min=0))
    return cut_segments(speech, start, segment_size), (lengths - start).clamp(max=segment_size)


def random_aligned_segments(
    speech: torch.Tensor,
    lengths: torch.Tensor,
    feats: torch.Tensor,
    feats_lengths: torch.Tensor,
    segment_size: int,
    hop_length: int,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cut one random segment per utterance from the waveform and from its frame-aligned
    features (frame ``i`` centred on sample ``i * hop_length``, as the vocoder's and ESPnet's
    centred STFTs place them): the segment starts on a frame, at a multiple of the hop, and
    stays within both the samples and the frames.

    Args:
        speech: Waveforms (B, N), zero beyond each length.
        lengths: Samples per utterance (B,).
        feats: Features (B, L, n_mels), e.g. a text-to-mel model's teacher-forced mels.
        feats_lengths: Frames per utterance (B,).
        segment_size: Samples per segment, a multiple of ``hop_length``.
        hop_length: Samples per frame.

    Returns:
        Waveform segments (B, segment_size), the utterance samples in each (B,), and the
        features that decode them (B, n_mels, segment_size // hop_length + 1).
    """
    frames = segment_size // hop_length + 1
    max_start = torch.minimum(lengths - segment_size, (feats_lengths - frames) * hop_length).clamp(min=0)
    start = random_starts(max_start, hop_length)
    segments = cut_segments(speech, start, segment_size)
    feats = cut_segments(feats, start // hop_length, frames).transpose(1, 2)
    return segments, (lengths - start).clamp(max=segment_size), feats


def random_peak_gain(speech: torch.Tensor, low_db: float, high_db: float) -> torch.Tensor:
    """Scale each utterance so that its peak lands at a random level in [low_db, high_db] dBFS.

    Args:
        speech: Waveforms (B, N), zero beyond each length.
        low_db, high_db: Range of the peak level (e.g. -6 and -1, the reference's).

    Returns:
        Scaled waveforms (B, N); a silent utterance stays silent.
    """
    level_db = low_db + (high_db - low_db) * torch.rand(speech.size(0), 1, device=speech.device)
    peak = speech.abs().amax(dim=1, keepdim=True)
    return speech * (10 ** (level_db / 20) / peak.clamp(min=1e-5))


@contextmanager
def frozen(module: torch.nn.Module):
    """Run ``module`` without accumulating gradients in its parameters (inputs still get them)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


@dataclass
class GeneratorPass:
    """What one generator pass over a batch leaves for the two turns.

    Attributes:
        speech: Target waveforms (B, 1, N), zero beyond ``lengths``.
        speech_hat: Generated waveforms (B, 1, N), zero beyond ``lengths``.
        mel: Log-mel of ``speech`` (B, n_mels, N // hop + 1), the generator's input (unless
            features were given to decode).
        loss_mel: Log-mel of ``speech`` in the mel loss's features (``mel`` itself for ``vocos_mel``).
        lengths: Valid samples per item (B,).
        frame_lengths: Valid frames per item (B,).
        distill_loss: Weighted distillation loss (when distilling).
        distill_stats: Its unweighted parts.
        firing_rates: The generator's firing-rate statistics (see
            :class:`espnet2_spiking.metrics.spikes.FiringRates`).
    """

    speech: torch.Tensor
    speech_hat: torch.Tensor
    mel: torch.Tensor
    loss_mel: torch.Tensor
    lengths: torch.Tensor
    frame_lengths: torch.Tensor
    distill_loss: Optional[torch.Tensor] = None
    distill_stats: Dict[str, torch.Tensor] = field(default_factory=dict)
    firing_rates: Dict[str, torch.Tensor] = field(default_factory=dict)


class ESPnetGANVocoderModel(AbsGANESPnetModel):
    """Mel vocoder with Vocos's discriminators and losses, optionally distilled from a teacher.

    Args:
        feats_extract: The log-mel features the generator decodes (``vocos_mel`` or ``fbank``).
        generator: Vocos or Spiking Vocos (``self.generator``; exported as ``generator.*``).
        distillation: Distillation from a frozen teacher (``self.distillation``), or None.
        segment_size: Samples per random training segment; a multiple of the hop.
        discriminator_params: :class:`MultiPeriodMultiResolutionDiscriminator` arguments
            (periods, period_discriminator_params, fft_sizes, hop_factor, bands, channels).
        lambda_mel: Weight of the log-mel L1 loss.
        lambda_adv: Weight of the generator's adversarial loss.
        lambda_feat_match: Weight of the feature-matching loss.
        lambda_mrd: Weight of the MRD against the MPD in the adversarial and
            feature-matching losses of both turns.
        discriminator_train_start_steps: Training steps (batches) during which the generator
            learns from the mel loss (and distillation) alone and the discriminators neither
            run nor learn, in training and validation alike.
        random_gain_db: ``[low, high]``: each training utterance's peak is set to a random
            level in this range (dBFS), as the reference's data loader does (-6, -1); None:
            the audio as it is.
        gan_loss_style: ``espnet``: ESPnet's generator hinge ``-mean(D(G(x)))`` and feature
            matching over every discriminator layer but the score map; ``vocos``: the
            reference's hinge ``mean(relu(1 - D(G(x))))`` and feature matching over every
            layer but the first of each MPD sub-discriminator and of each MRD band, the
            score map included.
    """

    @typechecked
    def __init__(
        self,
        feats_extract: AnyMelFeatures,
        generator: MelVocoder,
        distillation: Optional[Distillation],
        segment_size: int = 16384,
        discriminator_params: Optional[Dict[str, Any]] = None,
        lambda_mel: float = 45.0,
        lambda_adv: float = 1.0,
        lambda_feat_match: float = 1.0,
        lambda_mrd: float = 0.1,
        discriminator_train_start_steps: int = 0,
        random_gain_db: Optional[Sequence[float]] = None,
        gan_loss_style: str = "espnet",
    ):
        super().__init__()
        hop = generator.upsample_factor
        if (feats_extract.n_mels, feats_extract.hop_length) != (generator.in_channels, hop):
            raise ValueError(
                f"The generator (in_channels={generator.in_channels}, hop_length={hop}) cannot decode "
                f"the features (n_mels={feats_extract.n_mels}, hop_length={feats_extract.hop_length}): "
                "build both from the same feats_extract_conf."
            )
        if segment_size <= 0 or segment_size % hop:
            raise ValueError(
                f"segment_size must be a positive multiple of the hop length {hop}, got {segment_size}; "
                f"use e.g. {max(1, round(segment_size / hop)) * hop}."
            )
        if distillation is not None:
            distillation.attach_student(generator)
        if gan_loss_style not in ("espnet", "vocos"):
            raise ValueError(f"gan_loss_style must be 'espnet' or 'vocos', got {gan_loss_style!r}.")
        if random_gain_db is not None and (len(random_gain_db) != 2 or random_gain_db[0] > random_gain_db[1]):
            raise ValueError(
                f"random_gain_db must be [low, high] in dBFS, e.g. [-6, -1], got {random_gain_db}."
            )
        self.feats_extract = feats_extract
        loss_feats = mel_loss_features(feats_extract)
        # a module of its own only where it is not the input's (vocos_mel checkpoints keep their keys)
        self.loss_feats = None if loss_feats is feats_extract else loss_feats
        self.generator = generator
        self.discriminator = MultiPeriodMultiResolutionDiscriminator(**(discriminator_params or {}))
        self.distillation = distillation
        self.segment_size = segment_size
        self.lambda_mel = lambda_mel
        self.lambda_adv = lambda_adv
        self.lambda_feat_match = lambda_feat_match
        self.lambda_mrd = lambda_mrd
        self.discriminator_train_start_steps = discriminator_train_start_steps
        self.random_gain_db = random_gain_db
        self.gan_loss_style = gan_loss_style
        # Training steps taken, kept in checkpoints so that a resumed training knows them.
        self.register_buffer("num_train_steps", torch.zeros((), dtype=torch.long))
        if gan_loss_style == "vocos":
            self.generator_adv_loss = vocos_generator_hinge_loss
        else:
            self.generator_adv_loss = GeneratorAdversarialLoss(loss_type="hinge")
        self.discriminator_adv_loss = DiscriminatorAdversarialLoss(loss_type="hinge")
        # Vocos's scale: sum over layers, mean over sub-discriminators.
        self.feat_match_loss = FeatureMatchLoss(
            average_by_layers=False, include_final_outputs=gan_loss_style == "vocos"
        )
        self.firing_rates = FiringRates(generator)
        self._cache: Optional[Tuple[torch.Tensor, GeneratorPass]] = None

    @property
    def adversarial(self) -> bool:
        """Whether the discriminators take part: in training from step
        ``discriminator_train_start_steps`` on; in validation once they have learned from at
        least one step. Before, validation skips them too (untrained, their scores mean
        nothing, and on a CPU they cost many times the generator)."""
        steps_learned = self.num_train_steps - (0 if self.training else 1)
        return bool(steps_learned >= self.discriminator_train_start_steps)

    def _feat_match(self, maps_hat: Tuple[List, List], maps: Tuple[List, List]) -> torch.Tensor:
        """MPD + lambda_mrd * MRD feature matching; ``maps_hat``, ``maps``: the discriminator's
        (MPD, MRD) feature maps of generated and real audio."""
        if self.gan_loss_style == "vocos":  # the reference leaves out every first layer
            maps_hat = self.discriminator.reference_feature_maps(*maps_hat)
            maps = self.discriminator.reference_feature_maps(*maps)
        (mpd_hat, mrd_hat), (mpd, mrd) = maps_hat, maps
        return self.feat_match_loss(mpd_hat, mpd) + self.lambda_mrd * self.feat_match_loss(mrd_hat, mrd)

    def generator_parameters(self) -> Iterator[torch.nn.Parameter]:
        """What the generator optimizer trains: the generator and the distillation adapters."""
        yield from self.generator.parameters()
        if self.distillation is not None:
            yield from self.distillation.adapters.parameters()

    def forward(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        feats: Optional[torch.Tensor] = None,
        feats_lengths: Optional[torch.Tensor] = None,
        forward_generator: bool = True,
        **kwargs,
    ) -> Dict[str, Any]:
        """One turn of ``GANTrainer``.

        Args:
            speech: Waveforms (B, N), zero-padded.
            speech_lengths: Samples per waveform (B,).
            feats: Features to decode instead of the log-mel of ``speech`` (B, L, n_mels),
                frame-aligned to it (e.g. a text-to-mel model's teacher-forced mels, for
                fine-tuning); the losses still compare with ``speech``.
            feats_lengths: Frames per item (B,), with ``feats``.
            forward_generator: Generator turn (optimizer 0) or discriminator turn (1).

        Returns:
            ``loss``, ``stats`` (detached scalars), ``weight`` (batch size), ``optim_idx``.
        """
        out = self._generate(speech, speech_lengths, feats, feats_lengths)
        if forward_generator:
            loss, stats = self._generator_loss(out)
        elif self.adversarial:
            loss, stats = self._discriminator_loss(out)
        else:  # the discriminators rest: nothing to learn, nothing to compute; the NaN is
            # "not computed" to ESPnet's reporter (which needs a key in every turn), not a loss
            loss = torch.zeros((), device=speech.device, requires_grad=True)
            stats = dict(discriminator_loss=torch.tensor(float("nan"), device=speech.device))
        if self.training and forward_generator:
            self.num_train_steps += 1
        loss, stats, weight = force_gatherable((loss, stats, speech.size(0)), loss.device)
        return dict(loss=loss, stats=stats, weight=weight, optim_idx=0 if forward_generator else 1)

    def _generate(
        self,
        speech: torch.Tensor,
        speech_lengths: torch.Tensor,
        feats: Optional[torch.Tensor] = None,
        feats_lengths: Optional[torch.Tensor] = None,
    ) -> GeneratorPass:
        """Decode the batch, or take the decoding that the other turn of this batch left."""
        if self._cache is not None and self._cache[0] is speech:
            out, self._cache = self._cache[1], None
            return out
        if speech.dim() != 2:
            raise ValueError(f"Expected mono waveforms (B, N), got shape {tuple(speech.shape)}.")
        if feats is not None and (feats.dim() != 3 or feats.size(2) != self.feats_extract.n_mels):
            raise ValueError(
                f"Expected feats (B, frames, {self.feats_extract.n_mels}) to decode, got shape "
                f"{tuple(feats.shape)}: give the text-to-mel model's features made with the vocoder's "
                "feats_extract_conf."
            )
        if self.training and self.random_gain_db is not None:
            if feats is not None:
                raise ValueError(
                    "random_gain_db changes the waveform's level, which the given feats would no longer "
                    "match: set model_conf random_gain_db: null to fine-tune on feats."
                )
            speech = random_peak_gain(speech, *self.random_gain_db)
        hop = self.feats_extract.hop_length
        mel_in = None if feats is None else feats.transpose(1, 2)
        if self.training and feats is not None:
            target, lengths, mel_in = random_aligned_segments(
                speech, speech_lengths, feats, feats_lengths, self.segment_size, hop
            )
        elif self.training:
            target, lengths = random_segments(speech, speech_lengths, self.segment_size)
        else:
            target, lengths = speech, speech_lengths
        mask = torch.arange(target.size(1), device=target.device) < lengths[:, None]
        target = target * mask
        mel = self.feats_extract.mel(target)
        loss_mel = mel if self.loss_feats is None else self.loss_feats.mel(target)
        if mel_in is None:
            mel_in = mel
        frame_lengths = lengths // hop + 1
        hidden, hiddens = self.generator.hidden_states(mel_in)
        firing_rates = self.firing_rates.pop()
        log_mag, phase = self.generator.head.spectrum(hidden)
        speech_hat = self.generator.head.synthesize(log_mag, phase)
        # "same" decodes L * hop >= N samples; "center" (L - 1) * hop, up to hop - 1 short of N;
        # given feats may hold fewer frames still (e.g. a text-to-mel model's reduction factor)
        speech_hat = torch.nn.functional.pad(speech_hat, (0, max(0, target.size(1) - speech_hat.size(1))))
        speech_hat = speech_hat[:, : target.size(1)] * mask
        out = GeneratorPass(
            target.unsqueeze(1),
            speech_hat.unsqueeze(1),
            mel,
            loss_mel,
            lengths,
            frame_lengths,
            firing_rates=firing_rates,
        )
        if self.distillation is not None:
            out.distill_loss, out.distill_stats = self.distillation(
                mel_in, hiddens, log_mag, phase, frame_lengths
            )
        self._cache = (speech, out)
        return out

    def _generator_loss(self, out: GeneratorPass) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        loss_feats = self.feats_extract if self.loss_feats is None else self.loss_feats
        mel_loss = log_mel_l1_loss(loss_feats, out.speech_hat[:, 0], out.loss_mel, out.frame_lengths)
        loss = self.lambda_mel * mel_loss
        stats = dict(mel_loss=mel_loss.detach())
        if self.adversarial:
            with frozen(self.discriminator):
                mpd_hat, mrd_hat = self.discriminator(out.speech_hat)
            with torch.no_grad():
                mpd, mrd = self.discriminator(out.speech)
            adv_loss = self.generator_adv_loss(mpd_hat) + self.lambda_mrd * self.generator_adv_loss(mrd_hat)
            feat_match_loss = self._feat_match((mpd_hat, mrd_hat), (mpd, mrd))
            loss = loss + self.lambda_adv * adv_loss + self.lambda_feat_match * feat_match_loss
            stats.update(
                generator_adv_loss=adv_loss.detach(), generator_feat_match_loss=feat_match_loss.detach()
            )
        if out.distill_loss is not None:
            loss = loss + out.distill_loss
        stats = dict(generator_loss=loss.detach(), **stats, **out.distill_stats, **out.firing_rates)
        return loss, stats

    def _discriminator_loss(self, out: GeneratorPass) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        mpd_hat, mrd_hat = self.discriminator(out.speech_hat.detach())
        mpd, mrd = self.discriminator(out.speech)
        mpd_real, mpd_fake = self.discriminator_adv_loss(mpd_hat, mpd)
        mrd_real, mrd_fake = self.discriminator_adv_loss(mrd_hat, mrd)
        real_loss = mpd_real + self.lambda_mrd * mrd_real
        fake_loss = mpd_fake + self.lambda_mrd * mrd_fake
        loss = real_loss + fake_loss
        stats = dict(
            discriminator_loss=loss.detach(),
            discriminator_real_loss=real_loss.detach(),
            discriminator_fake_loss=fake_loss.detach(),
        )
        return loss, stats

    def collect_feats(
        self, speech: torch.Tensor, speech_lengths: torch.Tensor, **kwargs
    ) -> Dict[str, torch.Tensor]:
        """Args: speech (B, N), speech_lengths (B,). Returns: ``feats`` (B, L, n_mels), ``feats_lengths`` (B,)."""
        feats, feats_lengths = self.feats_extract(speech, speech_lengths)
        return dict(feats=feats, feats_lengths=feats_lengths)
