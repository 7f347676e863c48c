#!/usr/bin/env python3
"""ESPnet's ``tts_inference`` with the plugin registered (``vocos_mel``, Vocos vocoders).

Examples:
    # a joint_text2wav model (make_joint_text2wav or gan_tts_train)
    python -m espnet2_spiking.bin.tts_inference --train_config exp/joint/config.yaml \\
        --model_file exp/joint/model.pth --output_dir exp/joint/decode_test \\
        --data_path_and_name_and_type dump/raw/test/text,text,text
    # a text-to-mel model of a tts1 recipe with a separately trained (Spiking) Vocos, the way
    # ESPnet attaches vocoders (--vocoder_config defaults to the config.yaml beside the file)
    python -m espnet2_spiking.bin.tts_inference --train_config exp/tts/config.yaml \\
        --model_file exp/tts/valid.loss.best.pth --vocoder_file exp/voc/valid.mel_loss.best.pth \\
        --output_dir exp/tts/decode_test --data_path_and_name_and_type dump/raw/test/text,text,text

``--vocoder_file`` also takes a vocoder directory or an archive of ``bin/pack_vocoder``;
ParallelWaveGAN ``*.pkl`` work as in ESPnet, and Griffin-Lim (no ``--vocoder_file``) too, at
the right level on ``vocos_mel`` features as well. The text-to-mel model's features must be
the vocoder's (``fbank`` or ``vocos_mel``, every setting the same), checked before decoding.
ESPnet's own ``python -m espnet2.bin.tts_inference`` does the same once
``espnet2_spiking.registry.register_tts_tasks()`` has run in its process.

ESPnet reads ``--model_file`` with ``weights_only=False``, which would run code stored in
the file; it is read here first with ``weights_only=True``, and a file that holds more
than weights is refused before ESPnet opens it.
"""

from espnet2_spiking.registry import register_tts_tasks
from espnet2_spiking.utils.allocator import keep_freed_memory
from espnet2_spiking.utils.checkpoint import load_state


def main(cmd=None):
    register_tts_tasks()
    from espnet2.bin import tts_inference

    args = tts_inference.get_parser().parse_args(cmd)
    if args.model_file is not None:
        load_state(args.model_file)
    keep_freed_memory()
    tts_inference.main(cmd)


if __name__ == "__main__":
    main()
