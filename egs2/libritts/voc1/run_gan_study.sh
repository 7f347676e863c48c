#!/usr/bin/env bash
# The adversarial phase, measured: the teacher and the student of run.sh, each continued from
# its mel-only checkpoint (the quick start's) for the same number of steps with
#   mel: the mel loss only (+ distillation for the student); the discriminators rest;
#   gan: the full objective: MPD + MRD hinge losses, feature matching, the reference's weights
#        (mel 45, adversarial 1, feature matching 1, MRD 0.1), gan_loss_style of the config;
# same data, same seed, AdamW lr 5e-4 for generator and discriminators (the reference's).
# Then copy synthesis of the test set (stage 5: decoded, scored, benchmarked) for the
# starting checkpoints and both continuations, and one table and loss curves per model in
# ${expdir}/gan_study/ (RESULTS.md, teacher.png, student.png).
#
#   ./run_gan_study.sh --corpus mini                   # 2-core CPU: about an hour
#   ./run_gan_study.sh --corpus mini --steps 400       # longer continuations
#   ./run_gan_study.sh --corpus mini --models teacher  # the teachers only, not scored (the
#                                                      # student's quick start may still train)
#   ./run_gan_study.sh --corpus mini --gan_args "--model_conf discriminator_params=null"
#                                                      # the full-size discriminators
#
# The discriminators are those of the run's configs: on the mini corpus a quarter of the
# reference's channels (conf/tuning/*_mini.yaml); the full-size ones cost about 10x the CPU
# time. Stages 1-4 of run.sh make the starting checkpoints; the student distils from the
# starting teacher in both continuations. Finished work is skipped on a re-run. Other
# options go to run.sh and voc.sh. Stage 5 rewrites ${expdir}/RESULTS.md for the pair it scores.
set -euo pipefail

corpus=libritts
steps=200          # continuation steps per model and objective
epochs=2           # epochs of steps/epochs each: validation (and the scheduler) after each
log_interval=10    # steps per line of train.log (the curves' resolution)
lr=5.0e-4          # AdamW learning rate of generator and discriminators
models="teacher student"
objectives="mel gan"
expdir=exp
gan_args=          # more options of the adversarial continuation
args=()
while [ $# -gt 0 ]; do     # this script's options; the rest go to run.sh
    case "$1" in
        --corpus) corpus=$2; args+=("$1" "$2"); shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --epochs) epochs=$2; shift 2 ;;
        --log_interval) log_interval=$2; shift 2 ;;
        --lr) lr=$2; shift 2 ;;
        --models) models=$2; shift 2 ;;
        --objectives) objectives=$2; shift 2 ;;
        --expdir) expdir=$2; shift 2 ;;
        --gan_args) gan_args=$2; shift 2 ;;
        --stage|--stop_stage|--stop-stage|--teacher_tag|--student_tag|--teacher_args|--student_args)
            echo "$0: $1 is set per continuation here; run ./run.sh for single stages" >&2
            exit 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [ $((steps % epochs)) -ne 0 ]; then
    echo "$0: --steps ${steps} is not a multiple of --epochs ${epochs}" >&2
    exit 2
fi
for objective in ${objectives}; do
    case "${objective}" in mel|gan) ;; *) echo "$0: unknown objective '${objective}' (mel, gan)" >&2; exit 2 ;; esac
done
for model in ${models}; do
    case "${model}" in teacher|student) ;; *) echo "$0: unknown model '${model}' (teacher, student)" >&2; exit 2 ;; esac
done

case "${corpus}" in  # the starting experiments: run.sh's defaults (voc.sh names them after the configs)
    mini) start_teacher=voc_train_vocos_mini; start_student=voc_train_spiking_vocos_tsm_distill_mini ;;
    *) start_teacher=voc_train_vocos; start_student=voc_train_spiking_vocos_tsm_distill ;;
esac
model_file=valid.mel_loss.best.pth

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (run_gan_study.sh) $*"; }

continuation_args() {  # <start experiment> <objective>: the training options of a continuation
    # The discriminators start afresh (left out of --init_param): the starting checkpoints'
    # never trained. Both objectives: same steps, epochs, learning rates, seed and data.
    local opts="--init_param ${expdir}/$1/${model_file}:::discriminator"
    opts+=" --max_epoch ${epochs} --num_iters_per_epoch $((steps / epochs)) --log_interval ${log_interval}"
    opts+=" --optim_conf lr=${lr} --optim2_conf lr=${lr} --scheduler_conf T_max=${epochs} --scheduler2_conf T_max=${epochs}"
    case "$2" in
        mel) opts+=" --model_conf discriminator_train_start_steps=1000000000" ;;  # never
        gan) opts+=" --model_conf discriminator_train_start_steps=0 ${gan_args}" ;;
    esac
    echo "${opts}"
}

log "$0 $*"
start_stage=4
[[ " ${models} " == *" student "* ]] || start_stage=3   # the teachers only: no student needed
log "Starting checkpoints: ${expdir}/${start_teacher} and ${expdir}/${start_student} (run.sh stages 1-${start_stage})"
./run.sh --stage 1 --stop_stage "${start_stage}" --expdir "${expdir}" "${args[@]}"

for objective in ${objectives}; do
    for model in ${models}; do
        tag=gan_study_${model}_${objective}
        log "Continuation '${objective}' of the ${model}: ${expdir}/voc_${tag}, ${steps} steps"
        if [ "${model}" = teacher ]; then
            ./run.sh --stage 3 --stop_stage 3 --expdir "${expdir}" --teacher_tag "${tag}" \
                --teacher_args "$(continuation_args "${start_teacher}" "${objective}")" "${args[@]}"
        else  # distilled from the starting teacher, as its checkpoint was
            ./run.sh --stage 4 --stop_stage 4 --expdir "${expdir}" --student_tag "${tag}" \
                --student_args "$(continuation_args "${start_student}" "${objective}")" "${args[@]}"
        fi
    done
done

if [[ " ${models} " != *" teacher "* || " ${models} " != *" student "* ]]; then
    log "Scoring waits for a run with both models (--models \"teacher student\"), which skips what is trained"
    exit 0
fi
# Copy synthesis, scored: the starting pair (run.sh's stage 5) and each continued pair.
pairs=()
for objective in start ${objectives}; do
    if [ "${objective}" = start ]; then
        teacher=${start_teacher#voc_} student=${start_student#voc_}
    else
        teacher=gan_study_teacher_${objective} student=gan_study_student_${objective}
    fi
    if [ ! -e "${expdir}/voc_${teacher}/${model_file}" ] || [ ! -e "${expdir}/voc_${student}/${model_file}" ]; then
        log "Not scoring '${objective}': it needs both ${expdir}/voc_${teacher} and ${expdir}/voc_${student}"
        continue
    fi
    ./run.sh --stage 5 --stop_stage 5 --expdir "${expdir}" --teacher_tag "${teacher}" \
        --student_tag "${student}" "${args[@]}"
    pairs+=("${objective}=${expdir}/voc_${teacher},${expdir}/voc_${student}")
done

. ./path.sh
python3 pyscripts/utils/show_gan_study.py --out_dir "${expdir}/gan_study" --model_file "${model_file}" "${pairs[@]}"
cat "${expdir}/gan_study/RESULTS.md"
