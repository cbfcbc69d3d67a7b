# SetHandler tofu-health (issue 13): 200 while the storages of every tofu location of the
# virtual host answer; 503 naming the storage and since when once its circuit breaker is open,
# from every child (the breaker state is published in shared memory); back to 200 when the
# cooldown ends; answered at once while transforms queue. Locations: t/conf/metrics.conf.in
# (virtual host tofu_health; its store vanishing/ is made unsearchable here, as a lost mount).
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

plan tests => 17;

sub fresh { Apache::TestRequest::user_agent(reset => 1, keep_alive => 0) }
sub GET { Apache::TestRequest::GET(@_) }

my $r = do { fresh(); GET('/tofu-health') };
ok t_cmp($r->code . ' ' . ($r->header('Content-Type') // '-') . ' ' . ($r->header('Cache-Control') // '-'),
         '200 text/plain; charset=utf-8 no-store', 'main server: 200, plain text, never cached');
ok t_cmp($r->content, qr/^OK: [1-9]\d* tofu location\(s\), \d+ storage\(s\) answering\n\z/, 'a short text');

Apache::TestRequest::module('tofu_health');
my $image = signed_url(prefix => '/hv-vanishing', id => 'baseline.jpg', ops => '100x', ext => 'jpg');
$r = do { fresh(); GET($image) };
ok t_cmp($r->code, 200, 'the store of /hv-vanishing serves');
$r = do { fresh(); GET('/hv-health') };
ok t_cmp($r->code, 200, 'virtual host: 200 while its storages answer');

# --- while transforms queue (one slot per child for /hv-img) ---------------------------------
# Three: more than the two event children have slots for, fewer than prefork's four processes
# (a prefork child takes one connection at a time: a fifth would wait for a process, not a slot).
my $clients = 3;
pipe my $res_r, my $res_w or die "pipe: $!";
my @pids;
for my $i (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $res_r;
        fresh();
        my $res = GET(signed_url(prefix => '/hv-img', id => 'exif-orientation/Landscape_' . (1 + $i % 8) . '.jpg',
                                 ops => (1700 + $i) . 'x', ext => 'webp'));
        syswrite $res_w, sprintf("%d %.3f\n", $res->code, time);
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
close $res_w;
my ($in_flight, $health, $took, $answered) = (0);
for (1 .. 200) {
    fresh();
    my $m = GET('/hv-metrics');
    ($in_flight) = $m->content =~ /^tofu_transforms_in_flight (\d+)$/m;
    if (($in_flight // 0) >= 1) {
        my $t0 = time;
        $health = GET('/hv-health');
        $answered = time;
        $took = $answered - $t0;
        last;
    }
    sleep 0.02;
}
my @done = map { [split ' '] } <$res_r>;
waitpid $_, 0 for @pids;
ok t_cmp(($in_flight // 0) >= 1 ? 1 : 0, 1, "transforms in flight ($in_flight) while health was asked");
ok t_cmp(defined $health ? $health->code : 'none', 200, 'health answered 200 meanwhile');
ok t_cmp(defined $took && $took < 1 ? 1 : 0, 1, sprintf('in %.1f ms, no transform slot taken', 1000 * ($took // 99)));
my @after = grep { $_->[1] > ($answered // 9e9) } @done;
ok t_cmp(scalar(@after) >= 1 ? 1 : 0, 1,
         scalar(@after) . " of $clients transforms finished after the health answer");
ok t_cmp(scalar(grep { $_->[0] == 200 } @done), $clients, 'and they all succeeded');

# --- the store vanishes: two faults open a child's breaker for 4 s ---------------------------
my $store = join '/', data_dir(), 'vanishing';
chmod 0000, $store or die "chmod $store: $!";
Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);    # one connection: one child
my @codes = map { GET($image)->code } 1, 2;
my $opened = time;
ok t_cmp("@codes", '502 502', 'two requests while the root is unsearchable: 502, 502');
my @health = map { fresh(); GET('/hv-health') } 1 .. 5;
my $within = time - $opened < 4;
ok t_cmp(join(' ', map { $_->code } @health), '503 503 503 503 503',
         'health from five new connections (any child): 503 each time');
ok t_cmp($health[0]->content,
         qr{^storage file://\S+/vanishing \(location /hv-vanishing\): circuit breaker open since \w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT \(\d+ s\), probed again from .* GMT\n\z},
         'the reason: which storage, which location, open since when');
ok t_cmp(($health[0]->header('Retry-After') // 0) =~ /^[1-4]$/ ? 1 : 0, 1,
         'Retry-After: the seconds left of the cooldown (' . ($health[0]->header('Retry-After') // '-') . ')');
ok t_cmp($within, 1, 'all within the 4 s cooldown');
fresh();
my $metrics = GET('/hv-metrics')->content;
ok t_cmp($metrics =~ m{^tofu_storage_breaker_open\{storage="file://[^"]+/vanishing"\} 1$}m
         && $metrics =~ m{^tofu_storage_faults_total\{storage="file://[^"]+/vanishing"\} (\d+)$}m && $1 >= 2 ? 1 : 0,
         1, 'the metrics show the breaker open and the faults');

Apache::TestRequest::module('default');
$r = do { fresh(); GET('/tofu-health') };
ok t_cmp($r->code, 200, 'the main server serves no location of that store: still 200');
Apache::TestRequest::module('tofu_health');

sleep 4.2 - (time - $opened) if time - $opened < 4.2;
$r = do { fresh(); GET('/hv-health') };
ok t_cmp($r->code, 200, 'after the cooldown: 200 again (the next image request probes the store)');
chmod 0755, $store;
Apache::TestRequest::module('default');
