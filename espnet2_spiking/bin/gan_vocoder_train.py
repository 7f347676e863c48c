#!/usr/bin/env python3
"""Train Vocos or Spiking Vocos with ESPnet's GANTrainer.

Example:
    python -m espnet2_spiking.bin.gan_vocoder_train --config conf/train_vocos.yaml \\
        --train_data_path_and_name_and_type dump/raw/train/wav.scp,speech,sound \\
        --valid_data_path_and_name_and_type dump/raw/dev/wav.scp,speech,sound \\
        --train_shape_file exp/vocoder_stats/train/speech_shape \\
        --valid_shape_file exp/vocoder_stats/valid/speech_shape --output_dir exp/vocos
    python -m espnet2_spiking.bin.gan_vocoder_train --print_config --generator spiking_vocos
"""

from espnet2_spiking.tasks.gan_vocoder import GANVocoderTask


def get_parser():
    return GANVocoderTask.get_parser()


def main(cmd=None):
    GANVocoderTask.main(cmd=cmd)


if __name__ == "__main__":
    main()
