#!/usr/bin/env python3
"""ESPnet's ``gan_tts_train`` with the plugin registered (``register_tts_tasks``).

``joint_text2wav`` configs may name ``vocoder_type: vocos | spiking_vocos``: the vocoder's
mel count and hop come from ``feats_extract_conf`` (``fbank`` or ``vocos_mel``); a
contradicting ``vocoder_params`` is refused.

Example:
    python -m espnet2_spiking.bin.gan_tts_train --config conf/train_joint_spiking_vocos.yaml ...
"""

from espnet2_spiking.registry import register_tts_tasks
from espnet2_spiking.utils.train_dir import check_output_dir


def main(cmd=None):
    register_tts_tasks()
    from espnet2.tasks.gan_tts import GANTTSTask

    args = GANTTSTask.get_parser().parse_args(cmd)
    check_output_dir(args)
    GANTTSTask.main(args=args)


if __name__ == "__main__":
    main()
