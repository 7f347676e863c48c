#!/usr/bin/env bash
# Stage 1: Kaldi-style data directories (wav.scp, text, utt2spk, spk2utt) for LibriTTS,
# LibriTTS-R or the offline mini corpus, which is built in LibriTTS's own layout so that
# all three go through the same preparation (local/data_prep.py).
#
#   --corpus libritts:   data/{<train_set>,dev_clean,test_clean}; the subsets are downloaded
#                        from openslr (resource 60, train-clean-100.tar.gz, ...) unless already
#                        under ${LIBRITTS}/LibriTTS (db.sh).
#   --corpus libritts_r: LibriTTS-R (resource 141: train_clean_100.tar.gz, ... unpacking to
#                        ${LIBRITTS_R}/LibriTTS_R), into data/libritts_r_<set>.
#   --corpus mini:       data/mini_{train_clean_100,dev_clean,test_clean}, synthesized
#                        offline with Debian's festival, flite and espeak-ng voices.
#
#   --train_set: train_clean_100, train_clean_360, train_clean_460 (100 + 360) or
#                train_all (100 + 360 + train-other-500, ParallelWaveGAN's "all").
# A subset already unpacked (its folder there, its tarball not) is used as it is.
set -euo pipefail

log() {
    echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*"
}

corpus=libritts             # libritts, libritts_r or mini
train_set=train_clean_100   # train_clean_100, train_clean_360, train_clean_460 or train_all
data_url=                   # Download address (default: openslr resource 60, LibriTTS-R 141)
mini_num_utts=240           # size of the mini corpus (utterances in all three sets)
nj=4                        # parallel synthesizer processes (mini)

help_message="Usage: $0 [--corpus libritts|libritts_r|mini]
    [--train_set train_clean_100|train_clean_360|train_clean_460|train_all]
    [--data_url <url>] [--mini_num_utts ${mini_num_utts}] [--nj ${nj}]"

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
    train_all) train_subsets="train-clean-100 train-clean-360 train-other-500" ;;
    *) log "Error: --train_set ${train_set}: choose train_clean_100, train_clean_360, train_clean_460 or train_all"
       exit 2 ;;
esac

case "${corpus}" in
    libritts)
        prefix=
        download_dir=${LIBRITTS}
        root=${LIBRITTS}/LibriTTS
        data_url=${data_url:-https://www.openslr.org/resources/60}
        ;;
    libritts_r)
        prefix=libritts_r_
        download_dir=${LIBRITTS_R}
        root=${LIBRITTS_R}/LibriTTS_R
        data_url=${data_url:-https://www.openslr.org/resources/141}
        ;;
    mini)
        prefix=mini_
        if [ "${train_set}" != train_clean_100 ]; then
            log "Error: the mini corpus has only train-clean-100 (got --train_set ${train_set})"
            exit 2
        fi
        ;;
    *) log "Error: --corpus ${corpus}: choose libritts, libritts_r or mini"; exit 2 ;;
esac
sets="${prefix}${train_set} ${prefix}dev_clean ${prefix}test_clean"
complete=true
for name in ${sets}; do [ -f "data/${name}/spk2utt" ] || complete=false; done
if "${complete}"; then
    log "data/{${sets// /,}} exist, skipping (remove them to prepare them again)"
    exit 0
fi

case "${corpus}" in
    libritts|libritts_r)
        mkdir -p "${download_dir}"
        for part in ${train_subsets} dev-clean test-clean; do
            # LibriTTS names its tarballs train-clean-100.tar.gz, LibriTTS-R train_clean_100.tar.gz
            if [ "${corpus}" = libritts ]; then tarball=${part}.tar.gz; else tarball=${part//-/_}.tar.gz; fi
            if [ -f "${root}/.${part}.complete" ]; then
                log "${root}/${part} is complete, skipping its download"
                continue
            fi
            if [ -d "${root}/${part}" ] && [ ! -e "${download_dir}/${tarball}" ]; then
                log "${root}/${part} is there (unpacked before), using it as it is"
                touch "${root}/.${part}.complete"
                continue
            fi
            log "Downloading ${data_url}/${tarball} into ${download_dir}"
            if command -v wget > /dev/null; then
                wget --continue --progress=dot:giga -O "${download_dir}/${tarball}" "${data_url}/${tarball}"
            else
                curl --fail --location --continue-at - -o "${download_dir}/${tarball}" "${data_url}/${tarball}"
            fi
            log "Extracting ${download_dir}/${tarball}"
            tar -xzf "${download_dir}/${tarball}" -C "${download_dir}"
            if [ ! -d "${root}/${part}" ]; then
                log "Error: ${download_dir}/${tarball} did not unpack to ${root}/${part}"
                exit 1
            fi
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
