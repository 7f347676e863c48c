"""The adversarial objective pulls the right way: a cheap guard against a flipped hinge.

A tiny generator and the real discriminators (ESPnet's MPD and MRD, small), fixed real audio
and the generator's output for it. The discriminator's margin is mean D(real) - mean D(fake)
over the score maps, MRD weighted by ``lambda_mrd`` as in the losses. A few discriminator
turns must widen it; then a few generator turns with the adversarial loss alone (mel and
feature-matching weights 0) must take back at least half of that: both loss styles. Flipping the sign of any hinge
(the discriminator's, ESPnet's generator hinge or Vocos's) fails it.
"""

import pytest
import torch

from espnet2_spiking.gan_vocoder.espnet_model import ESPnetGANVocoderModel
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel
from tests.conftest import TINY_DISCRIMINATOR, TINY_MEL, harmonic_tone, make_vocos_args

SEGMENT = 512  # every utterance exactly one segment: the training turns cut no random segment
STEPS = 6


def make_model(gan_loss_style: str) -> ESPnetGANVocoderModel:
    return ESPnetGANVocoderModel(
        VocosLogMel(**TINY_MEL),
        VocosGenerator(**make_vocos_args()),
        None,
        segment_size=SEGMENT,
        discriminator_params=TINY_DISCRIMINATOR,
        lambda_mel=0.0,
        lambda_feat_match=0.0,
        gan_loss_style=gan_loss_style,
    ).train()


def real_speech() -> torch.Tensor:
    """Two harmonic tones of one segment each (2, SEGMENT)."""
    fs = TINY_MEL["fs"]
    return torch.stack(
        [torch.from_numpy(harmonic_tone(fs, SEGMENT / fs, f0=f0, seed=i)) for i, f0 in enumerate((150.0, 230.0))]
    )


def margin(model: ESPnetGANVocoderModel, real: torch.Tensor) -> float:
    """mean D(real) - mean D(G(mel(real))): MPD plus lambda_mrd times MRD, each averaged over
    its sub-discriminators."""
    with torch.no_grad():
        fake = model.generator(model.feats_extract.mel(real))[..., : real.size(1)]  # (B, 1, N)
        (mpd_real, mrd_real), (mpd_fake, mrd_fake) = model.discriminator(real[:, None]), model.discriminator(fake)

    def gap(real_maps, fake_maps):
        return torch.stack([r[-1].mean() - f[-1].mean() for r, f in zip(real_maps, fake_maps)]).mean()

    return (gap(mpd_real, mpd_fake) + model.lambda_mrd * gap(mrd_real, mrd_fake)).item()


def turns(model: ESPnetGANVocoderModel, real: torch.Tensor, forward_generator: bool, parameters):
    """STEPS training turns of one side (what GANTrainer runs), Adam at lr 1e-2."""
    optimizer = torch.optim.Adam(parameters, lr=1e-2)
    lengths = torch.full((real.size(0),), real.size(1))
    for _ in range(STEPS):
        # a new tensor each turn: the model reuses a decoding only within one batch
        out = model(speech=real.clone(), speech_lengths=lengths, forward_generator=forward_generator)
        optimizer.zero_grad()
        out["loss"].backward()
        optimizer.step()


@pytest.mark.parametrize("gan_loss_style", ["espnet", "vocos"])
def test_discriminator_turns_widen_and_generator_turns_narrow_the_margin(gan_loss_style):
    model = make_model(gan_loss_style)
    real = real_speech()
    start = margin(model, real)

    turns(model, real, False, model.discriminator.parameters())
    trained_d = margin(model, real)
    assert trained_d > start + 0.1, f"discriminator turns moved the margin from {start:.3f} to {trained_d:.3f}"

    turns(model, real, True, model.generator_parameters())
    trained_g = margin(model, real)
    assert trained_g < trained_d - 0.5 * (trained_d - start), (
        f"generator turns (adversarial loss alone) moved the margin from {trained_d:.3f} to {trained_g:.3f}"
    )
