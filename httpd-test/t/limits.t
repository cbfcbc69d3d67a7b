# Values out of range (400, one-line body), originals we refuse (422, one-line body), a storage
# fault (502, no-store), and the Cache-Control of each status class, default and configured.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $L1 = 'exif-orientation/Landscape_1.jpg';      # 1800x1200, 347 KB
my $small_jpeg = 'jpeg/baseline.jpg';             # 600x400, well under every /small limit

# [ prefix, id, ops, ext, status, body pattern, what ]
my @refused = (
    [ '/img', $L1, '280x-q0',    undef, 400, qr/q|quality/i, 'q0' ],
    [ '/img', $L1, '280x-q101',  undef, 400, qr/q|quality/i, 'q101' ],
    [ '/img', $L1, '5000x',      undef, 400, qr/width|size|dimension|4096/i, 'width above TofuMaxOutputDimension (4096)' ],
    [ '/img', $L1, 'x4097',      undef, 400, qr/height|size|dimension|4096/i, 'height above TofuMaxOutputDimension (4096)' ],
    [ '/img', $L1, '280x-r1000,1000,900,900', undef, 400, qr/region/i, 'region outside the image' ],
    [ '/img', $L1, '280x-r1800,0,1,1', undef, 400, qr/region/i, 'region starting past the right edge' ],
    [ '/img', $L1, '280x-r0,0,1801,1200', undef, 400, qr/region/i, 'region one pixel too wide' ],
    [ '/img', $L1, '280x-r0,0,0,10', undef, 400, qr/region/i, 'empty region' ],
    [ '/small', $small_jpeg, '501x', undef, 400, qr/width|size|dimension|500/i, 'width above /small TofuMaxOutputDimension 500' ],
    [ '/img', 'bad/not-an-image.jpg', '280x', undef, 422, qr/./, 'HTML saved as .jpg' ],
    [ '/img', 'bad/flood.png', '280x', undef, 422, qr/pixel|large|big|limit|dimension/i, 'pixel-flood PNG (30000x30000 declared)' ],
    [ '/img', 'bad/flood.jpg', '280x', undef, 422, qr/pixel|large|big|limit|dimension/i, 'pixel-flood JPEG (60000x60000 declared)' ],
    [ '/img', 'pngsuite/xs1n0g01.png', '16x', undef, 422, qr/./, 'corrupt PNG: bad signature' ],
    [ '/img', 'pngsuite/xcrn0g04.png', '16x', undef, 422, qr/./, 'corrupt PNG: added CR bytes' ],
    [ '/img', 'pngsuite/xhdn0g08.png', '16x', undef, 422, qr/./, 'corrupt PNG: bad IHDR checksum' ],
    [ '/img', 'pngsuite/xd0n2c08.png', '16x', undef, 422, qr/./, 'corrupt PNG: bad bit depth' ],
    [ '/small', $L1, '280x', undef, 422, qr/byte|large|big|limit|size/i, 'original above /small TofuMaxSourceBytes 200000' ],
    [ '/small', 'gen/black-1000x700.png', '280x', undef, 422, qr/pixel|large|big|limit/i, 'original above /small TofuMaxSourcePixels 500000' ],
);

plan tests => 4 * @refused + 4 + 6 + 3;

for my $case (@refused) {
    my ($prefix, $id, $ops, $ext, $status, $pattern, $what) = @$case;
    my $path = signed_url(prefix => $prefix, id => $id, ops => $ops, ext => $ext,
                          key => $prefix eq '/img' ? SECRET_FILE_FIRST : SECRET);
    my $res = GET $path;
    my $body = $res->content // '';
    ok t_cmp($res->code, $status, "$what: GET $path");
    ok t_cmp(one_line($body), 1, "$what: one-line body: '$body'");
    ok t_cmp($body =~ $pattern ? 1 : 0, 1, "$what: the body says why ($pattern)");
    ok t_cmp($res->header('Cache-Control'),
             $prefix eq '/small' ? 'no-cache' : DEFAULT_ERROR_CACHE_CONTROL,
             "$what: error Cache-Control");
}

# Limits are limits, not off-by-one: exactly the maximum is fine.
{
    my $res = GET signed_url(id => $L1, ops => '4096x4096', key => SECRET_FILE_FIRST);
    ok t_cmp($res->code, 200, 'width and height of exactly 4096 are accepted');
    $res = GET signed_url(prefix => '/small', id => $small_jpeg, ops => '500x', key => SECRET);
    ok t_cmp($res->code, 200, '/small: width of exactly 500 is accepted');
    ok t_cmp($res->header('Cache-Control'), 'public, max-age=600', '/small: TofuCacheControl on 200');
    $res = GET signed_url(id => $L1, ops => '280x-q1', key => SECRET_FILE_FIRST);
    ok t_cmp($res->code . ' ' . ($res->header('Content-Type') // ''), '200 image/jpeg', 'q1 is accepted');
}

# A storage fault (the server may not search the storage root, t/conf/storage_faults.conf.in):
# 502, no-store, logged at error level. (One unreadable original is a 404: t/storage_faults.t.)
{
    my $mark = error_log_mark();
    my $path = signed_url(prefix => '/locked', id => 'bad/unreadable.jpg', ops => '280x', key => SECRET);
    my $res = GET $path;
    my $log = error_log_since($mark);
    ok t_cmp($res->code, 502, "unreadable original: GET $path");
    ok t_cmp($res->header('Cache-Control'), 'no-store', '5xx: Cache-Control no-store');
    my @lines = grep { /\[tofu:/ } split /\n/, $log;
    ok t_cmp(scalar @lines, 1, 'one tofu error-log line for a storage fault');
    ok t_cmp(($lines[0] // '') =~ /\[tofu:error\]/ ? 1 : 0, 1,
             'storage faults are logged at error: ' . ($lines[0] // '(none)'));
    $path = signed_url(prefix => '/locked-small', id => 'bad/unreadable.jpg', ops => '280x', key => SECRET);
    $res = GET $path;
    ok t_cmp($res->code . ' ' . ($res->header('Cache-Control') // ''), '502 no-store',
             '5xx is no-store even where TofuErrorCacheControl is set');
    ok t_cmp(($res->content // '') =~ m{/tmp|store|Permission} ? 1 : 0, 0,
             'the 502 body does not show server paths or OS errors');
}

# Every non-2xx logs exactly one line: a 404 for a missing original, a 400 and a 422.
for my $case ([ 'does/not/exist.jpg', '280x', 404 ], [ $L1, '280x-q0', 400 ],
              [ 'bad/not-an-image.jpg', '280x', 422 ]) {
    my ($id, $ops, $status) = @$case;
    my $mark = error_log_mark();
    my $res = GET signed_url(id => $id, ops => $ops, key => SECRET_FILE_FIRST);
    my @lines = grep { /\[tofu:/ } split /\n/, error_log_since($mark);
    ok t_cmp($res->code . ' ' . scalar(@lines), "$status 1",
             "$status for $id/$ops writes one tofu error-log line");
}
