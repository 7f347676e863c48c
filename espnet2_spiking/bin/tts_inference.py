#!/usr/bin/env python3
"""ESPnet's ``tts_inference`` with the plugin registered (``vocos_mel``, Vocos vocoders).

Example:
    python -m espnet2_spiking.bin.tts_inference --train_config exp/joint/config.yaml \\
        --model_file exp/joint/model.pth --output_dir exp/joint/decode_test \\
        --data_path_and_name_and_type dump/raw/test/text,text,text
"""

from espnet2_spiking.registry import register_tts_tasks


def main(cmd=None):
    register_tts_tasks()
    from espnet2.bin import tts_inference

    tts_inference.main(cmd)


if __name__ == "__main__":
    main()
