# The server under test: the intended MPM runs, and mod_tofu is loaded.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(plan ok have_module);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET_BODY GET);

plan tests => 5;

my $info = GET_BODY '/server-info?server';
my ($mpm) = $info =~ m{MPM Name:\s*(?:<[^>]+>\s*)*(\w+)};
$mpm //= '(unknown)';
my $want = $ENV{TOFU_TEST_MPM};
ok t_cmp($mpm, $want // $mpm, 'the MPM named by TOFU_TEST_MPM is the one running');
my ($threaded) = $info =~ m{Threaded:\s*(?:<[^>]+>\s*)*(\w+)};
$threaded //= '(unknown)';
ok t_cmp($threaded, $mpm eq 'prefork' ? 'no' : 'yes', "threaded matches the $mpm MPM");

my $modules = GET_BODY '/server-info?list';
ok t_cmp($modules =~ /mod_tofu|tofu/ ? 1 : 0, 1, 'mod_tofu is loaded');

# Requests outside a tofu location are not ours: the default handler still serves files.
my $r = GET '/index.html';
ok t_cmp($r->code, 200, 'static files outside tofu locations are still served');

# The children that serve run unprivileged, also when the suite runs as root.
{
    open my $fh, '<', Apache::Test::vars('t_pid_file') or die "pid file: $!";
    chomp(my $parent = <$fh>);
    my @uids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $sf, '<', $stat or next;
        my $line = <$sf> // next;
        my ($ppid) = $line =~ /\) \S+ (\d+)/ or next;
        next unless $ppid == $parent;
        (my $dir = $stat) =~ s{/stat$}{};
        push @uids, (stat $dir)[4];
    }
    ok t_cmp(scalar(@uids) > 0 && !grep({ $_ == 0 } @uids) ? 1 : 0, 1,
             'the children run as a non-root user (uids: ' . join(',', @uids) . ')');
}
