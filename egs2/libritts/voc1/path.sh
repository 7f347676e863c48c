# Environment of the recipe: the project's Python and the recipe helpers on PATH.
MAIN_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
# The project's virtual environment (README: Install), when there is one; otherwise the
# python3 already on PATH must have espnet2_spiking installed.
if [ -f "${MAIN_ROOT}/.venv/bin/activate" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
export PATH="${PWD}/utils:${PATH}"   # run.pl / slurm.pl for espnet2.bin.launch
export PYTHONIOENCODING=UTF-8
export LC_ALL=C
