"""Decoding long recordings in bounded memory: overlapping chunks of frames.

Every layer of the Vocos and Spiking Vocos generators works frame by frame except the
convolutions along frames (each widens the view by ``(kernel - 1) / 2 * dilation`` frames
per side; the spiking neurons integrate over SNN time steps, never over frames) and the
ISTFT's overlap-add (``(n_fft + hop) / 2`` samples reach into neighbouring frames). A chunk
decoded with that many frames of context on each side therefore yields, for its own
frames, the samples that decoding the whole utterance yields; the chunks' own frames are
concatenated. Memory then grows with the chunk length, not the recording's.
"""

import math

import torch

from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder


def context_frames(generator: MelVocoder) -> int:
    """Frames of context per side that make a chunk's samples equal whole-utterance decoding.

    The half-widths of every ``Conv1d`` (they run one after another along frames) plus
    the frames the ISTFT window overlaps.
    """
    convs = sum(
        (m.kernel_size[0] - 1) // 2 * m.dilation[0]
        for m in generator.modules()
        if isinstance(m, torch.nn.Conv1d)
    )
    istft = generator.head.istft
    return convs + math.ceil((istft.n_fft + istft.hop_length) / 2 / istft.hop_length)


@torch.inference_mode()
def chunked_inference(generator: MelVocoder, mel: torch.Tensor, chunk_frames: int) -> torch.Tensor:
    """Decode a log-mel chunk by chunk; the samples equal ``generator.inference(mel)``'s.

    Args:
        generator: A mel vocoder in eval mode.
        mel: Log-mel (L, in_channels).
        chunk_frames: Frames decoded per chunk (each with :func:`context_frames` more per side).

    Returns:
        Waveform (L * upsample_factor,), or ``(L - 1) * upsample_factor`` for a "center" head.
    """
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be at least 1, got {chunk_frames}")
    generator.check_mel(mel, rank=2)
    context, hop, num_frames = context_frames(generator), generator.upsample_factor, mel.size(0)
    pieces = []
    for start in range(0, num_frames, chunk_frames):
        end = min(start + chunk_frames, num_frames)
        first, last = max(0, start - context), min(num_frames, end + context)
        wav = generator.inference(mel[first:last]).view(-1)
        pieces.append(wav[(start - first) * hop : (end - first) * hop])
    return torch.cat(pieces)
