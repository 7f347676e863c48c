#!/usr/bin/env bash
# LibriTTS recipe of Spiking Vocos: ./run.sh [--corpus mini] [voc.sh options]
#
#   ./run.sh                                   # LibriTTS, full-size configs (GPU advised)
#   ./run.sh --corpus libritts_r --train_set train_clean_460 --ngpu 1 --gpu_inference true
#   ./run.sh --corpus mini                     # offline mini corpus, tiny configs: every
#                                              # stage on a 2-core CPU in minutes
#   ./run.sh --stage 3 --stop_stage 3 --ngpu 1 # one stage, e.g. teacher training on a GPU
#
# Any voc.sh option can be added (./voc.sh --help lists them).
set -euo pipefail

corpus=libritts            # libritts, libritts_r (LibriTTS-R); mini: built offline (local/data.sh)
train_set=train_clean_100  # train_clean_100, train_clean_360, train_clean_460 or train_all
args=()
while [ $# -gt 0 ]; do     # --corpus and --train_set are this script's; the rest go to voc.sh
    case "$1" in
        --corpus) corpus=$2; shift 2 ;;
        --corpus=*) corpus=${1#*=}; shift ;;
        --train_set) train_set=$2; shift 2 ;;
        --train_set=*) train_set=${1#*=}; shift ;;
        --help|-h)
            cat <<USAGE
Usage: $0 [--corpus libritts|libritts_r|mini] [--train_set <set>] [voc.sh options]

Options of this recipe (default in brackets):
    --corpus                 libritts (LibriTTS, db.sh), libritts_r (LibriTTS-R) or mini (offline,
                             built by local/data.sh; mini configs) [${corpus}].
    --train_set              train_clean_100, train_clean_360, train_clean_460 or train_all [${train_set}].

USAGE
            args+=("$1"); shift ;;
        *) args+=("$1"); shift ;;
    esac
done

case "${corpus}" in
    libritts|libritts_r)
        prefix=
        [ "${corpus}" = libritts_r ] && prefix=libritts_r_
        teacher_config=conf/tuning/train_vocos.yaml
        student_config=conf/tuning/train_spiking_vocos_tsm_distill.yaml
        tts_config=conf/tts/train_tacotron2.yaml
        evaluate_args=
        benchmark_args=
        ;;
    mini)
        prefix=mini_
        teacher_config=conf/tuning/train_vocos_mini.yaml
        student_config=conf/tuning/train_spiking_vocos_tsm_distill_mini.yaml
        tts_config=conf/tts/train_tacotron2_mini.yaml
        evaluate_args="--crepe_model tiny"  # full CREPE costs about 10 s of CPU per utterance
        benchmark_args="--batch_sizes 1 --repeats 3 --onnx false"  # CPU seconds: batch 1, no ONNX
        args=(--nj 2 --inference_nj 1 "${args[@]}")  # 2 cores: a process per core, no more
        ;;
    *)
        echo "$0: --corpus ${corpus}: choose libritts, libritts_r or mini" >&2
        exit 2
        ;;
esac

./voc.sh \
    --local_data_opts "--corpus ${corpus} --train_set ${train_set}" \
    --train_set "${prefix}${train_set}" \
    --dev_set "${prefix}dev_clean" \
    --test_sets "${prefix}test_clean" \
    --teacher_config "${teacher_config}" \
    --student_config "${student_config}" \
    --tts_config "${tts_config}" \
    --evaluate_args "${evaluate_args}" \
    --benchmark_args "${benchmark_args}" \
    "${args[@]}"
