#!/usr/bin/env python3
"""ESPnet's ``tts_train`` (text-to-mel models) with the plugin registered (``vocos_mel`` features).

Example:
    python -m espnet2_spiking.bin.tts_train --config conf/tuning/train_tacotron2_mini.yaml \\
        --feats_extract vocos_mel ...   # every option of espnet2.bin.tts_train
"""

from espnet2_spiking.registry import register_tts_tasks
from espnet2_spiking.utils.train_dir import check_output_dir


def main(cmd=None):
    register_tts_tasks()
    from espnet2.tasks.tts import TTSTask

    args = TTSTask.get_parser().parse_args(cmd)
    check_output_dir(args)
    TTSTask.main(args=args)


if __name__ == "__main__":
    main()
