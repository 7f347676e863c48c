#!/usr/bin/env perl
# Run a command, once or as a job array, on a Slurm cluster; same face as run.pl:
#
#   slurm.pl [--config conf/slurm.conf] [options] [JOB=1:N] <log> <command> [<args>...]
#
# The command is written into a batch script (<logdir>/q/<name>.sh) and submitted with
# "sbatch --wait" (a job array when JOB=1:N), so slurm.pl returns when every job ended,
# with status 0 only when all succeeded. ESPnet's launcher (espnet2.bin.launch) calls it
# with --gpu, --num_threads and --num_nodes and "srun" in front of the training command:
# that is how --ngpu/--num_nodes reach the cluster.
#
# Options become sbatch options through the config file (Kaldi's format):
#   command sbatch --export=PATH        # the submit command and fixed options
#   option mem=* --mem-per-cpu $0       # --mem 4G  ->  --mem-per-cpu 4G
#   option gpu=0                        # --gpu 0   ->  nothing
#   option gpu=* --gres=gpu:$0          # --gpu 2   ->  --gres=gpu:2
#   default gpu=0                       # value used when the option is not given
# Without a config file the built-in one below is used.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);

my $default_config = <<'CONF';
command sbatch --export=PATH
option name=* --job-name $0
option time=* --time $0
option mem=* --mem-per-cpu $0
option mem=0
option num_threads=* --cpus-per-task $0
option num_threads=1 --cpus-per-task 1
option num_nodes=* --nodes $0 --ntasks-per-node 1
option num_nodes=1 --nodes 1
default gpu=0
option gpu=0
option gpu=* --gres=gpu:$0
option max_jobs_run=*
CONF

my %opt;
my $config;
while (@ARGV && $ARGV[0] =~ /^--([\w-]+)(?:=(.*))?$/) {
    shift @ARGV;
    my ($name, $value) = ($1, $2);
    $value = shift @ARGV unless defined $value;
    $name =~ s/-/_/g;
    if ($name eq "config") { $config = $value; } else { $opt{$name} = $value; }
}

my ($first, $last) = (1, 1);
my $jobvar;
if (@ARGV && $ARGV[0] =~ /^([\w_]+)=(\d+):(\d+)$/) {
    ($jobvar, $first, $last) = ($1, $2, $3);
    shift @ARGV;
    die "slurm.pl: empty job range $first:$last\n" if $last < $first;
}
die "usage: slurm.pl [options] [JOB=1:N] <log> <command>...\n" if @ARGV < 2;
my $logfile = shift @ARGV;
my $cmd = join " ", map {
    /^[\w\/.,:=+%@-]+$/ ? $_ : do { (my $q = $_) =~ s/'/'\\''/g; "'$q'" }
} @ARGV;

# --- read the config: submit command, option rules, defaults
my $text = $default_config;
if (defined $config) {
    open(my $fh, "<", $config) or die "slurm.pl: cannot read the config $config: $!\n";
    local $/; $text = <$fh>; close $fh;
}
my $submit;
my (%exact, %wild, %defaults);
for my $line (split /\n/, $text) {
    $line =~ s/#.*//; next if $line =~ /^\s*$/;
    if ($line =~ /^command\s+(.*?)\s*$/) { $submit = $1; }
    elsif ($line =~ /^option\s+(\w+)=\*\s*(.*?)\s*$/) { $wild{$1} = $2; }
    elsif ($line =~ /^option\s+(\w+)=(\S+)\s*(.*?)\s*$/) { $exact{"$1=$2"} = $3; }
    elsif ($line =~ /^default\s+(\w+)=(\S+)\s*$/) { $defaults{$1} = $2; }
    else { die "slurm.pl: $config: cannot parse line: $line\n"; }
}
die "slurm.pl: no 'command' line in " . ($config // "the built-in config") . "\n"
    unless defined $submit;
%opt = (%defaults, %opt);
my @sbatch_opts;
for my $name (sort keys %opt) {
    my $value = $opt{$name};
    if (exists $exact{"$name=$value"}) { push @sbatch_opts, $exact{"$name=$value"}; }
    elsif (exists $wild{$name}) { (my $o = $wild{$name}) =~ s/\$0/$value/g; push @sbatch_opts, $o; }
    else { die "slurm.pl: option --$name=$value has no rule in " . ($config // "the built-in config") . "\n"; }
}

# --- the batch script: JOB becomes the array index at run time
my $logdir = dirname($logfile);
my $qdir = "$logdir/q";
make_path($qdir);
(my $name = basename($logfile)) =~ s/\.?\b$jobvar\b//g if defined $jobvar;
$name //= basename($logfile);
$name =~ s/\.log$//;
my $script = "$qdir/$name.sh";
my ($slog, $scmd) = ($logfile, $cmd);
if (defined $jobvar) {
    $slog =~ s/\b$jobvar\b/\${SLURM_ARRAY_TASK_ID}/g;
    $scmd =~ s/\b$jobvar\b/\${SLURM_ARRAY_TASK_ID}/g;
}
my $cwd = getcwd();
(my $quoted_cmd = $scmd) =~ s/'/'\\''/g;
open(my $sh, ">", $script) or die "slurm.pl: cannot write $script: $!\n";
print $sh <<"SCRIPT";
#!/bin/bash
cd '$cwd'
[ -f ./path.sh ] && . ./path.sh
SLURM_ARRAY_TASK_ID=\${SLURM_ARRAY_TASK_ID:-$first}
log="$slog"
mkdir -p "\$(dirname "\$log")"
{ echo '# $quoted_cmd'; echo "# Started at \$(date) on \$(hostname)"; echo "#"; } > "\$log"
start=\$(date +%s)
( $scmd ) >> "\$log" 2>&1
code=\$?
echo "# Accounting: time=\$((\$(date +%s) - start)) threads=\${SLURM_CPUS_PER_TASK:-1}" >> "\$log"
echo "# Ended (code \$code) at \$(date), elapsed time \$((\$(date +%s) - start)) seconds" >> "\$log"
exit \$code
SCRIPT
close $sh;
chmod 0755, $script;

my $array = defined $jobvar ? "--array=$first-$last" . ($opt{max_jobs_run} ? "%$opt{max_jobs_run}" : "") : "";
my $submit_cmd = join " ", grep { $_ ne "" } ($submit, @sbatch_opts, "--wait", $array,
    "--output=$qdir/$name-" . (defined $jobvar ? "%a" : "%j") . ".out", $script);
system("bash", "-c", $submit_cmd);

# --- which jobs failed: the footer each job wrote
my @failed;
for my $j ($first .. $last) {
    (my $log = $logfile) =~ s/\b$jobvar\b/$j/g if defined $jobvar;
    $log //= $logfile;
    my $ok = 0;
    if (open(my $fh, "<", $log)) {
        while (<$fh>) { $ok = 1 if /^# Ended \(code 0\)/; }
        close $fh;
    }
    push @failed, $log unless $ok;
}
if (@failed) {
    print STDERR "slurm.pl: " . scalar(@failed) . " / " . ($last - $first + 1)
        . " failed, log is in " . join(", ", @failed) . " (submission: $submit_cmd)\n";
    exit 1;
}
exit 0;
