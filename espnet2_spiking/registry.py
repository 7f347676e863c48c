"""The one place that writes the plugin's classes into ESPnet's lookup tables.

ESPnet has no plugin entry points: its tables are module-level dicts and
``ClassChoices`` objects, which are extended here in place.

- :func:`register` (run by ``import espnet2_spiking``): ``vocos`` and ``spiking_vocos``
  in ``joint_text2wav``'s ``AVAILABLE_VOCODER``.
- :func:`register_tts_tasks` (run by the plugin's TTS entry points, since importing
  ESPnet's TTS tasks costs seconds): the ``vocos_mel`` feature extractor in the
  choice tables of ``GANTTSTask`` (training) and ``TTSTask`` (training and
  ``tts_inference``), and vocoders of ``gan_vocoder_train`` in
  ``TTSTask.build_vocoder_from_file`` (:func:`register_vocoder_files`). Call it before
  ``get_parser()`` in your own scripts.
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
    register_vocoder_files()
    for choices in (gan_tts.feats_extractor_choices, tts.feats_extractor_choices):
        choices.classes.update(FEATS_EXTRACTORS)


def register_vocoder_files():
    """Let ``tts_inference --vocoder_file`` take a vocoder of ``gan_vocoder_train``.

    ESPnet's ``TTSTask.build_vocoder_from_file`` knows Griffin-Lim (no file) and
    ParallelWaveGAN (``*.pkl``); any other ``--vocoder_file`` (a ``*.pth``, its directory or
    a packed archive, with ``--vocoder_config`` or the ``config.yaml`` beside it) is loaded
    by :func:`espnet2_spiking.vocoder.build_tts_vocoder`, which checks its features first.
    """
    from espnet2.tasks.tts import TTSTask

    espnet_build = TTSTask.build_vocoder_from_file.__func__
    if getattr(espnet_build, "plugin", False):
        return

    def build_vocoder_from_file(cls, vocoder_config_file=None, vocoder_file=None, model=None, device="cpu"):
        if vocoder_file is None or str(vocoder_file).endswith(".pkl"):
            return espnet_build(cls, vocoder_config_file, vocoder_file, model, device)
        from espnet2_spiking.vocoder import build_tts_vocoder

        return build_tts_vocoder(vocoder_config_file, vocoder_file, model, device)

    build_vocoder_from_file.plugin = True
    TTSTask.build_vocoder_from_file = classmethod(build_vocoder_from_file)
