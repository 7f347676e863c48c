#!/usr/bin/env bash
# The Spiking Vocos ablation: the four student variants (standard, distill, tsm,
# tsm_distill) at each T, trained on the same data with the same budget as the teacher,
# decoded, scored and benchmarked; one table in ${expdir}/RESULTS.md.
#
#   ./run_ablation.sh --corpus mini                 # offline mini corpus, 2-core CPU (about an hour)
#   ./run_ablation.sh --ngpu 1                      # LibriTTS, full-size configs
#   ./run_ablation.sh --corpus mini --variants "standard tsm_distill" --time_steps "4"
#
# Stages 1-3 (data, features, teacher) run once through run.sh; then stages 4-5 once per
# student, in ${expdir}/voc_ablation_<variant>_T<T>. Finished students are skipped, as in
# run.sh. Other options go to run.sh and voc.sh (e.g. --student_args "--max_epoch 4").
set -euo pipefail

variants="standard distill tsm tsm_distill"
time_steps="1 2 4"
expdir=exp
student_args=
inference_model=valid.mel_loss.best.pth
args=()
while [ $# -gt 0 ]; do     # this script's options; the rest go to run.sh
    case "$1" in
        --variants) variants=$2; shift 2 ;;
        --time_steps) time_steps=$2; shift 2 ;;
        --expdir) expdir=$2; shift 2 ;;
        --student_args) student_args=$2; shift 2 ;;
        --inference_model) inference_model=$2; args+=("$1" "$2"); shift 2 ;;
        --stage|--stop_stage|--stop-stage|--student_config|--student_tag)
            echo "$0: $1 is set per student here; run ./run.sh for single stages" >&2
            exit 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

variant_args() {  # <variant>: the student options that make it
    case "$1" in
        standard) echo "--generator_conf use_tsm=false --distill false" ;;
        distill) echo "--generator_conf use_tsm=false --distill true" ;;
        tsm) echo "--generator_conf use_tsm=true --distill false" ;;
        tsm_distill) echo "--generator_conf use_tsm=true --distill true" ;;
        *) echo "$0: unknown variant '$1' (standard, distill, tsm, tsm_distill)" >&2; return 2 ;;
    esac
}
for variant in ${variants}; do variant_args "${variant}" > /dev/null; done

./run.sh --stage 1 --stop_stage 3 --expdir "${expdir}" "${args[@]}"
students=()
for variant in ${variants}; do
    for t in ${time_steps}; do
        tag=ablation_${variant}_T${t}
        ./run.sh --stage 4 --stop_stage 5 --expdir "${expdir}" --student_tag "${tag}" \
            --student_args "$(variant_args "${variant}") --generator_conf time_steps=${t} ${student_args}" \
            "${args[@]}"
        students+=("${expdir}/voc_${tag}")
    done
done
. ./path.sh
python3 pyscripts/utils/show_ablation.py --inference_model "${inference_model}" \
    --out "${expdir}/RESULTS.md" "${students[@]}"
cat "${expdir}/RESULTS.md"
