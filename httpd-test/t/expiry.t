# Expiring URLs (issue 13): `-e<unix-seconds>` is signed like the other options; before it the
# answer's Cache-Control lives no longer than the URL (max-age capped, never immutable, 200 and
# 304 alike); from it on the URL is the 404 of a missing original, conditional requests included.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $id = 'exif-orientation/Landscape_1.jpg';
my $year = 31536000;    # max-age of DEFAULT_CACHE_CONTROL

sub max_age { ($_[0] // '') =~ /(?:^|,\s*)max-age=(\d+)/ ? $1 : -1 }

sub size {
    my $r = shift;
    my $i = image_info($r->content) || {};
    $r->code . ' ' . ($i->{width} // '?') . 'x' . ($i->{height} // '?');
}

plan tests => 7 + 4 + 2 + 6 + 3 + 5 + 5;

# --- Far in the future (ten years): served; max-age is the location's (a year), under the seconds
# left, and never immutable.
{
    my $expires = time + 10 * $year;
    my $path = signed_url(id => $id, ops => '120x', expires => $expires);
    my $r = GET $path;
    my $cc = $r->header('Cache-Control') // '-';
    ok t_cmp(size($r), '200 120x80', "GET $path");
    ok t_cmp($cc, "public, max-age=$year", 'the configured max-age, shorter than ten years');
    ok t_cmp(max_age($cc) <= $expires - time ? 1 : 0, 1, "max-age <= the seconds left: $cc");
    ok t_cmp($cc =~ /immutable/ ? 1 : 0, 0, 'never immutable');
    my $plain = GET signed_url(id => $id, ops => '120x');
    ok t_cmp(($r->header('ETag') // 'a') ne ($plain->header('ETag') // 'a') ? 1 : 0, 1,
             'another URL than the same ops without an expiry: another ETag');
    my $later = GET signed_url(id => $id, ops => '120x', expires => $expires + 1);
    ok t_cmp(($r->header('ETag') // 'a') ne ($later->header('ETag') // 'a') ? 1 : 0, 1,
             'another expiry: another ETag');
    my $moved = $path =~ s/-e$expires/-e@{[$expires + 1]}/r;
    ok t_cmp((GET $moved)->code, 403, "the expiry is signed: $moved");
}

# --- An hour from now: max-age is the seconds left; the 304 says the same.
{
    my $expires = time + 3600;
    my $path = signed_url(id => $id, ops => '121x', expires => $expires);
    my $r = GET $path;
    my $age = max_age($r->header('Cache-Control'));
    ok t_cmp($r->code, 200, "GET $path");
    ok t_cmp($age > 3500 && $age <= $expires - time ? 1 : 0, 1,
             'max-age is the seconds left: ' . ($r->header('Cache-Control') // '-'));
    my $r304 = GET $path, 'If-None-Match' => $r->header('ETag') // '"none"';
    my $cc = $r304->header('Cache-Control') // '-';
    ok t_cmp($r304->code, 304, 'revalidation with its ETag');
    ok t_cmp(max_age($cc) <= $age && $cc !~ /immutable/ ? 1 : 0, 1,
             "the 304's Cache-Control is capped too: $cc");
}

# --- A location's own, shorter TofuCacheControl wins over the seconds left.
{
    # /small's limits refuse the 347 KB Landscape_1.jpg: a smaller original.
    my $r = GET signed_url(prefix => '/small', id => 'jpeg/baseline.jpg', ops => '122x',
                           key => SECRET, expires => time + 3600);
    ok t_cmp($r->code, 200, '/small, an hour left');
    ok t_cmp($r->header('Cache-Control') // '-', 'public, max-age=600',
             '/small: its max-age=600 is shorter than the hour left');
}

# --- Already expired: the 404 of a missing original, logged at info with the time.
{
    my $expires = time - 60;
    my $path = signed_url(id => $id, ops => '120x', expires => $expires);
    my $mark = error_log_mark();
    my $r = GET $path;
    my @lines = grep { /\[tofu:/ } split /\n/, error_log_since($mark);
    ok t_cmp($r->code, 404, "GET $path (expired a minute ago)");
    ok t_cmp($r->header('Cache-Control') // '-', DEFAULT_ERROR_CACHE_CONTROL,
             'the error Cache-Control');
    ok t_cmp(($r->header('Content-Type') // '') =~ m{^image/} || defined $r->header('ETag')
             ? 1 : 0, 0, 'no image, no ETag');
    my $missing_path = signed_url(id => 'does/not/exist.jpg', ops => '120x');
    my $missing = GET $missing_path;
    # Older httpds name the path in their 404 page: compare without it.
    ok t_cmp(($r->content // '') =~ s/\Q$path\E//r, ($missing->content // '') =~ s/\Q$missing_path\E//r,
             'the same body as a missing original');
    ok t_cmp(scalar @lines, 1, 'one tofu error-log line');
    ok t_cmp(($lines[0] // '') =~ /\[tofu:info\].*404 expired: the URL expired at \w{3}, .* GMT \(e$expires\)/
             ? 1 : 0, 1, 'logged at info with the time: ' . ($lines[0] // '(none)'));
}
{
    my $r = GET signed_url(prefix => '/small', id => $id, ops => '120x', key => SECRET,
                           expires => 1);
    ok t_cmp($r->code . ' ' . ($r->header('Cache-Control') // '-'), '404 no-cache',
             'expired under /small: its TofuErrorCacheControl');
    ok t_cmp((GET signed_url(id => $id, ops => '120x', expires => 0))->code, 404, 'e0: expired');
    my $forged = "/img/$id/120x-e1/" . ('ab' x 16);
    ok t_cmp((GET $forged)->code, 403, 'the signature is checked first: an unsigned one is 403');
}

# --- Conditional requests after expiry are 404, never 304; and the canonical form.
{
    my $path = signed_url(id => $id, ops => '123x', expires => time - 5);
    for my $h (['If-None-Match' => '*'],
               ['If-Modified-Since' => 'Fri, 01 Jan 2100 00:00:00 GMT']) {
        my $r = GET $path, @$h;
        ok t_cmp($r->code, 404, "expired, $h->[0]: $h->[1]");
    }
    for my $case (['0123', 404, 'leading zero'],
                  [(time + 3600) . '-e' . (time + 7200), 404, 'two expiries'],
                  ['9223372036854775808', 400, 'above the largest time_t']) {
        my ($e, $code, $what) = @$case;
        my $path = signed_url(id => $id, ops => '120x', expires => $e);
        ok t_cmp((GET $path)->code, $code, "$what: GET $path");
    }
}

# --- Presets take an expiry too (README: Expiring URLs), TofuPresetsOnly included.
{
    my $expires = time + 3600;
    my $thumb = GET signed_url(prefix => '/presets', id => $id, ops => 'thumb', expires => $expires);
    ok t_cmp(size($thumb), '200 280x210', 'thumb-e<in an hour>: the preset');
    ok t_cmp(max_age($thumb->header('Cache-Control')) <= 3600 ? 1 : 0, 1,
             'capped: ' . ($thumb->header('Cache-Control') // '-'));
    ok t_cmp(size(GET signed_url(prefix => '/presets-only', id => $id, ops => 'thumb',
                                 expires => $expires)),
             '200 280x210', 'TofuPresetsOnly: a preset with an expiry is served');
    ok t_cmp((GET signed_url(prefix => '/presets-only', id => $id, ops => 'thumb',
                             expires => time - 1))->code, 404, 'an expired preset URL is 404');
    ok t_cmp((GET signed_url(prefix => '/presets-only', id => $id, ops => '280x210c-q80',
                             expires => $expires))->code, 404,
             'TofuPresetsOnly: free-form ops with an expiry are still 404');
}
