# One original, one key or one odd file must never take a location down (issue 10): what a store
# answers about one object (a mode-000 file, a FIFO, a symlink loop, S3's per-key 403
# AccessDenied) is a 404 for that request alone, logged at warn, never counted toward the
# circuit breaker and never sent to the fallback; faults of the store itself (wrong S3
# credentials, a missing bucket) are 502 and open the breaker. Every location here has
# TofuStorageBreaker 2 30: two counted faults would turn everything into 503 for 30 s.
# Locations: t/conf/storage_faults.conf.in. Breakers are per child: each block uses one
# keep-alive connection, so one child.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest ();
use Fcntl qw(O_WRONLY O_NONBLOCK);
use File::Path qw(make_path);
use File::Spec::Functions qw(catfile);
use POSIX ();
use Time::HiRes qw(time);
use TofuTest;

my $control = $ENV{TOFU_TEST_S3_CONTROL}
    or die "TOFU_TEST_S3_CONTROL is not set: run the suite through httpd-test/run\n";

plan tests => 27;

# Odd files in the store (made here, after TEST.PL copied it; store/bad/unreadable.jpg is
# mode 000 already): a FIFO nobody writes to, a symlink loop.
my $odd = join '/', data_dir(), 'store', 'faults';
make_path($odd);
chmod 0755, $odd;
my $fifo = "$odd/pipe.jpg";
unlink $fifo, "$odd/loop.jpg";
POSIX::mkfifo($fifo, 0644) or die "mkfifo $fifo: $!";
symlink 'loop.jpg', "$odd/loop.jpg" or die "symlink: $!";

sub url { my ($prefix, $id) = @_; signed_url(prefix => $prefix, id => $id, ops => '100x', ext => 'jpg') }

# One keep-alive connection (so one child, one breaker) for what follows.
sub one_child { Apache::TestRequest::user_agent(reset => 1, keep_alive => 1) }

sub GET { Apache::TestRequest::GET(@_) }

# Requests that reached the fault proxy for a mode.
sub proxied {
    my $mode = shift;
    open my $fh, '<', catfile($control, 'requests.log') or return 0;
    return scalar grep { /^\Q$mode\E / } <$fh>;
}

# After 5 answers about $bad: a conditional request for it (answered from a stat/HEAD) is a 404
# too, and $good of the same location is served: the breaker stayed closed.
sub still_404_and_serving {
    my ($prefix, $bad, $good, $what) = @_;
    my $r = GET(url($prefix, $bad), 'If-None-Match' => '"x"');
    ok t_cmp($r->code, 404, "$what: a conditional request for it is a 404 too");
    $r = GET(url($prefix, $good));
    ok t_cmp($r->code, 200, "$what: then a healthy image of the same location: 200");
}

# --- a file the children may not read (mode 000) -------------------------------------------------
{
    one_child();
    my $mark = error_log_mark();
    my @r = map { GET(url('/faults', 'bad/unreadable.jpg')) } 1 .. 5;
    ok t_cmp(join(' ', map { $_->code } @r), '404 404 404 404 404',
             'a mode-000 original, 5 times: 404 each time, never 502 or 503');
    ok t_cmp($r[0]->header('Cache-Control') // '-', DEFAULT_ERROR_CACHE_CONTROL,
             'briefly cacheable, like any 404');
    my $log = error_log_since($mark);
    my @warn = grep { /\[tofu:warn\].*404 .*unreadable\.jpg: permission denied.*mode/ } split /\n/, $log;
    ok t_cmp(scalar @warn, 5, 'each logged at warn, saying to check the file mode');
    ok t_cmp($log =~ /\[tofu:error\]/ ? 1 : 0, 0, 'nothing logged at error');
    still_404_and_serving('/faults', 'bad/unreadable.jpg', 'jpeg/baseline.jpg', 'mode 000');
}

# --- a FIFO and a symlink loop in the store -------------------------------------------------------
{
    one_child();
    my $mark = error_log_mark();
    my ($slowest, @codes) = (0);
    for (1 .. 5) {
        my $t0 = time;
        push @codes, GET(url('/faults', 'faults/pipe.jpg'))->code;
        my $took = time - $t0;
        $slowest = $took if $took > $slowest;
    }
    ok t_cmp("@codes", '404 404 404 404 404', 'a FIFO, 5 times: 404 each time');
    ok t_cmp($slowest < 1 ? 1 : 0, 1, sprintf('each within a second (slowest %.3fs): no I/O thread waits on it', $slowest));
    ok t_cmp(error_log_since($mark) =~ /\[tofu:warn\].*pipe\.jpg: not a regular file but a FIFO/ ? 1 : 0, 1,
             'logged at warn: not a regular file');
    my $r = GET(url('/faults', 'faults/pipe.jpg'), 'If-None-Match' => '"x"');
    ok t_cmp($r->code, 404, 'a conditional request for the FIFO: 404');
    @codes = map { GET(url('/faults', 'faults/loop.jpg'))->code } 1 .. 3;
    ok t_cmp("@codes", '404 404 404', 'a symlink loop, 3 times: 404 each time');
    my $t0 = time;
    $r = GET(url('/faults', 'jpeg/baseline.jpg'));
    ok t_cmp($r->code, 200, 'the location still serves: 200');
    ok t_cmp(time - $t0 < 2 ? 1 : 0, 1, sprintf('at once (%.2fs)', time - $t0));
}

# --- with a fallback that has the original: not asked ---------------------------------------------
{
    one_child();
    my $mark = error_log_mark();
    my @codes = map { GET(url('/faults-fallback', 'bad/unreadable.jpg'))->code } 1 .. 3;
    ok t_cmp("@codes", '404 404 404', 'mode-000 original with a fallback: 404 (the fallback holds it, 200 if asked)');
    ok t_cmp(error_log_since($mark) =~ /served by the fallback/ ? 1 : 0, 0, 'the fallback was not asked');
}

# --- S3: a per-key 403 AccessDenied ---------------------------------------------------------------
{
    one_child();
    my $mark = error_log_mark();
    my $before = proxied('denied');
    my @r = map { GET(url('/faults-s3-denied', 'private-Landscape_1.jpg')) } 1 .. 5;
    ok t_cmp(join(' ', map { $_->code } @r), '404 404 404 404 404', 'S3 403 AccessDenied, 5 times: 404 each time');
    ok t_cmp($r[0]->header('Cache-Control') // '-', DEFAULT_ERROR_CACHE_CONTROL, 'briefly cacheable');
    ok t_cmp(proxied('denied') - $before, 5, 'one request each (a 403 is not retried)');
    ok t_cmp(error_log_since($mark) =~ /\[tofu:warn\].*403 AccessDenied.*s3:ListBucket.*s3:GetObject/ ? 1 : 0, 1,
             'logged at warn, naming s3:ListBucket and s3:GetObject');
    # The conditional request's HEAD gets a 403 without a code: one GET tells.
    still_404_and_serving('/faults-s3-denied', 'private-Landscape_1.jpg', 'Landscape_1.jpg', 'AccessDenied');
}

# --- S3: wrong credentials (403 InvalidAccessKeyId) are a fault -------------------------------------
{
    one_child();
    my $mark = error_log_mark();
    my @codes = map { GET(url('/faults-s3-badkey', 'Landscape_1.jpg'))->code } 1 .. 2;
    ok t_cmp("@codes", '502 502', 'S3 403 InvalidAccessKeyId: 502');
    ok t_cmp(error_log_since($mark) =~ /\[tofu:error\].*InvalidAccessKeyId.*check the credentials/ ? 1 : 0, 1,
             'logged at error, saying to check the credentials');
    my $before = proxied('badkey');
    my $r = GET(url('/faults-s3-badkey', 'Landscape_1.jpg'));
    my $retry = $r->header('Retry-After') // '';
    ok t_cmp($r->code . ' ' . ($retry =~ /^\d+$/ && $retry >= 1 && $retry <= 30 ? 'retry' : "no retry '$retry'"),
             '503 retry', 'after 2 faults the breaker is open: 503 with Retry-After');
    ok t_cmp(proxied('badkey') - $before, 0, 'and S3 was not asked');
}

# --- S3: a missing bucket, through a HEAD --------------------------------------------------------------
{
    one_child();
    my $r = GET(url('/faults-s3-nobucket', 'Landscape_1.jpg'), 'If-None-Match' => '"x"');
    ok t_cmp($r->code . ' ' . ($r->header('Cache-Control') // '-'), '502 no-store',
             'NoSuchBucket behind a HEAD (conditional request): 502 no-store, not a cacheable 404');
    $r = GET(url('/faults-s3-nobucket', 'Landscape_1.jpg'));
    ok t_cmp($r->code, 502, 'and a plain GET: 502');
}

# Free any reader a blocking open left stuck on the FIFO (none should be), then tidy up.
if (sysopen my $w, $fifo, O_WRONLY | O_NONBLOCK) {
    close $w;
}
unlink $fifo, "$odd/loop.jpg";
