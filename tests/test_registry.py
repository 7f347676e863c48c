import torch

import espnet2_spiking  # noqa: F401  (registers the vocoders)
from espnet2.gan_tts.joint.joint_text2wav import AVAILABLE_VOCODER
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator


def test_vocoders_registered_with_espnet():
    assert AVAILABLE_VOCODER["vocos"] is VocosGenerator
    assert AVAILABLE_VOCODER["spiking_vocos"] is SpikingVocosGenerator
    assert "hifigan_generator" in AVAILABLE_VOCODER  # ESPnet's own stay


def test_default_vocoders_from_espnet_table():
    teacher = AVAILABLE_VOCODER["vocos"]().eval()
    student = AVAILABLE_VOCODER["spiking_vocos"]().eval()
    mel = torch.randn(1, 100, 8)
    with torch.no_grad():
        assert teacher(mel).shape == student(mel).shape == (1, 1, 8 * 256)
