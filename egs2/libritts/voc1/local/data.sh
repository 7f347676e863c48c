#!/usr/bin/env bash
# Stage 1: Kaldi-style data directories (wav.scp, text, utt2spk, spk2utt) for LibriTTS or
# for the offline mini corpus, which is built in LibriTTS's own layout so that both go
# through the same preparation (local/data_prep.py).
#
#   --corpus libritts: data/{train_clean_100,dev_clean,test_clean}; the subsets are
#                      downloaded from openslr (resource 60) unless already under
#                      ${LIBRITTS}/LibriTTS (db.sh). --train_set train_clean_460 adds 360.
#   --corpus mini:     data/mini_{train_clean_100,dev_clean,test_clean}, synthesized
#                      offline with Debian's festival, flite and espeak-ng voices.
set -euo pipefail

log() {
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*"
}

corpus=libritts             # libritts or mini
train_set=train_clean_100   # train_clean_100, train_clean_360 or train_clean_460
data_url=https://www.openslr.org/resources/60  # LibriTTS download address
mini_num_utts=240           # size of the mini corpus (utterances in all three sets)
nj=4                        # parallel synthesizer processes (mini)

help_message="Usage: $0 [--corpus libritts|mini] [--train_set train_clean_100|train_clean_360|train_clean_460]
    [--data_url ${data_url}] [--mini_num_utts ${mini_num_utts}] [--nj ${nj}]"

. utils/parse_options.sh
if [ $# -ne 0 ]; then
    echo "${help_message}" >&2
    exit 2
fi
. ./db.sh
. ./path.sh

case "${train_set}" in
    train_clean_100) train_subsets="train-clean-100" ;;
    train_clean_360) train_subsets="train-clean-360" ;;
    train_clean_460) train_subsets="train-clean-100 train-clean-360" ;;
    *) log "Error: --train_set ${train_set}: choose train_clean_100, train_clean_360 or train_clean_460"; exit 2 ;;
esac

case "${corpus}" in
    libritts) prefix= ;;
    mini)
        prefix=mini_
        if [ "${train_set}" != train_clean_100 ]; then
            log "Error: the mini corpus has only train-clean-100 (got --train_set ${train_set})"
            exit 2
        fi
        ;;
    *) log "Error: --corpus ${corpus}: choose libritts or mini"; exit 2 ;;
esac
sets="${prefix}${train_set} ${prefix}dev_clean ${prefix}test_clean"
complete=true
for name in ${sets}; do [ -f "data/${name}/spk2utt" ] || complete=false; done
if "${complete}"; then
    log "data/{${sets// /,}} exist, skipping (remove them to prepare them again)"
    exit 0
fi

case "${corpus}" in
    libritts)
        root="${LIBRITTS}/LibriTTS"
        mkdir -p "${LIBRITTS}"
        for part in ${train_subsets} dev-clean test-clean; do
            if [ -f "${root}/.${part}.complete" ]; then
                log "${root}/${part} is complete, skipping its download"
                continue
            fi
            log "Downloading ${data_url}/${part}.tar.gz into ${LIBRITTS}"
            if command -v wget > /dev/null; then
                wget --continue --progress=dot:giga -O "${LIBRITTS}/${part}.tar.gz" "${data_url}/${part}.tar.gz"
            else
                curl --fail --location --continue-at - -o "${LIBRITTS}/${part}.tar.gz" "${data_url}/${part}.tar.gz"
            fi
            log "Extracting ${LIBRITTS}/${part}.tar.gz"
            tar -xzf "${LIBRITTS}/${part}.tar.gz" -C "${LIBRITTS}"
            touch "${root}/.${part}.complete"
        done
        ;;
    mini)
        root="${MINI_LIBRITTS}/LibriTTS"
        log "Building the mini corpus (${mini_num_utts} utterances) under ${root}"
        # Names the Debian package of any missing synthesizer; keeps finished utterances.
        python3 local/make_mini_corpus.py --sentences local/mini_sentences.txt \
            --num_utts "${mini_num_utts}" --out_dir "${root}" --nj "${nj}"
        ;;
esac

prepare() {  # <name> <subset>...: data/<prefix><name> from the subsets, unless done already
    local dir="data/${prefix}$1"; shift
    if [ -f "${dir}/spk2utt" ]; then
        log "${dir} exists, skipping (remove it to prepare it again)"
        return
    fi
    log "Preparing ${dir} from $*"
    local subsets=()
    for part in "$@"; do subsets+=("${root}/${part}"); done
    python3 local/data_prep.py --out_dir "${dir}" "${subsets[@]}"
}
# shellcheck disable=SC2086
prepare "${train_set}" ${train_subsets}
prepare dev_clean dev-clean
prepare test_clean test-clean
log "Successfully finished. [elapsed=${SECONDS}s]"
