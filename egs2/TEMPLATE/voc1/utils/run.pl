#!/usr/bin/env perl
# Run a command on this machine, once or as a job array, with its output in a log file
# (the local counterpart of slurm.pl, following Kaldi's run.pl conventions).
#
#   run.pl [options] [JOB=1:N] <log> <command> [<args>...]
#
# "JOB" in <log> and in the command is replaced by the job index. At most --max_jobs_run
# jobs run at once (default: all). Each log starts with the command and ends with
# "# Ended (code C) at <date>, elapsed time S seconds". Exit status 0 only when every job
# succeeded; otherwise the failed logs are named.
#
# Options accepted for cmd.sh compatibility (ESPnet's launcher passes --gpu and
# --num_threads; --mem and --time matter only to a scheduler): --gpu, --num_threads,
# --mem, --time, --name, --num_nodes (must be 1: one machine), --max_jobs_run, --config.
use strict;
use warnings;
use POSIX qw(strftime);
use File::Basename qw(dirname);
use File::Path qw(make_path);

my %opt = (max_jobs_run => 0, num_nodes => 1);
while (@ARGV && $ARGV[0] =~ /^--([\w-]+)(?:=(.*))?$/) {
    shift @ARGV;
    my ($name, $value) = ($1, $2);
    $value = shift @ARGV unless defined $value;
    $name =~ s/-/_/g;
    die "run.pl: unknown option --$name\n"
        unless $name =~ /^(gpu|num_threads|mem|time|num_nodes|max_jobs_run|config|name)$/;
    $opt{$name} = $value;
}
die "run.pl: --num_nodes $opt{num_nodes}: run.pl runs on this machine only; use slurm.pl\n"
    if $opt{num_nodes} > 1;

my ($first, $last) = (1, 1);
my $jobvar;
if (@ARGV && $ARGV[0] =~ /^([\w_]+)=(\d+):(\d+)$/) {
    ($jobvar, $first, $last) = ($1, $2, $3);
    shift @ARGV;
    die "run.pl: empty job range $first:$last\n" if $last < $first;
}
die "usage: run.pl [options] [JOB=1:N] <log> <command>...\n" if @ARGV < 2;
my $logfile = shift @ARGV;
# Quote arguments that need it, so that "bash -c" sees the words it was given.
my $cmd = join " ", map {
    /^[\w\/.,:=+%@-]+$/ ? $_ : do { (my $q = $_) =~ s/'/'\\''/g; "'$q'" }
} @ARGV;

sub job_text { my ($text, $j) = @_; $text =~ s/\b$jobvar\b/$j/g if defined $jobvar; return $text; }

my %running;    # pid -> job index
my @failed;
my $max = $opt{max_jobs_run} > 0 ? $opt{max_jobs_run} : $last - $first + 1;

sub reap {
    my $pid = wait();
    return if $pid < 0;
    my $j = delete $running{$pid};
    push @failed, $j if $? != 0;
}

for my $j ($first .. $last) {
    reap() while keys(%running) >= $max;
    my $log = job_text($logfile, $j);
    my $jcmd = job_text($cmd, $j);
    make_path(dirname($log));
    my $pid = fork();
    die "run.pl: fork failed: $!\n" unless defined $pid;
    if ($pid == 0) {
        open(my $fh, ">", $log) or die "run.pl: cannot write $log: $!\n";
        print $fh "# $jcmd\n# Started at " . localtime() . "\n#\n";
        close $fh;
        my $start = time();
        my $rc = system("bash", "-c", "( $jcmd ) >>'$log' 2>&1");
        my $code = $rc == -1 ? 127 : ($rc & 127 ? 128 + ($rc & 127) : $rc >> 8);
        open($fh, ">>", $log) or die "run.pl: cannot append to $log: $!\n";
        my $elapsed = time() - $start;
        print $fh "# Accounting: time=$elapsed threads=" . ($opt{num_threads} // 1) . "\n";
        print $fh "# Ended (code $code) at " . localtime() . ", elapsed time $elapsed seconds\n";
        close $fh;
        exit($code == 0 ? 0 : 1);
    }
    $running{$pid} = $j;
}
reap() while %running;

if (@failed) {
    my @logs = map { job_text($logfile, $_) } sort { $a <=> $b } @failed;
    my $n = $last - $first + 1;
    print STDERR "run.pl: " . scalar(@failed) . " / $n failed, log is in " . join(", ", @logs) . "\n";
    exit 1;
}
exit 0;
