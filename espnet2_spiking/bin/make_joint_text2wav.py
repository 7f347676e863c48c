#!/usr/bin/env python3
"""Put a trained vocoder behind a trained ESPnet text-to-mel model as one ``joint_text2wav``.

Writes ``<output_dir>/config.yaml`` and ``<output_dir>/model.pth``, which
``espnet2_spiking.bin.tts_inference`` decodes text with. The two models must have been
trained on the same features (``vocos_mel``, or ESPnet's ``fbank``, same settings); a
mismatch is refused, naming both settings. A text-to-mel model trained with
``normalize: global_mvn`` hands normalised features to the vocoder, which then undoes the
normalisation with the same statistics (:func:`espnet2_spiking.text2mel.make_joint_text2wav`).

Example:
    python -m espnet2_spiking.bin.make_joint_text2wav \\
        --tts_train_config exp/tts/config.yaml --tts_model_file exp/tts/valid.loss.best.pth \\
        --vocoder_model_file exp/snn/valid.mel_loss.best.pth --output_dir exp/joint
"""

import argparse

from espnet2.utils.types import str_or_none

from espnet2_spiking.text2mel import make_joint_text2wav
from espnet2_spiking.utils.cli import setup_logging


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tts_train_config", type=str_or_none, default=None)
    parser.add_argument("--tts_model_file", type=str, required=True)
    parser.add_argument("--vocoder_train_config", type=str_or_none, default=None)
    parser.add_argument("--vocoder_model_file", type=str, required=True)
    parser.add_argument("--output_dir", type=str, required=True)
    return parser


def main(cmd=None):
    setup_logging()
    make_joint_text2wav(**vars(get_parser().parse_args(cmd)))


if __name__ == "__main__":
    main()
