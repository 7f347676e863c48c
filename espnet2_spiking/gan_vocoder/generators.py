"""The generator table: every mel-to-waveform generator of the plugin, by name.

``gan_vocoder_train --generator``, ``joint_text2wav``'s ``vocoder_type`` (see
:mod:`espnet2_spiking.registry`) and the loaders of :mod:`espnet2_spiking.vocoder` all read
this one table.
"""

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator

GENERATORS = {"vocos": VocosGenerator, "spiking_vocos": SpikingVocosGenerator}
