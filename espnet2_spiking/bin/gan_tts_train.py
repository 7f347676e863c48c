#!/usr/bin/env python3
"""ESPnet's ``gan_tts_train`` with ``vocoder_type: vocos | spiking_vocos`` for ``joint_text2wav``.

The vocoder's mel count, FFT size and hop are taken from ``feats_extract_conf``
(``feats_extract: vocos_mel``); a contradicting ``vocoder_params`` is refused.

Example:
    python -m espnet2_spiking.bin.gan_tts_train --config conf/train_joint_spiking_vocos.yaml ...
"""

from espnet2_spiking.registry import register_tts_tasks
from espnet2_spiking.utils.features import complete_joint_config
from espnet2_spiking.utils.train_dir import check_output_dir


def main(cmd=None):
    register_tts_tasks()
    from espnet2.tasks.gan_tts import GANTTSTask

    args = GANTTSTask.get_parser().parse_args(cmd)
    check_output_dir(args)
    if args.tts == "joint_text2wav" and not args.print_config:
        args.tts_conf = complete_joint_config(args.feats_extract, args.feats_extract_conf, args.tts_conf)
    GANTTSTask.main(args=args)


if __name__ == "__main__":
    main()
