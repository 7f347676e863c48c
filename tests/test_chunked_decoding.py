"""Long recordings decode in overlapping chunks: bounded memory, the samples of whole decoding."""

import pytest
import torch

from espnet2_spiking.vocoder import Vocoder
from espnet2_spiking.gan_vocoder.chunked import chunked_inference, context_frames
from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from tests.conftest import TINY_MEL, make_spiking_vocos_args, make_vocos_args
from tests.helpers_untrusted import save_vocoder

GENERATORS = {
    "vocos": lambda: VocosGenerator(**make_vocos_args()),
    "spiking_vocos": lambda: SpikingVocosGenerator(**make_spiking_vocos_args()),
    "spiking_vocos_tsm": lambda: SpikingVocosGenerator(**make_spiking_vocos_args(use_tsm=True)),
    "vocos_center": lambda: VocosGenerator(**make_vocos_args(padding="center")),  # (L - 1) * hop samples
}


def count_frames(generator):
    """Record the number of frames of every ``inference`` call (what bounds the memory)."""
    calls, inference = [], generator.inference

    def recording(c):
        calls.append(c.size(0))
        return inference(c)

    generator.inference = recording
    return calls


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.parametrize("chunk_frames", [1, 17, 64])
def test_chunks_give_the_samples_of_whole_decoding(name, chunk_frames):
    generator = GENERATORS[name]().eval()
    mel = torch.randn(203, 16)
    with torch.inference_mode():
        whole = generator.inference(mel).view(-1)
    calls = count_frames(generator)
    chunked = chunked_inference(generator, mel, chunk_frames)
    assert chunked.shape == whole.shape == (generator.head.istft.num_samples(203),)
    assert whole.numel() == (203 - (name == "vocos_center")) * TINY_MEL["hop_length"]
    torch.testing.assert_close(chunked, whole, atol=1e-5, rtol=1e-4)
    assert max(calls) <= chunk_frames + 2 * context_frames(generator)
    assert len(calls) == -(-203 // chunk_frames)


def test_context_covers_the_receptive_field():
    """Too little context changes samples near the chunk borders; the computed context does not."""
    generator = GENERATORS["vocos"]().eval()
    # embed (kernel 7) + 2 blocks (kernel 7): 9 frames; ISTFT n_fft 64, hop 16: 3 frames
    assert context_frames(generator) == 3 * 3 + 3
    mel = torch.randn(120, 16)
    with torch.inference_mode():
        whole = generator.inference(mel).view(-1)
        first, second = generator.inference(mel[:40]).view(-1), generator.inference(mel[30:]).view(-1)
    naive = torch.cat([first[: 35 * 16], second[5 * 16 :]])  # 5 frames of context each way: too few
    assert not torch.allclose(naive, whole, atol=1e-4)


def test_vocoder_chunks_automatically_above_the_set_length(tmp_path):
    model = save_vocoder(tmp_path / "exp", generator="spiking_vocos")
    seconds = 10 * TINY_MEL["hop_length"] / TINY_MEL["fs"]  # chunks of 10 frames
    chunked, whole = Vocoder.from_pretrained(model, chunk_seconds=seconds), Vocoder.from_pretrained(
        model, chunk_seconds=0
    )
    chunked.generator.load_state_dict(whole.generator.state_dict())
    calls = count_frames(chunked.generator)
    speech = torch.randn(TINY_MEL["fs"] // 4) * 0.1  # 125 frames
    torch.testing.assert_close(
        chunked.copy_synthesis(speech), whole.copy_synthesis(speech), atol=1e-5, rtol=1e-4
    )
    assert len(calls) == 13 and max(calls) <= 10 + 2 * context_frames(chunked.generator)
    calls.clear()
    chunked.decode(torch.randn(10, 16))  # not above the length: decoded whole
    assert calls == [10]


def test_every_pytorch_decoding_path_refuses_a_nan_mel():
    """The checks every path shares (ONNX: tests/test_onnx.py): whole, chunked, ESPnet's TTS face, training."""
    vocoder = Vocoder.from_generator(GENERATORS["vocos"](), fs=TINY_MEL["fs"], chunk_seconds=16 * 16 / 8000)
    mel = torch.randn(40, 16)
    mel[30, 2] = float("nan")
    assert vocoder.chunk_frames == 16 and mel.size(0) > vocoder.chunk_frames
    paths = {
        "chunked": vocoder.decode,
        "whole": vocoder.generator.inference,
        "text-to-speech": vocoder,  # Text2Speech calls the vocoder with the mel
        "joint training": lambda m: vocoder.generator(m.T[None]),
    }
    for name, decode in paths.items():
        with pytest.raises(ValueError, match="got a log-mel with 1 NaN or infinite values"):
            decode(mel)
