# Parse "--name value" / "--name=value" options into the shell variables of the sourcing
# script (Kaldi's convention; source it, don't run it):
#
#   stage=1; nj=4
#   . utils/parse_options.sh   # ./voc.sh --stage 3 --nj=8 -> stage=3 nj=8
#
# Dashes in names become underscores (--stop-stage sets stop_stage). Only variables that
# the script already defines can be set, so a misspelt option is an error, not a no-op.
# "--help"/"-h" prints ${help_message} and exits. Parsing stops at the first argument that
# does not start with "--"; the rest stay in "$@".

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            echo "${help_message:-No help message for $0.}"
            exit 0
            ;;
        --*=*)
            __name=${1%%=*}; __value=${1#*=}; shift
            ;;
        --*)
            if [ $# -lt 2 ]; then
                echo "$0: option $1 needs a value." >&2
                exit 1
            fi
            __name=$1; __value=$2; shift 2
            ;;
        *)
            break
            ;;
    esac
    __name=${__name#--}
    __name=${__name//-/_}
    if ! [[ ${__name} =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!__name+set}" ]; then
        echo "$0: unknown option --${__name}. Run '$0 --help' for the options." >&2
        exit 1
    fi
    printf -v "${__name}" '%s' "${__value}"
done
unset __name __value
