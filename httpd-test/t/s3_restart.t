# A graceful restart (USR1) under S3 load: every child holds an S3 client and its runtime; the
# old generation finishes its requests and exits, the new one builds its own clients. No request
# fails, no child crashes or is left behind.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest ();
use POSIX ();
use Time::HiRes qw(time sleep);
use TofuTest;

plan tests => 7;
my $crash_re = crash_pattern();

my $clients = 12;
my $seconds = 4;
my $mark = error_log_mark();

pipe my $res_r, my $res_w or die "pipe: $!";
my @pids;
for my $i (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $res_r;
        Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
        my $end = time + $seconds;
        my ($n, @codes) = (0);
        while (time < $end) {
            my $w = 60 + 10 * $i + ($n++ % 7);
            my $res = Apache::TestRequest::GET(
                signed_url(prefix => '/s3', id => 'Landscape_1.jpg', ops => "${w}x", ext => 'jpg'));
            push @codes, $res->code;
        }
        syswrite $res_w, "@codes\n";
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
close $res_w;
sleep 1.5;
my $restarted = restart_server('USR1');
my @lines = <$res_r>;
waitpid $_, 0 for @pids;

my @codes = map { split ' ' } @lines;
my @bad = grep { $_ != 200 } @codes;
ok t_cmp($restarted, 1, 'USR1: the server restarted gracefully');
ok t_cmp(scalar @codes > $clients ? 1 : 0, 1, scalar(@codes) . ' S3 requests during the restart');
ok t_cmp(scalar @bad, 0, 'every one of them 200 (' . join(',', @bad[0 .. ($#bad < 9 ? $#bad : 9)]) . ')');

Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
my $after = Apache::TestRequest::GET(
    signed_url(prefix => '/s3', id => 'baseline.jpg', ops => '90x', ext => 'jpg'));
ok t_cmp($after->code, 200, 'the new generation serves S3');

sleep 2;    # the old generation's last children exit
my @trouble = grep { /$crash_re|still did not exit|could not make child/ }
    split /\n/, error_log_since($mark);
ok t_cmp(scalar @trouble, 0, 'no child crashed or was left behind (' . join(' | ', @trouble) . ')');

# Nothing of ours runs in the parent (it forks every child): no S3 runtime thread, no I/O pool
# thread, one thread in all; the children that served S3 have their runtime ("tofu-s3").
sub threads_of {
    my $pid = shift;
    return map { open my $fh, '<', $_ or return (); my $n = <$fh> // ''; chomp $n; $n }
        glob "/proc/$pid/task/*/comm";
}
open my $pf, '<', Apache::Test::vars('t_pid_file') or die "pid file: $!";
chomp(my $parent = <$pf>);
my @parent_threads = threads_of($parent);
ok t_cmp(join(',', @parent_threads), 'apache2', "the parent ($parent) runs one thread, none of ours");
my $with_runtime = 0;
for my $stat (glob '/proc/[0-9]*/stat') {
    open my $fh, '<', $stat or next;
    my ($pid, $ppid) = (<$fh> // '') =~ /^(\d+) \(.*\) \S (\d+)/ or next;
    next unless $ppid == $parent;
    $with_runtime++ if grep { /^tofu-s3/ } threads_of($pid);
}
ok t_cmp($with_runtime >= 1 ? 1 : 0, 1, "children own the S3 runtime ($with_runtime of them)");
