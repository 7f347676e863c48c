# How the recipe's jobs run: set cmd_backend for your site.
#   local: on this machine (utils/run.pl)
#   slurm: on a Slurm cluster (utils/slurm.pl with conf/slurm.conf); training with
#          --ngpu N --num_nodes M then runs through espnet2.bin.launch as "srun" tasks.
cmd_backend=local

if [ "${cmd_backend}" = local ]; then
    # train_cmd: CPU jobs (data, features); cuda_cmd: training; decode_cmd: decoding
    export train_cmd="run.pl"
    export cuda_cmd="run.pl"
    export decode_cmd="run.pl"
elif [ "${cmd_backend}" = slurm ]; then
    export train_cmd="slurm.pl --config conf/slurm.conf"
    export cuda_cmd="slurm.pl --config conf/slurm.conf"
    export decode_cmd="slurm.pl --config conf/slurm.conf"
else
    echo "cmd.sh: unknown cmd_backend=${cmd_backend} (local or slurm)" >&2
    return 1
fi
