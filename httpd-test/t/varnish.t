# Varnish (Debian's varnish package, a private varnishd on 127.0.0.1 started here) in front of
# mod_tofu: the second request is a hit, a client's conditional request is answered 304 by
# Varnish, and once an object is stale Varnish revalidates it with a conditional request that
# mod_tofu answers 304 from a stat (no fetch, no transform), keeping the cached bytes.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Digest::MD5 qw(md5_hex);
use File::Path qw(make_path remove_tree);
use File::Spec::Functions qw(catdir catfile);
use IO::Socket::INET;
use LWP::UserAgent;
use TofuTest;

plan tests => 11;

my $varnishd = -x '/usr/sbin/varnishd' ? '/usr/sbin/varnishd' : 'varnishd';
my $work = catdir(Apache::Test::vars('t_logs'), 'varnish');
remove_tree($work);
make_path($work);
my $pid_file = catfile($work, 'varnishd.pid');

my $port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    $p;
};
my $backend = '127.0.0.1:' . Apache::Test::vars('port');
# No grace: a stale object is revalidated before it is served again. Keep: a stale object is
# kept for a minute so that its validators can be used for the conditional backend request.
my @cmd = ($varnishd, '-a', "127.0.0.1:$port", '-b', $backend, '-n', catdir($work, 'n'),
           '-P', $pid_file, '-s', 'malloc,32m', '-p', 'default_grace=0', '-p', 'default_keep=60');
my $out = `@cmd 2>&1`;
my $started = $? == 0;
for (1 .. 50) {
    last if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
    select undef, undef, undef, 0.1;
}
ok t_cmp($started ? 1 : 0, 1, "varnishd started on 127.0.0.1:$port ($out)");

END {
    if ($pid_file && open my $fh, '<', $pid_file) {
        chomp(my $pid = <$fh> // '');
        kill 'TERM', $pid if $pid;
    }
}

my $ua = LWP::UserAgent->new(keep_alive => 0, timeout => 30);
sub via_varnish { $ua->get("http://127.0.0.1:$port$_[0]", @_[1 .. $#_]) }
# "1234" on a miss, "1236 1235" (this request, the one that stored it) on a hit.
sub hit { (($_[0]->header('X-Varnish') // '') =~ /^\d+ \d+$/) ? 'hit' : 'miss' }

my $path = signed_url(id => 'exif-orientation/Landscape_7.jpg', ops => '320x');
my $mark = notes_log_mark();
my $first = via_varnish($path);
my $second = via_varnish($path);
ok t_cmp($first->code . ' ' . hit($first), '200 miss', 'first request: a miss');
ok t_cmp($second->code . ' ' . hit($second), '200 hit', 'second request: a hit');
ok t_cmp(md5_hex($second->content // ''), md5_hex($first->content // ''), 'the same bytes');
ok t_cmp($second->header('ETag') // '-', $first->header('ETag') // '', 'the hit keeps the ETag');
my $cond = via_varnish($path, 'If-None-Match' => $first->header('ETag') // '"none"');
ok t_cmp($cond->code, 304, 'a client revalidating its copy gets 304 from Varnish');
ok t_cmp(scalar(notes_since($mark, $path, 1)), 1, 'mod_tofu was asked once');

# Backend revalidation: max-age=1 (/short-ttl), then stale.
my $short = signed_url(prefix => '/short-ttl', id => 'exif-orientation/Landscape_7.jpg',
                       ops => '320x', key => SECRET);
my $smark = notes_log_mark();
my $fresh = via_varnish($short);
sleep 2;
my $revalidated = via_varnish($short);
ok t_cmp($revalidated->code, 200, 'the stale object is served again after revalidation');
ok t_cmp(md5_hex($revalidated->content // ''), md5_hex($fresh->content // ''),
         '... with the same bytes');
my @e = notes_since($smark, $short, 2);
ok t_cmp(join(',', map { "$_->{code}" } @e), '200,304',
         'mod_tofu saw a miss, then a conditional request it answered 304');
ok t_cmp(@e == 2 && $e[1]{fetch} eq '-' && $e[1]{transform} eq '-' ? 1 : 0, 1,
         'the revalidation neither fetched nor transformed');
