"""The Vocos discriminators, built from ESPnet's own.

- Multi-period discriminator (MPD): ``espnet2.gan_tts.hifigan.HiFiGANMultiPeriodDiscriminator``.
- Multi-resolution discriminator (MRD): one
  ``espnet2.gan_codec.shared.discriminator.msmpmb_discriminator.MultiBandDiscriminator``
  (DAC's complex-STFT sub-band discriminator, the one Vocos adapts) per FFT size, fed, as
  in Vocos, with DC-free peak-normalised audio.
"""

import copy
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from espnet2.gan_codec.shared.discriminator.msmpmb_discriminator import MultiBandDiscriminator
from espnet2.gan_tts.hifigan import HiFiGANMultiPeriodDiscriminator
from espnet2.utils.get_default_kwargs import get_default_kwargs
from typeguard import typechecked

BANDS = ((0.0, 0.1), (0.1, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))

# One discriminator's outputs: every layer's feature map, the last one being its score.
FeatureMaps = List[torch.Tensor]


def normalize_peak(x: torch.Tensor) -> torch.Tensor:
    """Remove the DC offset and scale the peak to 0.8. Args: x: (B, 1, N). Returns: (B, 1, N)."""
    x = x - x.mean(dim=-1, keepdim=True)
    return 0.8 * x / (x.abs().amax(dim=-1, keepdim=True) + 1e-9)


class MultiPeriodMultiResolutionDiscriminator(torch.nn.Module):
    """MPD and MRD side by side; their losses are weighted separately.

    Args:
        periods: Periods of the MPD sub-discriminators.
        period_discriminator_params: ``HiFiGANPeriodDiscriminator`` arguments (channels,
            kernel sizes, ...), over ESPnet's defaults (Vocos's MPD).
        fft_sizes: Window (and FFT) lengths of the MRD sub-discriminators.
        hop_factor: MRD hop as a fraction of the window.
        bands: MRD sub-bands as fractions of the frequency axis.
        channels: Channels of every MRD convolution.
    """

    @typechecked
    def __init__(
        self,
        periods: Sequence[int] = (2, 3, 5, 7, 11),
        period_discriminator_params: Optional[Dict[str, Any]] = None,
        fft_sizes: Sequence[int] = (2048, 1024, 512),
        hop_factor: float = 0.25,
        bands: Sequence[Sequence[float]] = BANDS,
        channels: int = 32,
    ):
        super().__init__()
        params = get_default_kwargs(HiFiGANMultiPeriodDiscriminator)["discriminator_params"]
        params.update(copy.deepcopy(period_discriminator_params or {}))
        self.mpd = HiFiGANMultiPeriodDiscriminator(list(periods), params)
        self.mrd = torch.nn.ModuleList(
            [
                MultiBandDiscriminator(n, hop_factor=hop_factor, bands=[tuple(b) for b in bands], channel=channels)
                for n in fft_sizes
            ]
        )

    def forward(self, x: torch.Tensor) -> Tuple[List[FeatureMaps], List[FeatureMaps]]:
        """Args: x: waveform (B, 1, N).

        Returns:
            The feature maps of every MPD sub-discriminator and of every MRD
            sub-discriminator; in each list of maps the last is the score.
        """
        normalized = normalize_peak(x)
        return self.mpd(x), [d(normalized) for d in self.mrd]

    def reference_feature_maps(
        self, mpd: List[FeatureMaps], mrd: List[FeatureMaps]
    ) -> Tuple[List[FeatureMaps], List[FeatureMaps]]:
        """The maps that Vocos's feature matching compares: every layer but the first of each
        MPD sub-discriminator and of each band of each MRD sub-discriminator, the score included.

        Args:
            mpd, mrd: Feature maps as :meth:`forward` returns them (an MRD
                sub-discriminator's maps band after band, then its score).

        Returns:
            The same lists without those first layers.
        """
        layers = [len(d.band_convs[0]) for d in self.mrd]  # convolutions per band
        mrd = [[m for i, m in enumerate(maps[:-1]) if i % n] + maps[-1:] for maps, n in zip(mrd, layers)]
        return [maps[1:] for maps in mpd], mrd
