"""GAN vocoder task: trains Vocos and Spiking Vocos with ESPnet's ``GANTrainer``.

ESPnet2 has no standalone vocoder task; this one follows ``espnet2/tasks/gan_codec.py``:
raw audio in (``speech``), two optimizers (generator, discriminator), choice tables for
the generator (:data:`~espnet2_spiking.gan_vocoder.generators.GENERATORS`) and the feature
extractor (``vocos_mel`` or ESPnet's ``fbank``, :data:`~espnet2_spiking.layers.mel.FEATS_EXTRACTORS`).
Every generic ESPnet training option (resume, seeds, ``--ngpu``, DDP, tensorboard,
best-checkpoint selection) comes from ``AbsTask``.
"""

import argparse
from typing import Callable, Collection, Dict, List, Optional, Tuple

import numpy as np
import torch
from espnet2.tasks.abs_task import AbsTask, optim_classes
from espnet2.train.class_choices import ClassChoices
from espnet2.train.collate_fn import CommonCollateFn
from espnet2.train.gan_trainer import GANTrainer
from espnet2.tts.feats_extract.abs_feats_extract import AbsFeatsExtract
from espnet2.utils.get_default_kwargs import get_default_kwargs
from espnet2.utils.nested_dict_action import NestedDictAction
from espnet2.utils.types import str2bool, str_or_none
from typeguard import typechecked

from espnet2_spiking.gan_vocoder.distillation import Distillation, load_teacher
from espnet2_spiking.gan_vocoder.espnet_model import ESPnetGANVocoderModel
from espnet2_spiking.gan_vocoder.generators import GENERATORS
from espnet2_spiking.gan_vocoder.mel_vocoder import MelVocoder
from espnet2_spiking.layers.mel import FEATS_EXTRACTORS, AnyMelFeatures
from espnet2_spiking.utils.audio import check_wav_scp
from espnet2_spiking.utils.config_check import check_vocoder_config
from espnet2_spiking.utils.train_dir import check_output_dir

feats_extractor_choices = ClassChoices(
    "feats_extract",
    classes=FEATS_EXTRACTORS,
    type_check=AbsFeatsExtract,
    default="vocos_mel",
)
generator_choices = ClassChoices(
    "generator",
    classes=GENERATORS,
    type_check=MelVocoder,
    default="vocos",
)


class GANVocoderTask(AbsTask):
    """Mel-to-waveform GAN vocoder task (generator and discriminator optimizers)."""

    num_optimizers: int = 2
    class_choices_list = [feats_extractor_choices, generator_choices]
    trainer = GANTrainer

    @classmethod
    @typechecked
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        group.add_argument(
            "--model_conf",
            action=NestedDictAction,
            default=get_default_kwargs(ESPnetGANVocoderModel),
            help="Keyword arguments of ESPnetGANVocoderModel (segment_size, loss weights, ...).",
        )
        group.add_argument(
            "--distill",
            type=str2bool,
            default=False,
            help="Distil from a frozen Vocos teacher (needs --teacher_model_file).",
        )
        group.add_argument(
            "--teacher_model_file",
            type=str_or_none,
            default=None,
            help="Teacher checkpoint, e.g. exp/vocos/valid.mel_loss.best.pth.",
        )
        group.add_argument(
            "--teacher_config",
            type=str_or_none,
            default=None,
            help="Teacher config (default: config.yaml beside --teacher_model_file).",
        )
        group.add_argument(
            "--distillation_conf",
            action=NestedDictAction,
            default=get_default_kwargs(Distillation),
            help="Keyword arguments of Distillation (loss weights).",
        )
        group.add_argument(
            "--check_audio",
            type=str2bool,
            default=True,
            help="Check every training/validation audio file (exists, mono, fs; validation clips at least "
            "n_fft samples; no Kaldi shell commands 'cmd |', which ESPnet's sound reader cannot read: format "
            "such data with espnet2_spiking.bin.format_wav_scp) before training.",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)
        # a vocoder has no attention to plot; ESPnet's probe for it costs seconds per epoch
        parser.set_defaults(num_att_plot=0)

    @classmethod
    def check_required_command_args(cls, args: argparse.Namespace):
        super().check_required_command_args(args)
        if getattr(args, "distill", False) and args.teacher_model_file is None:
            raise ValueError(
                "distill: true needs a teacher: pass --teacher_model_file "
                "exp/vocos/valid.mel_loss.best.pth (a checkpoint of this task with generator: "
                "vocos), or convert a public Vocos checkpoint with "
                "`python -m espnet2_spiking.bin.convert_vocos`."
            )
        if getattr(args, "skip_discriminator_prob", 0) > 0:
            raise ValueError(
                "--skip_discriminator_prob is not supported by the GAN vocoder task; leave it at 0."
            )
        check_output_dir(args)
        feats_extract = check_vocoder_config(
            args, args.config or "the command line", generator_choices.get_class(args.generator)
        )
        if getattr(args, "check_audio", False):
            # validation transforms whole clips: each needs at least one FFT frame
            for inputs, min_samples in [
                (args.train_data_path_and_name_and_type, 1),
                (args.valid_data_path_and_name_and_type, feats_extract.n_fft),
            ]:
                for path, _, kind in inputs:
                    if kind == "sound":
                        check_wav_scp(path, feats_extract.fs, min_samples)

    @classmethod
    @typechecked
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable[
        [Collection[Tuple[str, Dict[str, np.ndarray]]]],
        Tuple[List[str], Dict[str, torch.Tensor]],
    ]:
        return CommonCollateFn(float_pad_value=0.0, int_pad_value=0)

    @classmethod
    def build_preprocess_fn(cls, args: argparse.Namespace, train: bool) -> Optional[Callable]:
        return None

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return () if inference else ("speech",)

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        # training: ``feats`` frame-aligned to ``speech`` (e.g. teacher-forced mels) are decoded
        # instead of the log-mel of ``speech``, for fine-tuning behind a text-to-mel model
        return ("speech", "feats") if inference else ("feats",)

    @classmethod
    @typechecked
    def build_feats_extract(cls, args: argparse.Namespace) -> AnyMelFeatures:
        return feats_extractor_choices.get_class(args.feats_extract)(**args.feats_extract_conf)

    @classmethod
    @typechecked
    def build_generator(cls, args: argparse.Namespace, feats_extract: AnyMelFeatures) -> MelVocoder:
        """Build the generator; mel count and hop come from the features (see ``MelFeatures.vocoder_conf``)."""
        conf = feats_extract.vocoder_conf(args.generator_conf)
        return generator_choices.get_class(args.generator)(**conf)

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetGANVocoderModel:
        feats_extract = cls.build_feats_extract(args)
        generator = cls.build_generator(args, feats_extract)
        distillation = None
        if getattr(args, "distill", False):
            teacher = load_teacher(args.teacher_model_file, args.teacher_config, feats_extract)
            distillation = Distillation(teacher, **args.distillation_conf)
        return ESPnetGANVocoderModel(
            feats_extract=feats_extract,
            generator=generator,
            distillation=distillation,
            **args.model_conf,
        )

    @classmethod
    def build_optimizers(
        cls, args: argparse.Namespace, model: ESPnetGANVocoderModel
    ) -> List[torch.optim.Optimizer]:
        """Generator optimizer: generator and distillation adapters (not the frozen teacher);
        discriminator optimizer: the discriminators."""
        optimizers = []
        for params, name, conf in [
            (list(model.generator_parameters()), args.optim, args.optim_conf),
            (list(model.discriminator.parameters()), args.optim2, args.optim2_conf),
        ]:
            optim_class = optim_classes.get(name)
            if optim_class is None:
                raise ValueError(f"optimizer must be one of {list(optim_classes)}, got {name}")
            optimizers.append(optim_class(params, **conf))
        return optimizers
