"""The one place that writes the plugin into ESPnet's lookup tables and TTS tasks.

ESPnet has no plugin entry points: its tables are module-level dicts and ``ClassChoices``
objects, and its tasks are classes; they are extended here in place. The generators come
from the one table :data:`~espnet2_spiking.gan_vocoder.generators.GENERATORS`; what they
do with a text-to-mel model lives in :mod:`espnet2_spiking.text2mel`.

- :func:`register` (run by ``import espnet2_spiking``): ``vocos`` and ``spiking_vocos`` in
  ``joint_text2wav``'s ``AVAILABLE_VOCODER``.
- :func:`register_tts_tasks`: everything ESPnet's TTS entry points (``gan_tts_train``,
  ``tts_train``, ``tts_inference``) need; idempotent. It imports ESPnet's TTS tasks, which
  costs seconds, so it runs only where those run.
"""

from espnet2_spiking.gan_vocoder.generators import GENERATORS
from espnet2_spiking.layers.mel import VocosLogMel

TTS_FEATS_EXTRACTORS = {"vocos_mel": VocosLogMel}  # ESPnet's TTS tasks know fbank already


def register():
    """Add ``vocos`` and ``spiking_vocos`` to ``joint_text2wav``'s ``AVAILABLE_VOCODER``."""
    from espnet2.gan_tts.joint import joint_text2wav

    joint_text2wav.AVAILABLE_VOCODER.update(GENERATORS)


def register_tts_tasks():
    """Make ESPnet's TTS tasks (``GANTTSTask``, ``TTSTask``) work with the plugin's vocoders.

    - :func:`register`;
    - ``vocos_mel`` among their ``feats_extract`` choices (``fbank`` is ESPnet's own);
    - ``build_model`` of both completes a ``joint_text2wav`` config whose ``vocoder_type`` is
      ``vocos`` or ``spiking_vocos`` from its features (mel count, hop, sampling rate;
      a contradiction is refused: :func:`espnet2_spiking.text2mel.complete_joint_config`);
    - ``TTSTask.build_vocoder_from_file`` (``tts_inference --vocoder_file``) loads vocoders
      of ``gan_vocoder_train`` and checks their features, and gives ``vocos_mel`` models a
      Griffin-Lim at the right level (:mod:`espnet2_spiking.text2mel`).

    Call it before ``get_parser()`` in your own scripts; calling it again changes nothing.
    """
    from espnet2.tasks import gan_tts, tts

    register()
    for choices in (gan_tts.feats_extractor_choices, tts.feats_extractor_choices):
        choices.classes.update(TTS_FEATS_EXTRACTORS)
    for task in (gan_tts.GANTTSTask, tts.TTSTask):
        _complete_joint_configs(task)
    _load_vocoder_files(tts.TTSTask)


def _plugged(method) -> bool:
    return getattr(method.__func__, "plugin", False)


def _complete_joint_configs(task):
    """Wrap ``task.build_model`` so that a ``joint_text2wav`` config with a plugin vocoder is
    completed first; the completed ``tts_conf`` is what ESPnet then saves in ``config.yaml``."""
    if _plugged(task.build_model):
        return
    espnet_build_model = task.build_model.__func__

    def build_model(cls, args):
        from espnet2_spiking.text2mel import complete_joint_config

        if getattr(args, "tts", None) == "joint_text2wav":
            args.tts_conf = complete_joint_config(args.feats_extract, args.feats_extract_conf, args.tts_conf)
        return espnet_build_model(cls, args)

    build_model.plugin = True
    build_model.__doc__ = espnet_build_model.__doc__
    task.build_model = classmethod(build_model)


def _load_vocoder_files(task):
    """Extend ``task.build_vocoder_from_file``: ESPnet knows Griffin-Lim (no file) and
    ParallelWaveGAN (``*.pkl``); any other ``--vocoder_file`` (a ``*.pth`` of
    ``gan_vocoder_train``, its directory or a packed archive, with ``--vocoder_config`` or the
    ``config.yaml`` beside it) is loaded by :func:`espnet2_spiking.text2mel.build_tts_vocoder`,
    and Griffin-Lim on ``vocos_mel`` features is :class:`espnet2_spiking.text2mel.VocosGriffinLim`."""
    if _plugged(task.build_vocoder_from_file):
        return
    espnet_build = task.build_vocoder_from_file.__func__

    def build_vocoder_from_file(cls, vocoder_config_file=None, vocoder_file=None, model=None, device="cpu"):
        from espnet2_spiking.text2mel import VocosGriffinLim, build_tts_vocoder

        if vocoder_file is None and isinstance(getattr(model, "feats_extract", None), VocosLogMel):
            return VocosGriffinLim(model.feats_extract)
        if vocoder_file is None or str(vocoder_file).endswith(".pkl"):
            return espnet_build(cls, vocoder_config_file, vocoder_file, model, device)
        return build_tts_vocoder(vocoder_config_file, vocoder_file, model, device)

    build_vocoder_from_file.plugin = True
    task.build_vocoder_from_file = classmethod(build_vocoder_from_file)
