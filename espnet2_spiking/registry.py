"""The one place that writes the plugin's classes into ESPnet's lookup tables.

ESPnet has no plugin entry points: its tables are module-level dicts and
``ClassChoices`` objects, which are extended here in place.

- :func:`register` (run by ``import espnet2_spiking``): ``vocos`` and ``spiking_vocos``
  in ``joint_text2wav``'s ``AVAILABLE_VOCODER``.
- :func:`register_tts_tasks` (run by the plugin's TTS entry points, since importing
  ESPnet's TTS tasks costs seconds): the ``vocos_mel`` feature extractor in the
  choice tables of ``GANTTSTask`` (training) and ``TTSTask`` (training and
  ``tts_inference``). Call it before ``get_parser()`` in your own scripts.
"""

from espnet2_spiking.gan_vocoder.spiking_vocos import SpikingVocosGenerator
from espnet2_spiking.gan_vocoder.vocos import VocosGenerator
from espnet2_spiking.layers.mel import VocosLogMel

VOCODERS = {"vocos": VocosGenerator, "spiking_vocos": SpikingVocosGenerator}
FEATS_EXTRACTORS = {"vocos_mel": VocosLogMel}


def register():
    """Add ``vocos`` and ``spiking_vocos`` to ``joint_text2wav``'s ``AVAILABLE_VOCODER``."""
    from espnet2.gan_tts.joint import joint_text2wav

    joint_text2wav.AVAILABLE_VOCODER.update(VOCODERS)


def register_tts_tasks():
    """Add ``vocos_mel`` to the feature-extractor choices of ``GANTTSTask`` and ``TTSTask``."""
    from espnet2.tasks import gan_tts, tts

    register()
    for choices in (gan_tts.feats_extractor_choices, tts.feats_extractor_choices):
        choices.classes.update(FEATS_EXTRACTORS)
