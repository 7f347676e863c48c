#!/usr/bin/env bash
# Spiking Vocos recipe template: a mel-to-waveform GAN vocoder (ANN Vocos teacher,
# spiking Vocos student) trained and evaluated the ESPnet way. A corpus recipe's run.sh
# sets the corpus's options and calls this script.
#
#   1. Data preparation: local/data.sh -> data/<set>/{wav.scp,text,utt2spk,spk2utt}
#   2. Formatting: audio into dump/raw/<set>/ (mono, fs, duration limits); log-mel features
#      (dump/raw/<set>/feats.scp) of the test sets only, which stage 5 decodes (training
#      computes its features from the audio); the validation subset
#      dump/raw/<dev_set>_valid<num_valid_utts>; training shape statistics
#   3. Teacher training (ANN Vocos)
#   4. Student training (Spiking Vocos; distillation reads the teacher of stage 3)
#   5. Copy synthesis of the test sets with teacher and student, scored with the project's
#      benchmark tools; the table goes to ${expdir}/RESULTS.md
#   6. Joint text-to-wav: text -> text-to-mel model (given by --tts_exp, or trained here on
#      the same corpus and features) -> teacher and student (joint_text2wav) -> waveforms,
#      scored without a reference (DNSMOS), beside the recordings, in ${expdir}/RESULTS.md
#   7. (--finetune true) Fine-tuning of teacher and student on the text-to-mel model's
#      teacher-forced mels of the training set, then text-to-wav and DNSMOS again
#   8. Packing: teacher and student archives (bin/pack_vocoder, stage 5's scores in the
#      model card) and a ready-to-upload folder ${expdir}/upload with a README model card
#
# Every stage can be run alone (--stage N --stop_stage N) and skips work that is complete;
# a re-run never deletes finished results. Training resumes from its checkpoint.

set -euo pipefail

log() {
    local fname=${BASH_SOURCE[1]##*/}
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname}:${BASH_LINENO[0]}:${FUNCNAME[1]}) $*"
}
SECONDS=0

# General configuration
stage=1              # Processes start from this stage.
stop_stage=8         # Processes stop after this stage.
skip_data_prep=false # Skip data preparation (stages 1-2).
skip_train=false     # Skip training (stages 3-4, the text-to-mel training of stage 6, stage 7's).
skip_eval=false      # Skip decoding and scoring (stages 5-6, stage 7's).
skip_packing=false   # Skip packing (stage 8).
ngpu=0               # GPUs per node for training (0: CPU).
num_nodes=1          # Nodes for training (more than 1 needs cmd_backend=slurm in cmd.sh).
nj=4                 # Parallel CPU jobs (audio formatting, statistics).
inference_nj=4       # Parallel decoding jobs per set.
gpu_inference=false  # Decode on GPUs: one GPU per decoding job, through cuda_cmd (else decode_cmd, CPU).
dumpdir=dump         # Formatted audio and features.
expdir=exp           # Experiments.
python=python3       # Python with espnet2_spiking installed (path.sh activates it).

# Stage 1
local_data_opts=     # Options for local/data.sh.

# Stage 2
min_wav_duration=0.5 # Drop clips shorter than this (seconds).
max_wav_duration=20  # Drop clips longer than this (seconds).
audio_format=wav     # Container of the formatted copies (wav or flac); files already mono at fs
                     # in it (e.g. LibriTTS's) are listed where they are, not copied.
num_valid_utts=200   # Validate on this many utterances of the dev set, a fixed subset spread
                     # evenly over its sorted list (0: the whole dev set).

# Features (named as in egs2/TEMPLATE/tts1/tts.sh); empty: what the vocoder configs say.
# They update the configs' feats_extract / feats_extract_conf in every stage that uses them.
feats_extract=       # vocos_mel (the reference's) or fbank (ESPnet's LogMelFbank, as ESPnet TTS models).
fs=                  # Sampling rate (feats_extract_conf fs).
n_fft=               # FFT size.
n_shift=             # Hop size (feats_extract_conf hop_length).
win_length=          # Window length.
n_mels=              # Number of mel bins.
fmin=                # Lowest mel frequency.
fmax=                # Highest mel frequency.

# Stages 3-5: vocoders
teacher_config=      # Teacher (generator: vocos) training config; it also sets the features.
teacher_args=        # Extra training options, e.g. "--max_epoch 1" (override the config).
teacher_tag=         # Name of the teacher's directory ${expdir}/voc_<tag> (default: config name).
student_config=      # Student (generator: spiking_vocos) training config.
student_args=        # Extra student options, e.g. "--generator_conf time_steps=8".
student_tag=         # Name of the student's directory ${expdir}/voc_<tag>.
inference_model=valid.mel_loss.best.pth  # Checkpoint that decoding, distillation and stage 6 use.
inference_args=      # Extra options of espnet2_spiking.bin.gan_vocoder_inference.
inference_tag=       # Name of the decoding directories <exp>/<inference_tag>/<set>
                     # (default: inference[_<inference_args>]_<inference_model without .pth>).
evaluate_args=       # Extra options of espnet2_spiking.bin.evaluate.
benchmark_args=      # Extra options of espnet2_spiking.bin.benchmark.

# Stage 6: text to wav
tts_exp=             # An ESPnet TTS experiment (config.yaml + ${tts_model}) whose features
                     # (fbank or vocos_mel) equal the vocoder's; empty: train one here (tts_config).
tts_model=valid.loss.best.pth  # Checkpoint of the text-to-mel model.
tts_config=          # Text-to-mel training config (when tts_exp is empty).
tts_args=            # Extra text-to-mel training options.
tts_tag=             # Name of ${expdir}/tts_<tag> (default: config name).
token_type=char      # Text tokens of the text-to-mel model trained here.
cleaner=tacotron     # Text cleaner of the text-to-mel model trained here.
tts_inference_args=  # Extra options of espnet2_spiking.bin.tts_inference.

# Stage 7: fine-tuning on teacher-forced mels
finetune=false       # Run stage 7 (it needs stage 6's text-to-mel model).
finetune_args=       # Extra training options of the fine-tuning, e.g. "--max_epoch 10".

# Stage 8: packing
hf_repo=             # Hugging Face repository named in the upload command (e.g. user/spiking_vocos_libritts).

# Data sets, named by local/data.sh
train_set=           # Training set.
dev_set=             # Validation set.
test_sets=           # Test sets (several allowed).

help_message=$(cat << EOF
Usage: $0 --train_set <set> --dev_set <set> --test_sets "<sets>" --teacher_config <yaml> --student_config <yaml> [options]

Options (default in brackets):
    --stage, --stop_stage    Stages to run, 1-8 [${stage}, ${stop_stage}].
    --skip_data_prep, --skip_train, --skip_eval, --skip_packing
                             Skip stages 1-2, training, decoding and scoring, stage 8
                             [${skip_data_prep}, ${skip_train}, ${skip_eval}, ${skip_packing}].
    --ngpu                   GPUs per node for training [${ngpu}].
    --num_nodes              Nodes for training [${num_nodes}]; needs slurm in cmd.sh.
    --nj                     Parallel CPU jobs [${nj}].
    --inference_nj           Parallel decoding jobs per set [${inference_nj}].
    --gpu_inference          One GPU per decoding job (cuda_cmd) [${gpu_inference}].
    --dumpdir, --expdir      Output directories [${dumpdir}, ${expdir}].
    --local_data_opts        Options for local/data.sh [${local_data_opts}].
    --min_wav_duration       Drop shorter clips, seconds [${min_wav_duration}].
    --max_wav_duration       Drop longer clips, seconds [${max_wav_duration}].
    --audio_format           Container of formatted copies, wav or flac [${audio_format}].
    --num_valid_utts         Validation utterances of the dev set (0: all) [${num_valid_utts}].
    --feats_extract          Features: vocos_mel or fbank (ESPnet's) [from the configs].
    --fs, --n_fft, --n_shift, --win_length, --n_mels, --fmin, --fmax
                             Feature settings, e.g. ESPnet's LJSpeech: --feats_extract fbank --fs 22050
                             --n_fft 1024 --n_shift 256 --n_mels 80 --fmin 80 --fmax 7600 [from the configs].
    --teacher_config, --teacher_args, --teacher_tag   Teacher training (stage 3).
    --student_config, --student_args, --student_tag   Student training (stage 4).
    --inference_model        Checkpoint to decode with [${inference_model}].
    --inference_args, --evaluate_args, --benchmark_args   Extra options of stage 5's tools.
    --inference_tag          Name of the decoding directories [inference_<model>].
    --tts_exp                Existing text-to-mel experiment for stage 6 [trained when empty].
    --tts_model              Its checkpoint [${tts_model}].
    --tts_config, --tts_args, --tts_tag   Text-to-mel training (stage 6, no --tts_exp).
    --token_type, --cleaner  Its text processing [${token_type}, ${cleaner}].
    --tts_inference_args     Extra options of text-to-wav decoding.
    --finetune, --finetune_args   Stage 7: fine-tune on teacher-forced mels [${finetune}].
    --hf_repo                Repository named in stage 8's upload command.
    --train_set, --dev_set, --test_sets   Data sets made by local/data.sh.
EOF
)

log "$0 $*"
. utils/parse_options.sh
if [ $# -ne 0 ]; then
    log "${help_message}"
    log "Error: no positional arguments are expected: $*"
    exit 2
fi

. ./path.sh
. ./cmd.sh

for name in train_set dev_set test_sets teacher_config student_config; do
    if [ -z "${!name}" ]; then
        log "${help_message}"
        log "Error: --${name} is required"
        exit 2
    fi
done

for name in stage stop_stage; do
    if ! [[ "${!name}" =~ ^[1-8]$ ]]; then
        log "Error: --${name} ${!name}: the stages are 1-8 (stage 1 prepares the data; run it first)"
        exit 2
    fi
done
for name in skip_data_prep skip_train skip_eval skip_packing gpu_inference finetune; do
    if [ "${!name}" != true ] && [ "${!name}" != false ]; then
        log "Error: --${name} ${!name}: give true or false"
        exit 2
    fi
done
if ! [[ "${num_valid_utts}" =~ ^[0-9]+$ ]]; then
    log "Error: --num_valid_utts ${num_valid_utts}: give a number of utterances (0: the whole dev set)"
    exit 2
fi
if [ "${stage}" -gt "${stop_stage}" ]; then
    log "Error: --stage ${stage} is after --stop_stage ${stop_stage}: nothing would run"
    exit 2
fi

data_feats=${dumpdir}/raw
feats_opts=()  # the feature options above, as options of the Python tools,
feats_tag=     # and in experiment names (e.g. _fbank_fs22050_n_shift256)
if [ -n "${feats_extract}" ]; then
    feats_opts+=(--feats_extract "${feats_extract}")
    feats_tag+="_${feats_extract}"
fi
for name in fs n_fft n_shift win_length n_mels fmin fmax; do
    [ -z "${!name}" ] && continue
    feats_opts+=(--feats_extract_conf "${name/n_shift/hop_length}=${!name}")
    feats_tag+="_${name}${!name}"
done
tag_of() {  # <config> <args>: ESPnet's experiment naming: config name + overridden options
    local tag
    tag=$(basename "$1" .yaml)
    [ -n "$2" ] && tag+=$(echo "$2" | sed -e "s/--/_/g" -e "s/[ |=/]//g")
    echo "${tag}"
}
[ -z "${teacher_tag}" ] && teacher_tag=$(tag_of "${teacher_config}" "${teacher_args}")${feats_tag}
[ -z "${student_tag}" ] && student_tag=$(tag_of "${student_config}" "${student_args}")${feats_tag}
teacher_exp=${expdir}/voc_${teacher_tag}
student_exp=${expdir}/voc_${student_tag}
vocoder_stats_dir=${expdir}/voc_stats_${train_set}
model_name=${inference_model%.pth}
model_name=${model_name//\//_}
if [ -z "${inference_tag}" ]; then  # ESPnet's: inference[_<args>]_<model>
    inference_tag=$(tag_of inference "${inference_args}")_${model_name}
fi
# Validation reads a fixed subset of the dev set (stage 2 writes it)
if [ "${num_valid_utts}" -gt 0 ]; then
    valid_dir=${data_feats}/${dev_set}_valid${num_valid_utts}
else
    valid_dir=${data_feats}/${dev_set}
fi
# ESPnet's decoding convention: --gpu_inference true runs each job on one GPU through cuda_cmd;
# otherwise on the CPU through decode_cmd, whatever --ngpu (which is for training)
if "${gpu_inference}"; then
    inference_cmd=${cuda_cmd}
    inference_ngpu=1
else
    inference_cmd=${decode_cmd}
    inference_ngpu=0
fi

current_stage=0
runs() {  # <stage> [<skip flag>]: whether the stage is in --stage..--stop_stage and not skipped
    [ "${stage}" -le "$1" ] && [ "${stop_stage}" -ge "$1" ] && { [ -z "${2:-}" ] || ! "$2"; }
}

require() {  # <stage> <path>...: stop, naming the stage to run first, unless every path exists
    local first=$1 path
    shift
    for path in "$@"; do
        if [ ! -e "${path}" ]; then
            log "Error: stage ${current_stage} needs ${path}, which does not exist: run stage ${first} first" \
                "(--stage ${first})"
            exit 1
        fi
    done
}

run_step() {  # <description> <log> <command...>: run a step; on failure name it and its log
    local description=$1 logfile=$2
    shift 2
    log "${description} (log: ${logfile})"
    if ! "$@"; then
        log "Error: stage ${current_stage} failed at: ${description}. Read ${logfile}"
        exit 1
    fi
}

mel_conf() {  # [<key>]: the features of teacher and student ("{feats_extract: vocos_mel, feats_extract_conf:
    # {fs: 24000, ...}}"), or one key of them; fails if they differ (the last line: importing ESPnet prints to stdout)
    ${python} -m espnet2_spiking.bin.extract_mel --config "${teacher_config}" \
        --config "${student_config}" "${feats_opts[@]}" --print_conf ${1:+"$1"} | tail -n 1
}

split_scp() {  # <scp> <n> <prefix>: round-robin split into <prefix>.1.scp ... <prefix>.<n>.scp
    awk -v n="$2" -v p="$3" '{ print > (p "." ((NR - 1) % n + 1) ".scp") }' "$1"
}

collect_stats() {  # <stats_dir> <train_inputs> <valid_inputs> <command...>: ESPnet's collect_stats in jobs
    # <train_inputs>, <valid_inputs>: "path,name,type ..."; the first path is the key file.
    local stats_dir=$1 train_inputs=$2 valid_inputs=$3
    shift 3
    local logdir=${stats_dir}/logdir opts=() n=${nj} lines i
    mkdir -p "${logdir}"
    for inputs in "${train_inputs}" "${valid_inputs}"; do
        lines=$(wc -l < "${inputs%%,*}")
        n=$((n < lines ? n : lines))
    done
    rm -f "${logdir}"/train.*.scp "${logdir}"/valid.*.scp
    split_scp "${train_inputs%%,*}" "${n}" "${logdir}/train"
    split_scp "${valid_inputs%%,*}" "${n}" "${logdir}/valid"
    for input in ${train_inputs}; do opts+=(--train_data_path_and_name_and_type "${input}"); done
    for input in ${valid_inputs}; do opts+=(--valid_data_path_and_name_and_type "${input}"); done
    # Job i reads the i-th split lists (as its shape files) and writes ${logdir}/stats.i
    run_step "collect statistics into ${stats_dir} (${n} jobs)" "${logdir}/stats.*.log" \
        ${train_cmd} JOB=1:"${n}" "${logdir}/stats.JOB.log" \
        "$@" --collect_stats true --ngpu 0 "${opts[@]}" \
            --train_shape_file "${logdir}/train.JOB.scp" \
            --valid_shape_file "${logdir}/valid.JOB.scp" \
            --output_dir "${logdir}/stats.JOB"
    opts=()
    for i in $(seq "${n}"); do opts+=(--input_dir "${logdir}/stats.${i}"); done
    run_step "aggregate statistics" "${logdir}/aggregate.log" \
        ${train_cmd} "${logdir}/aggregate.log" \
        ${python} -m espnet2.bin.aggregate_stats_dirs "${opts[@]}" --output_dir "${stats_dir}"
}

run_parallel() {  # <function> <arg>...: the function once per argument, side by side; fail if one failed
    local fn=$1 pids=() failed=0 pid arg
    shift
    for arg in "$@"; do
        "${fn}" "${arg}" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "${pid}" || failed=1; done
    if [ "${failed}" -ne 0 ]; then
        log "Error: stage ${current_stage} failed (the step and its log are named above)"
        exit 1
    fi
}

format_set() {  # <set>: data/<set> formatted into ${data_feats}/<set>
    local dset=$1
    local logdir=${data_feats}/${dset}/logs
    mkdir -p "${logdir}"
    run_step "format data/${dset} at ${fs} Hz into ${data_feats}/${dset}" "${logdir}/format_wav_scp.log" \
        ${train_cmd} --num_threads "${nj}" "${logdir}/format_wav_scp.log" \
        ${python} -m espnet2_spiking.bin.format_wav_scp --fs "${fs}" --nj "${nj}" \
            --min_duration "${min_wav_duration}" --max_duration "${max_wav_duration}" \
            --audio_format "${audio_format}" --in_dir "data/${dset}" --out_dir "${data_feats}/${dset}"
    grep -h "dropped" "${logdir}/format_wav_scp.log" || true
}

extract_feats() {  # <set>: the log-mel features of ${data_feats}/<set> (a test set, decoded in stage 5)
    local dset=$1
    local logdir=${data_feats}/${dset}/logs
    run_step "log-mel features of ${data_feats}/${dset}" "${logdir}/extract_mel.log" \
        ${train_cmd} "${logdir}/extract_mel.log" \
        ${python} -m espnet2_spiking.bin.extract_mel \
            --config "${teacher_config}" --config "${student_config}" "${feats_opts[@]}" \
            --wav_scp "${data_feats}/${dset}/wav.scp" --out_dir "${data_feats}/${dset}"
}

make_valid_subset() {  # ${valid_dir}: ${num_valid_utts} utterances of the dev set, evenly spread
    local src=${data_feats}/${dev_set} n total f
    total=$(wc -l < "${src}/wav.scp")
    n=$((num_valid_utts < total ? num_valid_utts : total))
    mkdir -p "${valid_dir}"
    # utterance i of the n is line floor(i * total / n) + 1 of the sorted list
    awk -v n="${n}" -v total="${total}" 'BEGIN { for (i = 0; i < n; i++) pick[int(i * total / n) + 1] = 1 }
        pick[NR]' "${src}/wav.scp" > "${valid_dir}/wav.scp.tmp"
    for f in utt2num_samples text utt2spk; do
        [ -f "${src}/${f}" ] && awk 'NR == FNR { keep[$1] = 1; next } $1 in keep' \
            "${valid_dir}/wav.scp.tmp" "${src}/${f}" > "${valid_dir}/${f}"
    done
    mv "${valid_dir}/wav.scp.tmp" "${valid_dir}/wav.scp"
    log "Validation set ${valid_dir}: ${n} of the ${total} utterances of ${src}"
}

same_length() {  # <file> <file>: whether both exist with as many lines (one per utterance)
    [ -f "$1" ] && [ -f "$2" ] && [ "$(wc -l < "$1")" -eq "$(wc -l < "$2")" ]
}

merge_outputs() {  # <dir> <n>: the outputs of jobs <dir>/logdir/output.{1..n} in ESPnet's decode layout
    # <dir>/wav/*.wav with <dir>/wav/wav.scp; <dir>/{norm,denorm}/feats.scp (text-to-mel models)
    local dir=$1 n=$2 i sub
    mkdir -p "${dir}/wav"
    for i in $(seq "${n}"); do
        if [ -d "${dir}/logdir/output.${i}/wav" ]; then
            find "${dir}/logdir/output.${i}/wav" -maxdepth 1 -name "*.wav" -exec mv -t "${dir}/wav/" {} +
        fi
    done
    find "${dir}/wav" -maxdepth 1 -name "*.wav" | awk '{ n = split($0, p, "/"); sub(/\.wav$/, "", p[n]); print p[n], $0 }' \
        | LC_ALL=C sort -k1,1 > "${dir}/wav/wav.scp"
    for sub in norm denorm; do
        if [ -s "${dir}/logdir/output.1/${sub}/feats.scp" ]; then
            mkdir -p "${dir}/${sub}"
            for i in $(seq "${n}"); do cat "${dir}/logdir/output.${i}/${sub}/feats.scp"; done \
                | LC_ALL=C sort -k1,1 > "${dir}/${sub}/feats.scp"
        fi
    done
}

decode_jobs() {  # <description> <keys> <dir> <command...>: a decoding in ${inference_nj} jobs
    # Each job decodes its share of <keys> (--key_file) into <dir>/logdir/output.JOB; the
    # outputs are merged (merge_outputs). --gpu_inference true: one GPU per job.
    local description=$1 keys=$2 dir=$3 n
    shift 3
    if [ -f "${dir}/.done" ]; then
        log "${dir} is complete, skipping its decoding"
        return
    fi
    n=$(wc -l < "${keys}")
    n=$((inference_nj < n ? inference_nj : n))
    mkdir -p "${dir}/logdir"
    rm -f "${dir}/logdir"/keys.*.scp
    split_scp "${keys}" "${n}" "${dir}/logdir/keys"
    # shellcheck disable=SC2086
    run_step "${description} (${n} jobs)" "${dir}/logdir/inference.*.log" \
        ${inference_cmd} --gpu "${inference_ngpu}" JOB=1:"${n}" "${dir}/logdir/inference.JOB.log" \
        "$@" --ngpu "${inference_ngpu}" \
            --key_file "${dir}/logdir/keys.JOB.scp" --output_dir "${dir}/logdir/output.JOB"
    merge_outputs "${dir}" "${n}"
    touch "${dir}/.done"
}

decode_exp() {  # <exp>: decode the test sets' log-mels with <exp>'s vocoder
    local exp=$1 dset
    for dset in ${test_sets}; do
        # shellcheck disable=SC2086
        decode_jobs "decode ${data_feats}/${dset}/feats.scp with ${exp}/${inference_model}" \
            "${data_feats}/${dset}/feats.scp" "${exp}/${inference_tag}/${dset}" \
            ${python} -m espnet2_spiking.bin.gan_vocoder_inference \
                --model_file "${exp}/${inference_model}" \
                --train_config "${exp}/config.yaml" \
                --data_path_and_name_and_type "${data_feats}/${dset}/feats.scp,feats,kaldi_ark" \
                ${inference_args}
    done
}

evaluate_exp() {  # <exp>: score <exp>'s decodings against the test sets' audio
    local exp=$1 dset dir
    for dset in ${test_sets}; do
        dir=${exp}/${inference_tag}/${dset}
        if [ -f "${dir}/eval/metrics.json" ]; then
            log "${dir}/eval/metrics.json exists, skipping its evaluation"
        else
            # shellcheck disable=SC2086
            run_step "evaluate ${dir}/wav/wav.scp against ${data_feats}/${dset}/wav.scp" \
                "${dir}/logdir/evaluate.log" \
                ${inference_cmd} --gpu "${inference_ngpu}" "${dir}/logdir/evaluate.log" \
                ${python} -m espnet2_spiking.bin.evaluate --ngpu "${inference_ngpu}" \
                    --ref_scp "${data_feats}/${dset}/wav.scp" --gen_scp "${dir}/wav/wav.scp" \
                    --out_dir "${dir}/eval" ${evaluate_args}
        fi
    done
}

dnsmos() {  # <wav.scp> <out_dir>: DNSMOS of generated (or recorded) audio, no reference needed
    local wav_scp=$1 out_dir=$2
    if [ -f "${out_dir}/dnsmos.json" ]; then
        log "${out_dir}/dnsmos.json exists, skipping its DNSMOS"
        return
    fi
    mkdir -p "${out_dir}"
    run_step "DNSMOS of ${wav_scp}" "${out_dir}/dnsmos.log" \
        ${decode_cmd} "${out_dir}/dnsmos.log" \
        ${python} -m espnet2_spiking.bin.dnsmos --wav_scp "${wav_scp}" --out_dir "${out_dir}"
}

write_results() {  # ${expdir}/RESULTS.md from every benchmark report and DNSMOS summary there is
    local opts=() report dset json system
    for report in "${student_exp}"/benchmark_*_"${model_name}"/report.md; do
        if [ -f "${report}" ]; then opts+=("${report}"); fi
    done
    for dset in ${test_sets}; do
        json=${expdir}/dnsmos_recordings/${dset}/dnsmos.json
        if [ -f "${json}" ]; then opts+=(--dnsmos "${dset}" recordings "${json}"); fi
        for json in "${expdir}"/voc_*/joint_*/"${inference_tag}/${dset}/dnsmos/dnsmos.json"; do
            [ -f "${json}" ] || continue
            system=${json#"${expdir}"/}  # <vocoder exp>/<joint exp>
            opts+=(--dnsmos "${dset}" "${system%%/"${inference_tag}"/*}" "${json}")
        done
    done
    run_step "results ${expdir}/RESULTS.md" "${expdir}/RESULTS.md" \
        ${python} pyscripts/utils/show_voc_result.py --out "${expdir}/RESULTS.md" "${opts[@]}"
    cat "${expdir}/RESULTS.md"
}

train() {  # <exp> <model> <description> <command...>: train through ESPnet's launcher, resuming
    # <model>: the checkpoint that must exist afterwards (e.g. valid.loss.best.pth)
    local exp=$1 model=$2 description=$3
    shift 3
    if [ -f "${exp}/.done" ]; then
        log "${description}: ${exp} is complete, skipping (remove ${exp}/.done to train on;" \
            "it resumes from ${exp}/checkpoint.pth)"
        return
    fi
    mkdir -p "${exp}"
    run_step "${description} in ${exp}" "${exp}/train.log" \
        ${python} -m espnet2.bin.launch \
            --cmd "${cuda_cmd} --name $(basename "${exp}")" \
            --log "${exp}/train.log" \
            --ngpu "${ngpu}" \
            --num_nodes "${num_nodes}" \
            --init_file_prefix "${exp}/.dist_init_" \
            --multiprocessing_distributed true -- \
            "$@" --resume true --output_dir "${exp}"
    if [ ! -e "${exp}/${model}" ]; then
        log "Error: stage ${current_stage}: ${exp}/${model} was not written. Read ${exp}/train.log"
        exit 1
    fi
    touch "${exp}/.done"
}

# With --ngpu > 1 (DistributedDataParallel) each GAN turn leaves the other network's
# parameters without gradients (and the discriminators rest in a mel-only phase): DDP must
# look for unused parameters. Without DDP the option does nothing.
vocoder_train() {  # <exp> <config> <description> [options...]: train a vocoder on stage 2's data
    local exp=$1 config=$2 description=$3
    shift 3
    # shellcheck disable=SC2086
    train "${exp}" "${inference_model}" "${description}" \
        ${python} -m espnet2_spiking.bin.gan_vocoder_train \
            --config "${config}" --unused_parameters true \
            --train_data_path_and_name_and_type "${data_feats}/${train_set}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${valid_dir}/wav.scp,speech,sound" \
            --train_shape_file "${vocoder_stats_dir}/train/speech_shape" \
            --valid_shape_file "${vocoder_stats_dir}/valid/speech_shape" \
            "${feats_opts[@]}" "$@"
}

train_text2mel() {  # <train_dir> <dev_dir>: token list, statistics and training of ${tts_exp}
    local train_dir=$1 dev_dir=$2 mode
    local stats_dir=${expdir}/tts_stats_${train_set}_${token_type}
    local token_list=data/${train_set}_token_list/${token_type}/tokens.txt
    require 2 "${train_dir}/text" "${dev_dir}/wav.scp"
    local kind conf
    if ! kind=$(mel_conf feats_extract) || ! conf=$(mel_conf feats_extract_conf); then
        log "Error: stage ${current_stage} failed at: the features of ${teacher_config} and ${student_config} (see above)"
        exit 1
    fi
    # The text-to-mel model computes from the audio the vocoders' features.
    local tts_opts=(--feats_extract "${kind}" --feats_extract_conf "${conf}"
                    --token_type "${token_type}" --token_list "${token_list}"
                    --cleaner "${cleaner}" --use_preprocessor true)
    if [ -f "${token_list}" ]; then
        log "${token_list} exists, skipping the token list"
    else
        mkdir -p "$(dirname "${token_list}")"
        run_step "token list ${token_list} from ${train_dir}/text" "${token_list%.txt}.log" \
            ${train_cmd} "${token_list%.txt}.log" \
            ${python} -m espnet2.bin.tokenize_text --token_type "${token_type}" \
                --cleaner "${cleaner}" -f 2- --input "${train_dir}/text" \
                --output "${token_list}" --write_vocabulary true \
                --add_symbol "<blank>:0" --add_symbol "<unk>:1" --add_symbol "<sos/eos>:-1"
    fi
    if [ -f "${stats_dir}/valid/text_shape.${token_type}" ] \
        && same_length "${stats_dir}/valid/text_shape" "${dev_dir}/text"; then
        log "${stats_dir} is complete, skipping the text-to-mel statistics"
    else
        # shellcheck disable=SC2086
        collect_stats "${stats_dir}" \
            "${train_dir}/text,text,text ${train_dir}/wav.scp,speech,sound" \
            "${dev_dir}/text,text,text ${dev_dir}/wav.scp,speech,sound" \
            ${python} -m espnet2_spiking.bin.tts_train --config "${tts_config}" \
                "${tts_opts[@]}" --normalize none ${tts_args}
        # ESPnet's text shapes carry the vocabulary size, for batch_type numel
        for mode in train valid; do
            awk -v N="$(wc -l < "${token_list}")" '{ print $0 "," N }' \
                "${stats_dir}/${mode}/text_shape" > "${stats_dir}/${mode}/text_shape.${token_type}"
        done
    fi
    # shellcheck disable=SC2086
    train "${tts_exp}" "${tts_model}" "text-to-mel training" \
        ${python} -m espnet2_spiking.bin.tts_train --config "${tts_config}" "${tts_opts[@]}" \
            --normalize global_mvn \
            --normalize_conf stats_file="${stats_dir}/train/feats_stats.npz" \
            --train_data_path_and_name_and_type "${train_dir}/text,text,text" \
            --train_data_path_and_name_and_type "${train_dir}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${dev_dir}/text,text,text" \
            --valid_data_path_and_name_and_type "${dev_dir}/wav.scp,speech,sound" \
            --train_shape_file "${stats_dir}/train/text_shape.${token_type}" \
            --train_shape_file "${stats_dir}/train/speech_shape" \
            --valid_shape_file "${stats_dir}/valid/text_shape.${token_type}" \
            --valid_shape_file "${stats_dir}/valid/speech_shape" \
            ${tts_args}
}

resolve_tts_exp() {  # ${tts_exp}: --tts_exp, or the one trained here (trained now unless --skip_train)
    if [ -n "${tts_exp}" ]; then
        :
    elif [ -z "${tts_config}" ]; then
        log "Error: stage ${current_stage} needs --tts_exp (an existing text-to-mel experiment) or --tts_config"
        exit 2
    else
        [ -z "${tts_tag}" ] && tts_tag=$(tag_of "${tts_config}" "${tts_args}")
        tts_exp=${expdir}/tts_${tts_tag}
        if ! "${skip_train}"; then
            train_text2mel "${data_feats}/${train_set}" "${valid_dir}"
        fi
    fi
    if [ ! -e "${tts_exp}/${tts_model}" ]; then
        log "Error: the text-to-mel model ${tts_exp}/${tts_model} does not exist (--tts_exp, --tts_model;" \
            "--skip_train true does not train it)"
        exit 1
    fi
}

text_to_wav() {  # <vocoder_exp>: ${tts_exp} + the vocoder as one joint_text2wav model, which
    # decodes the test sets' text in ${inference_nj} jobs, scored with DNSMOS
    local vocoder_exp=$1 joint_exp dset dir
    joint_exp=${vocoder_exp}/joint_$(basename "${tts_exp}")
    if [ -f "${joint_exp}/model.pth" ]; then
        log "${joint_exp}/model.pth exists, skipping the joint model"
    else
        mkdir -p "${joint_exp}"
        run_step "joint_text2wav ${tts_exp} + ${vocoder_exp} -> ${joint_exp}" "${joint_exp}/make_joint.log" \
            ${train_cmd} "${joint_exp}/make_joint.log" \
            ${python} -m espnet2_spiking.bin.make_joint_text2wav \
                --tts_train_config "${tts_exp}/config.yaml" --tts_model_file "${tts_exp}/${tts_model}" \
                --vocoder_train_config "${vocoder_exp}/config.yaml" \
                --vocoder_model_file "${vocoder_exp}/${inference_model}" \
                --output_dir "${joint_exp}"
    fi
    for dset in ${test_sets}; do
        dir=${joint_exp}/${inference_tag}/${dset}
        # shellcheck disable=SC2086
        decode_jobs "text to wav: ${data_feats}/${dset}/text -> ${dir}/wav" "${data_feats}/${dset}/text" "${dir}" \
            ${python} -m espnet2_spiking.bin.tts_inference \
                --train_config "${joint_exp}/config.yaml" --model_file "${joint_exp}/model.pth" \
                --data_path_and_name_and_type "${data_feats}/${dset}/text,text,text" \
                ${tts_inference_args}
        dnsmos "${dir}/wav/wav.scp" "${dir}/dnsmos"
    done
}

teacher_forcing() {  # <dir> <data_dir>: ${tts_exp}'s teacher-forced mels of <data_dir> (frame-aligned
    # to its audio) into <dir>/denorm/feats.scp
    local dir=$1 data_dir=$2
    # shellcheck disable=SC2086
    decode_jobs "teacher-forced mels of ${data_dir} with ${tts_exp}/${tts_model}" "${data_dir}/text" "${dir}" \
        ${python} -m espnet2_spiking.bin.tts_inference \
            --train_config "${tts_exp}/config.yaml" --model_file "${tts_exp}/${tts_model}" \
            --data_path_and_name_and_type "${data_dir}/text,text,text" \
            --data_path_and_name_and_type "${data_dir}/wav.scp,speech,sound" \
            --use_teacher_forcing true --vocoder_file "${teacher_exp}/${inference_model}"
    require 7 "${dir}/denorm/feats.scp"
    # Only the de-normalised mels are read. tts_inference also vocodes them (with the teacher:
    # it always builds a vocoder, Griffin-Lim by default) and writes normalised mels, which
    # would take as much disk as the audio and the mels again: removed.
    rm -rf "${dir}/wav" "${dir}/norm" "${dir}"/logdir/output.*/wav "${dir}"/logdir/output.*/norm
}

finetune_exp() {  # <exp> <config> <description> <tf_dir> [options...]: <exp> fine-tuned into
    # <exp>_ft_<tts>: from <exp>'s weights, on (teacher-forced mels of <tf_dir>, speech) pairs
    local exp=$1 config=$2 description=$3 tf_dir=$4
    shift 4
    # shellcheck disable=SC2086
    train "${exp}_ft_$(basename "${tts_exp}")" "${inference_model}" "${description}" \
        ${python} -m espnet2_spiking.bin.gan_vocoder_train \
            --config "${config}" --unused_parameters true \
            --init_param "${exp}/${inference_model}" \
            --model_conf random_gain_db=null \
            --train_data_path_and_name_and_type "${data_feats}/${train_set}/wav.scp,speech,sound" \
            --train_data_path_and_name_and_type "${tf_dir}/${train_set}/denorm/feats.scp,feats,npy" \
            --valid_data_path_and_name_and_type "${valid_dir}/wav.scp,speech,sound" \
            --valid_data_path_and_name_and_type "${tf_dir}/$(basename "${valid_dir}")/denorm/feats.scp,feats,npy" \
            --train_shape_file "${vocoder_stats_dir}/train/speech_shape" \
            --valid_shape_file "${vocoder_stats_dir}/valid/speech_shape" \
            "$@" ${finetune_args}
}

pack() {  # <exp>: <exp>/packed/<name>.tar.gz, with the copy-synthesis scores of the first test set
    local exp=$1 name metrics opts=()
    name=$(basename "${exp}")
    if [ "${exp}/packed/${name}.tar.gz" -nt "${exp}/${inference_model}" ]; then
        log "${exp}/packed/${name}.tar.gz is newer than ${exp}/${inference_model}, skipping its packing"
        return
    fi
    metrics=${exp}/${inference_tag}/${test_sets%% *}/eval/metrics.json
    if [ -f "${metrics}" ]; then opts=(--metrics "${metrics}"); fi
    run_step "pack ${exp}/${inference_model} -> ${exp}/packed/${name}.tar.gz" "${exp}/packed/pack.log" \
        ${train_cmd} "${exp}/packed/pack.log" \
        ${python} -m espnet2_spiking.bin.pack_vocoder --model_file "${exp}/${inference_model}" \
            "${opts[@]}" --out "${exp}/packed/${name}.tar.gz"
}

if runs 1 "${skip_data_prep}"; then
    current_stage=1
    log "Stage 1: Data preparation: data/${train_set}, data/${dev_set}, ${test_sets// /, }"
    # shellcheck disable=SC2086
    if ! local/data.sh ${local_data_opts}; then
        log "Error: stage 1 failed at: local/data.sh ${local_data_opts} (its messages are above)"
        exit 1
    fi
fi

if runs 2 "${skip_data_prep}"; then
    current_stage=2
    log "Stage 2: Formatting: data/ -> ${data_feats}/ (audio; log-mel features of the test sets), statistics -> ${vocoder_stats_dir}"
    # --- hostile input: a set name with a space (--test_sets splits it into two names) ---
    for dset in "${train_set}" "${dev_set}" ${test_sets}; do
        for spaced in data/*[[:space:]]*; do
            if [ ! -e "data/${dset}/wav.scp" ] && [ -d "${spaced}" ]; then
                log "Error: stage 2 needs data/${dset}/wav.scp; '${spaced}' has a space in its name, but set" \
                    "names cannot hold spaces (--test_sets is split at them): rename it, e.g." \
                    "mv '${spaced}' '${spaced//[[:space:]]/_}', and pass that name"
                exit 1
            fi
        done
    done
    # --- the formatting settings (fs, --min_wav_duration, --max_wav_duration) are recorded in
    # ${data_feats}/<set>/format.yaml by format_wav_scp, which refuses to reuse a set formatted
    # with other ones (remove ${data_feats}/<set> to format it again) ---
    for dset in "${train_set}" "${dev_set}" ${test_sets}; do require 1 "data/${dset}/wav.scp"; done
    if ! mel=$(mel_conf); then
        log "Error: stage 2 failed at: the features of ${teacher_config} and ${student_config} (see above)"
        exit 1
    fi
    if [[ ! ${mel} =~ [{\ ]fs:\ ([0-9]+)[,}] ]]; then
        log "Error: stage 2: no sampling rate fs in the features ${mel}"
        exit 1
    fi
    fs=${BASH_REMATCH[1]}
    log "Features: ${mel}"
    # The sets are formatted side by side, each with --nj processes.
    run_parallel format_set "${train_set}" "${dev_set}" ${test_sets}
    # shellcheck disable=SC2086
    run_parallel extract_feats ${test_sets}
    if [ "${num_valid_utts}" -gt 0 ]; then
        make_valid_subset
    fi
    if same_length "${vocoder_stats_dir}/train/speech_shape" "${data_feats}/${train_set}/wav.scp" \
        && same_length "${vocoder_stats_dir}/valid/speech_shape" "${valid_dir}/wav.scp"; then
        log "${vocoder_stats_dir} is complete, skipping the statistics"
    else
        # shellcheck disable=SC2086
        collect_stats "${vocoder_stats_dir}" \
            "${data_feats}/${train_set}/wav.scp,speech,sound" \
            "${valid_dir}/wav.scp,speech,sound" \
            ${python} -m espnet2_spiking.bin.gan_vocoder_train --config "${teacher_config}" \
                "${feats_opts[@]}" ${teacher_args}
    fi
fi

if runs 3 "${skip_train}"; then
    current_stage=3
    log "Stage 3: Teacher training: ${teacher_config} -> ${teacher_exp}"
    require 2 "${data_feats}/${train_set}/wav.scp" "${valid_dir}/wav.scp" \
        "${vocoder_stats_dir}/train/speech_shape" "${vocoder_stats_dir}/valid/speech_shape"
    # shellcheck disable=SC2086
    vocoder_train "${teacher_exp}" "${teacher_config}" "teacher training" ${teacher_args}
fi

if runs 4 "${skip_train}"; then
    current_stage=4
    log "Stage 4: Student training: ${student_config} -> ${student_exp} (teacher: ${teacher_exp}/${inference_model})"
    require 2 "${data_feats}/${train_set}/wav.scp" "${valid_dir}/wav.scp" \
        "${vocoder_stats_dir}/train/speech_shape" "${vocoder_stats_dir}/valid/speech_shape"
    require 3 "${teacher_exp}/${inference_model}"
    # shellcheck disable=SC2086
    vocoder_train "${student_exp}" "${student_config}" "student training" \
        --teacher_model_file "${teacher_exp}/${inference_model}" ${student_args}
fi

if runs 5 "${skip_eval}"; then
    current_stage=5
    log "Stage 5: Copy synthesis of ${test_sets// /, } with ${teacher_exp} and ${student_exp}, and benchmarks"
    for dset in ${test_sets}; do require 2 "${data_feats}/${dset}/wav.scp" "${data_feats}/${dset}/feats.scp"; done
    require 3 "${teacher_exp}/${inference_model}"
    require 4 "${student_exp}/${inference_model}"
    run_parallel decode_exp "${teacher_exp}" "${student_exp}"
    # one after the other: the student's evaluation reuses the reference pitch tracks
    # (CREPE, cached by content) that the teacher's computed
    evaluate_exp "${teacher_exp}"
    evaluate_exp "${student_exp}"
    for dset in ${test_sets}; do
        dir=${student_exp}/benchmark_${dset}_${model_name}
        if [ -f "${dir}/report.md" ]; then
            log "${dir}/report.md exists, skipping the benchmark"
        else
            # shellcheck disable=SC2086
            run_step "benchmark ${student_exp} against ${teacher_exp} on ${dset}" \
                "${dir}/logdir/benchmark.log" \
                ${inference_cmd} --gpu "${inference_ngpu}" "${dir}/logdir/benchmark.log" \
                ${python} -m espnet2_spiking.bin.benchmark \
                    --model_file "${student_exp}/${inference_model}" \
                    --teacher_model_file "${teacher_exp}/${inference_model}" \
                    --quality "teacher=${teacher_exp}/${inference_tag}/${dset}/eval/metrics.json" \
                    --quality "student=${student_exp}/${inference_tag}/${dset}/eval/metrics.json" \
                    --title "${dset}: $(basename "${student_exp}") (student) vs $(basename "${teacher_exp}") (teacher)" \
                    --data "${data_feats}/${dset}/wav.scp" --ngpu "${inference_ngpu}" \
                    --out_dir "${dir}" ${benchmark_args}
        fi
    done
    write_results
fi

if runs 6 "${skip_eval}"; then
    current_stage=6
    log "Stage 6: Joint text-to-wav: text -> text-to-mel -> ${teacher_exp} and ${student_exp}, DNSMOS"
    for dset in ${test_sets}; do require 2 "${data_feats}/${dset}/text"; done
    require 3 "${teacher_exp}/${inference_model}"
    require 4 "${student_exp}/${inference_model}"
    resolve_tts_exp
    for dset in ${test_sets}; do
        dnsmos "${data_feats}/${dset}/wav.scp" "${expdir}/dnsmos_recordings/${dset}"
    done
    text_to_wav "${teacher_exp}"
    text_to_wav "${student_exp}"
    write_results
fi

if runs 7 && "${finetune}"; then
    current_stage=7
    log "Stage 7: Fine-tuning ${teacher_exp} and ${student_exp} on teacher-forced mels of the text-to-mel model"
    require 2 "${data_feats}/${train_set}/text" "${valid_dir}/text" "${vocoder_stats_dir}/valid/speech_shape"
    require 4 "${teacher_exp}/${inference_model}" "${student_exp}/${inference_model}"
    resolve_tts_exp
    tts_name=${tts_model%.pth}
    tf_dir=${tts_exp}/teacher_forcing_${tts_name//\//_}
    if ! "${skip_train}"; then
        teacher_forcing "${tf_dir}/${train_set}" "${data_feats}/${train_set}"
        teacher_forcing "${tf_dir}/$(basename "${valid_dir}")" "${valid_dir}"
        # shellcheck disable=SC2086
        finetune_exp "${teacher_exp}" "${teacher_config}" "teacher fine-tuning" "${tf_dir}" ${teacher_args}
        # shellcheck disable=SC2086
        finetune_exp "${student_exp}" "${student_config}" "student fine-tuning" "${tf_dir}" \
            --teacher_model_file "${teacher_exp}/${inference_model}" ${student_args}
    fi
    if ! "${skip_eval}"; then
        for exp in "${teacher_exp}" "${student_exp}"; do
            require 7 "${exp}_ft_$(basename "${tts_exp}")/${inference_model}"
            text_to_wav "${exp}_ft_$(basename "${tts_exp}")"
        done
        write_results
    fi
fi

if runs 8 "${skip_packing}"; then
    current_stage=8
    upload_dir=${expdir}/upload
    log "Stage 8: Packing the vocoders into ${upload_dir}"
    exps=("${teacher_exp}" "${student_exp}")
    for exp in "${teacher_exp}"_ft_* "${student_exp}"_ft_*; do  # fine-tuned ones of stage 7
        if [ -e "${exp}/${inference_model}" ]; then exps+=("${exp}"); fi
    done
    mkdir -p "${upload_dir}"
    for exp in "${exps[@]}"; do
        require 4 "${exp}/${inference_model}"
        pack "${exp}"
        cp -p "${exp}/packed/$(basename "${exp}").tar.gz" "${upload_dir}/"
    done
    {
        echo "# Spiking Vocos vocoders: $(basename "${teacher_exp}") (teacher, ANN Vocos) and $(basename "${student_exp}") (student)"
        echo
        echo "Trained with the espnet2_spiking recipe \`$(basename "$(pwd)")\` on \`${train_set}\`; each archive"
        echo "holds config.yaml, model.pth (the generator), feats.yaml and its own README.md."
        echo
        echo '```python'
        echo 'from espnet2_spiking.vocoder import Vocoder'
        echo "vocoder = Vocoder.from_pretrained(\"$(basename "${student_exp}").tar.gz\")"
        echo 'wav = vocoder.decode(mel)  # mel (frames, n_mels) -> (frames * hop,)'
        echo '```'
        echo
        for exp in "${exps[@]}"; do
            echo "## $(basename "${exp}").tar.gz"
            echo
            tar -xzOf "${exp}/packed/$(basename "${exp}").tar.gz" README.md | sed -e 's/^#/###/'
            echo
        done
        if [ -f "${expdir}/RESULTS.md" ]; then  # its sections one level down, without its pictures
            echo "## Results"
            sed -e '/^# RESULTS/d' -e '/^!\[/d' -e 's/^##/###/' "${expdir}/RESULTS.md"
        fi
    } > "${upload_dir}/README.md"
    log "Ready to upload: ${upload_dir} (README.md and ${#exps[@]} archives). Upload it yourself, e.g."
    log "  huggingface-cli upload ${hf_repo:-<user>/<repo>} ${upload_dir} . --repo-type model"
fi

log "Successfully finished. [elapsed=${SECONDS}s]"
