"""The one place that writes the plugin's classes into ESPnet's lookup tables.

ESPnet has no plugin entry points: its tables are module-level dicts and
``ClassChoices`` objects, which this module extends in place when
``espnet2_spiking`` is imported.
"""

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator

VOCODERS = {"vocos": VocosGenerator, "spiking_vocos": SpikingVocosGenerator}


def register():
    """Add ``vocos`` and ``spiking_vocos`` to ``joint_text2wav``'s ``AVAILABLE_VOCODER``."""
    from espnet2.gan_tts.joint import joint_text2wav

    joint_text2wav.AVAILABLE_VOCODER.update(VOCODERS)
