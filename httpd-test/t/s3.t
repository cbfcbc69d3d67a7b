# S3 storage through the real module, against a real s3s-fs checking SigV4 (started by
# httpd-test/s3/servers), a fault-injecting proxy in front of it, and a FUSE mount whose reads
# never return. Locations: t/conf/s3.conf.in.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok need);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest ();
use File::Spec::Functions qw(catfile);
use Time::HiRes qw(time sleep);
use TofuTest;

my $control = $ENV{TOFU_TEST_S3_CONTROL}
    or die "TOFU_TEST_S3_CONTROL is not set: run the suite through httpd-test/run\n";
my $toggle = catfile($control, 'toggle-fail');
unlink $toggle;

plan tests => 52;

my $ID = 'Landscape_1.jpg';
my $REFERENCE = original("exif-orientation/$ID");

sub url { my ($prefix, $id, $ops) = @_; signed_url(prefix => $prefix, id => $id // $ID, ops => $ops // '100x', ext => 'jpg') }

# GET with a fresh connection; returns (response, seconds).
sub timed_get {
    my ($path, @headers) = @_;
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
    my $t0 = time;
    my $res = Apache::TestRequest::GET($path, @headers);
    return ($res, time - $t0);
}

# Requests that reached the fault proxy for a mode (each attempt of the SDK's retries counts).
sub proxied {
    my $mode = shift;
    open my $fh, '<', catfile($control, 'requests.log') or return 0;
    return scalar grep { /^\Q$mode\E / } <$fh>;
}

sub touch { open my $fh, '>', shift or die $!; close $fh }

# --- a hit, with the right pixels and S3's validators ------------------------------------------
{
    my ($res) = timed_get(url('/s3'));
    my $info = image_info($res->content) || {};
    ok t_cmp($res->code, 200, 'S3 hit: 200');
    ok t_cmp(join(" ", $info->{format} // "?", ($info->{width} // "?") . "x" . ($info->{height} // "?")), 'jpeg 100x67', 'S3 hit: a 100x67 JPEG');
    my $diff = rmse($res->content, $REFERENCE, '100x67');
    ok t_cmp($diff < 0.05 ? 1 : 0, 1, "S3 hit: the pixels of the original (RMSE $diff)");
    my $etag = $res->header('ETag') // '';
    ok t_cmp($etag =~ /^"[^"]+"$/ ? 1 : 0, 1, "S3 hit: a strong ETag ($etag)");
    ok t_cmp(defined $res->header('Last-Modified') ? 1 : 0, 1, 'S3 hit: Last-Modified from S3');
    my ($again) = timed_get(url('/s3'), 'If-None-Match' => $etag);
    ok t_cmp($again->code, 304, 'S3: If-None-Match answered 304 from a HEAD');
}

# --- a missing key, a refused size --------------------------------------------------------------
{
    my ($res) = timed_get(url('/s3', 'no-such-original.jpg'));
    ok t_cmp($res->code, 404, 'missing key: 404');
    ok t_cmp($res->header('Cache-Control'), DEFAULT_ERROR_CACHE_CONTROL, 'missing key: briefly cacheable');
    ($res) = timed_get(url('/s3-small'));
    ok t_cmp($res->code, 422, 'above TofuMaxSourceBytes: 422 (from Content-Length)');
}

# --- wrong secret: 502 and a log line that says what to fix ---------------------------------------
{
    my $mark = error_log_mark();
    my ($res) = timed_get(url('/s3-badsecret'));
    ok t_cmp($res->code, 502, 'wrong secret: 502');
    ok t_cmp($res->header('Cache-Control'), 'no-store', 'wrong secret: no-store');
    my $log = error_log_since($mark);
    ok t_cmp($log =~ /\[tofu:error\].*502 .*SignatureDoesNotMatch.*check the credentials/ ? 1 : 0, 1,
             'wrong secret: an error line naming SignatureDoesNotMatch and the credentials');
}

# --- S3 stopped: 502 within the timeout; with a fallback, 200 from files ---------------------------
{
    my $mark = error_log_mark();
    my ($res, $took) = timed_get(url('/s3-down'));
    ok t_cmp($res->code, 502, 'S3 stopped: 502');
    ok t_cmp($took < 2.5 ? 1 : 0, 1, sprintf('S3 stopped: answered in %.2fs (timeout 2s)', $took));
    ok t_cmp(error_log_since($mark) =~ /\[tofu:error\].*502 storage failed/ ? 1 : 0, 1, 'S3 stopped: logged');

    $mark = error_log_mark();
    ($res, $took) = timed_get(url('/s3-down-fallback'));
    ok t_cmp($res->code, 200, 'S3 stopped, fallback: 200');
    my $diff = rmse($res->content, $REFERENCE, '100x67');
    ok t_cmp($diff < 0.05 ? 1 : 0, 1, "S3 stopped, fallback: the right pixels (RMSE $diff)");
    ok t_cmp($took < 2.5 ? 1 : 0, 1, sprintf('S3 stopped, fallback: in %.2fs', $took));
    ok t_cmp(error_log_since($mark) =~ /\[tofu:warn\].*served by the fallback storage/ ? 1 : 0, 1,
             'S3 stopped, fallback: a warning says the primary failed');
}

# --- a failing file primary (its root not searchable) with an S3 fallback ---------------------
# (One unreadable file is no fault and never reaches the fallback: t/storage_faults.t.)
{
    my $mark = error_log_mark();
    my ($res) = timed_get(url('/files-s3-fallback', 'unreadable.jpg', '90x'));
    my $info = image_info($res->content) || {};
    ok t_cmp($res->code . ' ' . ($info->{format} // '?'), '200 jpeg', 'file root unreadable: 200 from the S3 fallback');
    ok t_cmp(error_log_since($mark) =~ /\[tofu:warn\].*served by the fallback storage.*storage root is not searchable/ ? 1 : 0, 1,
             'and a warning names the file error');
}

# --- faults injected by the proxy: 500, SlowDown, no answer, a dripping body ---------------------
{
    my $before = proxied('e500');
    my ($res, $took) = timed_get(url('/s3-e500'));
    ok t_cmp($res->code, 502, sprintf('S3 500: 502 (%.2fs)', $took));
    ok t_cmp(proxied('e500') - $before, 3, 'S3 500: retried, 3 attempts in all');
    ok t_cmp($took < 3 ? 1 : 0, 1, 'S3 500: within the 3s bound');

    ($res, $took) = timed_get(url('/s3-slowdown'));
    ok t_cmp($res->code =~ /^50[24]$/ ? 1 : 0, 1, sprintf('S3 SlowDown: %d (%.2fs)', $res->code, $took));
    ok t_cmp($took < 3.5 ? 1 : 0, 1, 'S3 SlowDown: at the 3s bound at most');

    ($res, $took) = timed_get(url('/s3-hang'));
    ok t_cmp($res->code, 504, sprintf('S3 never answers: 504 (%.2fs)', $took));
    ok t_cmp($took > 1.8 && $took < 3.5 ? 1 : 0, 1, 'S3 never answers: at the 2s bound');

    ($res, $took) = timed_get(url('/s3-trickle'));
    ok t_cmp($res->code, 504, sprintf('S3 body dripping: 504 (%.2fs)', $took));
    ok t_cmp($took > 1.8 && $took < 3.5 ? 1 : 0, 1, 'S3 body dripping: at the 2s bound');

    # No worker is left stuck: a burst through the proxy is served at once.
    my $t0 = time;
    my @r = concurrent_gets(12, url('/s3-ok', $ID, '120x'));
    my $ok = grep { $_->[0] == 200 } @r;
    ok t_cmp($ok, 12, sprintf('after the faults, 12 concurrent requests all 200 (%.2fs)', time - $t0));
    ok t_cmp(time - $t0 < 10 ? 1 : 0, 1, 'and promptly');
}

# --- the breaker, with a fallback: opens, skips S3, half-opens, closes -------------------------
# One keep-alive connection, so one child (breakers are per child).
{
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);
    my $get = sub { Apache::TestRequest::GET(url('/s3-breaker')) };
    my $r = $get->();
    ok t_cmp($r->code, 200, 'breaker: 200 while S3 is healthy');
    my $s3_etag = $r->header('ETag');

    touch($toggle);
    my $before = proxied('toggle');
    my @codes = map { $get->()->code } 1 .. 2;
    ok t_cmp("@codes", '200 200', 'breaker: S3 failing, served by the fallback');
    my $tried = proxied('toggle') - $before;
    ok t_cmp($tried >= 2 ? 1 : 0, 1, "breaker: S3 was tried ($tried attempts)");

    $before = proxied('toggle');
    @codes = map { $get->()->code } 1 .. 5;
    ok t_cmp("@codes", '200 200 200 200 200', 'breaker open: still 200 from the fallback');
    ok t_cmp(proxied('toggle') - $before, 0, 'breaker open: S3 not asked at all');

    unlink $toggle;
    my $fallback_etag = $get->()->header('ETag');
    ok t_cmp(proxied('toggle') - $before, 0, 'breaker open during the cooldown even though S3 is back');
    ok t_cmp($fallback_etag ne $s3_etag ? 1 : 0, 1, 'the fallback answer has the file version\'s ETag');

    sleep 3.3;
    $before = proxied('toggle');
    $r = $get->();
    ok t_cmp($r->code, 200, 'after the cooldown: 200');
    ok t_cmp(proxied('toggle') - $before, 1, 'after the cooldown: one probe went to S3');
    ok t_cmp($r->header('ETag'), $s3_etag, 'the probe was served by S3 (its ETag)');
    $get->();
    ok t_cmp(proxied('toggle') - $before, 2, 'breaker closed: S3 serves again');
}

# --- the breaker without a fallback: 503 with Retry-After, S3 not asked -------------------------
{
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 1);
    touch($toggle);
    my @codes = map { Apache::TestRequest::GET(url('/s3-breaker-alone', 'baseline.jpg'))->code } 1 .. 2;
    ok t_cmp("@codes", '502 502', 'no fallback: S3 failing is 502');
    my $before = proxied('toggle');
    my $r = Apache::TestRequest::GET(url('/s3-breaker-alone', 'baseline.jpg'));
    my $retry = $r->header('Retry-After') // '';
    ok t_cmp($r->code, 503, 'no fallback, breaker open: 503');
    ok t_cmp($retry =~ /^\d+$/ && $retry >= 1 && $retry <= 30 ? 1 : 0, 1, "with Retry-After: $retry");
    ok t_cmp(proxied('toggle') - $before, 0, 'and S3 was not asked');
    unlink $toggle;
}

# --- a hung mount: 100 requests cost a few threads, then everything else is served at once -------
{
    my $stuck = url('/hung', 'stuck.jpg');
    my $t0 = time;
    my @codes;
    for (1 .. 5) {
        push @codes, map { $_->[0] } concurrent_gets(20, $stuck);
    }
    my $took = time - $t0;
    my $timeouts = grep { $_ == 504 } @codes;
    ok t_cmp($timeouts, 100, sprintf('hung mount: 100 requests, all 504 (in %.1fs)', $took));

    my ($res, $fast) = timed_get(signed_url(prefix => '/img', id => "exif-orientation/$ID", ops => '100x', ext => 'jpg'));
    ok t_cmp($res->code == 200 && $fast < 1 ? 1 : 0, 1,
             sprintf('hung mount: a healthy image from another root right after: %d in %.2fs', $res->code, $fast));

    # Threads blocked in the mount, per httpd child: only the I/O pool's threads ("tofu-io", at
    # most 4 per storage root; an idle one waits on a futex), never a worker thread (a worker in
    # uninterruptible sleep, state D, would be one).
    my (%per_child, %waits);
    my $workers_stuck = 0;
    for my $task (glob '/proc/[0-9]*/task/[0-9]*') {
        my ($pid) = $task =~ m{^/proc/(\d+)/};
        open my $c, '<', "/proc/$pid/comm" or next;
        my $comm = <$c> // '';
        next unless $comm =~ /^(apache2|httpd)/;
        open my $w, '<', "$task/wchan" or next;
        my $wchan = <$w> // '';
        open my $t, '<', "$task/stat" or next;
        my ($thread, $state) = (<$t> // '') =~ /\((.*)\) (\S)/;
        if (($thread // '') =~ /^tofu-io/) {
            next if $wchan =~ /futex/;
            $per_child{$pid}++;
            $waits{$wchan}++;
        }
        elsif (($state // '') eq 'D') {
            $workers_stuck++;
        }
    }
    my ($max) = sort { $b <=> $a } values %per_child;
    $max //= 0;
    ok t_cmp($workers_stuck, 0, 'hung mount: no httpd worker thread is stuck in it');
    ok t_cmp($max >= 1 && $max <= 4 ? 1 : 0, 1,
             "hung mount: at most 4 I/O threads per child stuck (max $max over "
             . scalar(keys %per_child) . ' children, waiting in ' . join(',', sort keys %waits) . ')');

    # The mount comes back (its reads now fail with EIO): the stuck threads are freed, the pool
    # serves again (a 502 for the I/O error, at once), and httpd can stop.
    my $release = $ENV{TOFU_TEST_HUNG_RELEASE} or die "TOFU_TEST_HUNG_RELEASE is not set\n";
    touch($release);
    sleep 1.5;
    my ($back, $took_back) = timed_get($stuck);
    ok t_cmp($back->code == 502 && $took_back < 1 ? 1 : 0, 1,
             sprintf('mount back: the pool serves again (%d in %.2fs)', $back->code, $took_back));
    unlink $release;
}
