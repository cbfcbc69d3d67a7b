# The URL grammar: canonical URLs only (404 otherwise, even when correctly signed), missing
# originals (404), percent-encoded ids, and the source key template.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $id = 'exif-orientation/Landscape_1.jpg';
my $key = SECRET_FILE_FIRST;

# Each is signed correctly (over exactly what the URL carries), so only the grammar can refuse it.
# [ id as sent, ops, ext, what ]
my @not_found = (
    [ $id, '0280x210',          undef,  'leading zero in the width' ],
    [ $id, '280x0210',          undef,  'leading zero in the height' ],
    [ $id, '280x210-q080',      undef,  'leading zero in the quality' ],
    [ $id, '280x210c-gn-q80',   undef,  'options out of order (g before q)' ],
    [ $id, '280x-r0,0,10,10-q80', undef, 'options out of order (r before q)' ],
    [ $id, '280x-q80-q80',      undef,  'duplicate option' ],
    [ $id, '280x-q80-q70',      undef,  'option given twice with different values' ],
    [ $id, '280x-e0123',        undef,  'leading zero in the expiry' ],
    [ $id, '280x-e1-q80',       undef,  'expiry not the last option' ],
    [ $id, '280X210',           undef,  'uppercase X' ],
    [ $id, 'x',                 undef,  'neither width nor height' ],
    [ $id, '280x210C',          undef,  'uppercase C' ],
    [ $id, '280x210-z5',        undef,  'unknown option' ],
    [ $id, '280x210c-gx',       undef,  'unknown gravity' ],
    [ $id, '280x210-',          undef,  'trailing dash' ],
    [ $id, '-280x210',          undef,  'leading dash' ],
    [ $id, '280x210c-gc',       undef,  'centre spelled out (it is the default: no option)' ],
    [ $id, '280x-r0,0,10',      undef,  'region with three numbers' ],
    [ $id, '+280x210',          undef,  'plus sign' ],
    [ $id, '280x210',           'gif',  'unknown extension .gif' ],
    [ $id, '280x210',           'jpeg', 'unknown extension .jpeg' ],
    [ $id, '280x210',           'JPG',  'uppercase extension' ],
    [ $id, '280x210',           '',     'empty extension' ],
    [ $id, '280x210',           'AVIF', 'uppercase .AVIF' ],
    [ $id, '280x-bFFFFFF',      undef,  'uppercase hex in the background' ],
    [ $id, '280x-bfff',         undef,  'three-digit background' ],
    [ $id, '280x-bffffff0',     undef,  'seven-digit background' ],
    [ $id, '280x-b#ffffff',     undef,  'background with a #' ],
    [ $id, '280x-bffffff-q80',  undef,  'options out of order (b before q)' ],
    [ $id, '280x210c-bffffff-gn', undef, 'options out of order (b before g)' ],
    [ $id, '280x-e5-bffffff',   undef,  'background after the expiry' ],
    [ $id, '280x-b000000-bffffff', undef, 'background given twice' ],
    [ "exif-orientation/./Landscape_1.jpg", '280x210', undef, '"." segment in the id' ],
    [ "exif-orientation/../exif-orientation/Landscape_1.jpg", '280x210', undef, '".." segment in the id' ],
    [ "exif-orientation/%2E%2E/exif-orientation/Landscape_1.jpg", '280x210', undef, '"%2E%2E" segment in the id' ],
    [ "odd%20names/a%20b%23%281%29.jpg", '100x', undef, 'sub-delims percent-encoded (not canonical)' ],
    [ "odd%20names/caf%c3%a9.jpg",  '100x', undef, 'lowercase percent-encoding (not canonical)' ],
    [ "odd%20names/caf%C3%A9%2Ejpg", '100x', undef, 'unreserved "." percent-encoded (not canonical)' ],
    [ "does/not/exist.jpg",  '280x210', undef, 'missing original' ],
    [ "exif-orientation",    '280x210', undef, 'a directory, not an original' ],
    [ "gen/directory.jpg",   '280x210', undef, 'a directory named like an image' ],
);

# Ids that need encoding, canonically encoded: 200.
my @odd = ('odd names/a b#(1).jpg', "odd names/caf\x{e9}.jpg");

# A correct signature spelled in uppercase hex is another URL for the same image: not canonical.
my $upper = "/img/$id/280x210/" . uc signature($key, "$id/280x210");

plan tests => 3 * @not_found + 2 * @odd + 2 + 5 + 2 + 2;

for my $case (@not_found) {
    my ($sent, $ops, $ext, $what) = @$case;
    my $path = signed_url(id => $sent, ops => $ops, ext => $ext, key => $key);
    my $res = GET $path;
    ok t_cmp($res->code, 404, "$what: GET $path");
    ok t_cmp($res->header('Cache-Control'), DEFAULT_ERROR_CACHE_CONTROL, "$what: Cache-Control");
    ok t_cmp(($res->header('Content-Type') // '') =~ m{^image/} ? 1 : 0, 0, "$what: no image");
}

for my $name (@odd) {
    my $enc = enc_id($name);
    my $path = signed_url(id => $enc, ops => '100x', key => $key);
    my $res = GET $path;
    ok t_cmp($res->code, 200, "id '$name' encoded as $enc: GET $path");
    my $info = image_info($res->content) || {};
    ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'), '100x67', "$enc: image");
}
ok t_cmp(enc_id('odd names/a b#(1).jpg'), 'odd%20names/a%20b%23(1).jpg', 'encoding of sub-delims');
ok t_cmp(enc_id("caf\x{e9}"), 'caf%C3%A9', 'UTF-8 bytes are encoded with uppercase hex');

# Paths that never reach a signature check: too few segments, nothing after the prefix.
for my $path ('/img/', '/img/x', "/img/$id/280x210", "/img/280x210/" . ('ab' x 16), $upper) {
    my $res = GET $path;
    ok t_cmp($res->code, 404, "GET $path");
}

# TofuSourceKey: /jpg maps id Landscape_1 to exif-orientation/Landscape_1.jpg.
{
    my $res = GET signed_url(prefix => '/jpg', id => 'Landscape_1', ops => '280x210', key => SECRET);
    my $info = image_info($res->content) || {};
    ok t_cmp($res->code . ' ' . ($info->{width} // '?') . 'x' . ($info->{height} // '?'),
             '200 280x187', 'TofuSourceKey exif-orientation/{id}.jpg finds the original');
    my $res2 = GET signed_url(prefix => '/jpg', id => 'Landscape_1.jpg', ops => '280x210', key => SECRET);
    ok t_cmp($res2->code, 404, 'TofuSourceKey: Landscape_1.jpg.jpg does not exist');
}

# The canonical form of every option together, in the order q, r, g, b, e: 200.
{
    my $ops = '280x210c-q80-r0,0,1800,1200-gn-b1a2b3c-e' . (time + 3600);
    my $res = GET signed_url(id => $id, ops => $ops, ext => 'avif', key => $key);
    ok t_cmp($res->code, 200, "every option in canonical order: $ops");
    ok t_cmp($res->header('Content-Type') // '', 'image/avif', '...as AVIF');
}
