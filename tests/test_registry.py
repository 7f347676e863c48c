"""Registration: after ``import espnet2_spiking``, ESPnet's vocoder table names the plugin's
generators, and ESPnet's own code builds them by that name."""

import torch

import espnet2_spiking  # noqa: F401  (registers the vocoders)
from espnet2.gan_tts.joint.joint_text2wav import AVAILABLE_VOCODER, JointText2Wav
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from tests.conftest import TINY_MEL, TINY_TACOTRON2, make_spiking_vocos_args, make_vocos_args


def test_vocoders_registered_with_espnet():
    assert AVAILABLE_VOCODER["vocos"] is VocosGenerator
    assert AVAILABLE_VOCODER["spiking_vocos"] is SpikingVocosGenerator
    assert "hifigan_generator" in AVAILABLE_VOCODER  # ESPnet's own stay


def test_espnet_builds_the_vocoders_by_name():
    """A ``joint_text2wav`` config names the vocoder (``vocoder_type``) and its settings
    (``vocoder_params``); ESPnet's JointText2Wav looks the class up in its table and builds it."""
    for vocoder_type, params in [("vocos", make_vocos_args()), ("spiking_vocos", make_spiking_vocos_args())]:
        joint = JointText2Wav(
            idim=10,
            odim=TINY_MEL["n_mels"],
            sampling_rate=TINY_MEL["fs"],
            segment_size=8,
            text2mel_type="tacotron2",
            text2mel_params=dict(TINY_TACOTRON2),
            vocoder_type=vocoder_type,
            vocoder_params=dict(params),
            discriminator_type="hifigan_multi_period_discriminator",
            discriminator_params=dict(periods=[2], discriminator_params=dict(channels=4, max_downsample_channels=8)),
        )
        vocoder = joint.generator["vocoder"]
        assert type(vocoder) is AVAILABLE_VOCODER[vocoder_type]
        assert {k: vocoder.settings[k] for k in params} == params
        with torch.no_grad():  # and it decodes the text-to-mel model's frames at its hop
            assert vocoder.eval()(torch.randn(1, TINY_MEL["n_mels"], 5)).shape == (1, 1, 5 * TINY_MEL["hop_length"])
