# Signatures: 403 for anything but a good one, key rotation, TofuSecretFile, TofuSignatureBytes,
# and one info-level error-log line per refusal.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $id  = 'exif-orientation/Landscape_1.jpg';
my $ops = '280x210';
my $good = signature(SECRET_FILE_FIRST, "$id/$ops");
my $good_png = signature(SECRET_FILE_FIRST, "$id/$ops.png");

# [ path, what ] : all must be 403.
my @forbidden = (
    [ "/img/$id/$ops/" . signature('not-the-key', "$id/$ops"),  'signed with an unknown key' ],
    [ "/img/$id/$ops/",                                          'missing signature' ],
    [ "/img/$id/$ops/.jpg",                                      'missing signature, with extension' ],
    [ "/img/$id/280x211/$good",                                  'signature of another size' ],
    [ "/img/$id/280x210c/$good",                                 'signature of fit used for fill' ],
    [ "/img/exif-orientation/Landscape_6.jpg/$ops/$good",        'signature of another id' ],
    [ "/img/$id/$ops/$good.png",                                 'signature without extension used with .png' ],
    [ "/img/$id/$ops/$good_png",                                 'signature of .png used without extension' ],
    [ "/img/$id/$ops/$good_png.webp",                            'signature of .png used with .webp' ],
    [ "/img/$id/$ops/" . substr($good, 0, 30),                   'truncated signature (15 bytes)' ],
    [ "/img/$id/$ops/" . substr($good, 0, 16),                   'truncated signature (8 bytes)' ],
    [ "/img/$id/$ops/${good}00",                                 'signature with an extra byte' ],
    [ "/img/$id/$ops/" . ('0' x 32),                             'all-zero signature' ],
    [ "/img/$id/$ops/" . signature(SECRET_FILE_FIRST, "$id/$ops", 32), 'full 32-byte HMAC where 16 are configured' ],
    [ "/img/does/not/exist.jpg/$ops/" . ('ab' x 16),             'bad signature for a missing original (no existence oracle)' ],
    [ "/img/$id/$ops/" . signature(SECRET, "$id/$ops"),          '/img does not take the inline key of other locations' ],
    [ "/rot/$id/$ops/" . signature('tofu-test-secret-2000', "$id/$ops"), '/rot: a key that was never configured' ],
    [ "/short/$id/$ops/" . signature(SECRET, "$id/$ops", 16),    '/short (8 bytes): a 16-byte signature' ],
    [ "/short/$id/$ops/" . signature(SECRET, "$id/$ops", 9),     '/short (8 bytes): a 9-byte signature' ],
);

# [ path, what ] : all must be 200.
my @allowed = (
    [ "/img/$id/$ops/$good",                                    'first key of TofuSecretFile' ],
    [ "/img/$id/$ops/" . signature(SECRET_FILE_SECOND, "$id/$ops"), 'second key of TofuSecretFile verifies' ],
    [ "/img/$id/$ops/$good_png.png",                            'signature covers the extension' ],
    [ "/rot/$id/$ops/" . signature(SECRET, "$id/$ops"),         '/rot: the new (first) key' ],
    [ "/rot/$id/$ops/" . signature(SECRET_OLD, "$id/$ops"),     '/rot: the old key still verifies' ],
    [ "/short/$id/$ops/" . signature(SECRET, "$id/$ops", 8),    '/short: 8-byte signature' ],
);

plan tests => 3 * @forbidden + 2 * @allowed + 5;

for my $case (@forbidden) {
    my ($path, $what) = @$case;
    my $res = GET $path;
    ok t_cmp($res->code, 403, "$what: GET $path");
    ok t_cmp($res->header('Cache-Control'), DEFAULT_ERROR_CACHE_CONTROL, "$what: Cache-Control");
    my $body = $res->content // '';
    ok t_cmp($body =~ /$good|$good_png|[0-9a-f]{32}/ ? 1 : 0, 0,
             "$what: the body gives no signature away");
}

for my $case (@allowed) {
    my ($path, $what) = @$case;
    my $res = GET $path;
    ok t_cmp($res->code, 200, "$what: GET $path");
    my $info = image_info($res->content) || {};
    ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'), '280x187', "$what: image");
}

# 8-byte signatures are 16 hex digits in the URL.
ok t_cmp(length signature(SECRET, "$id/$ops", 8), 16, 'an 8-byte signature is 16 hex digits');

# One error-log line per refusal, at info level, from the tofu module, naming no key.
{
    my $mark = error_log_mark();
    my $path = "/img/$id/$ops/" . ('ab' x 16);
    my $res = GET $path;
    my $log = error_log_since($mark);
    my @lines = grep { /\[tofu:/ } split /\n/, $log;
    ok t_cmp($res->code, 403, "GET $path");
    ok t_cmp(scalar @lines, 1, 'exactly one tofu error-log line for a 403');
    ok t_cmp(($lines[0] // '') =~ /\[tofu:info\]/ ? 1 : 0, 1,
             'bad signatures are logged at info: ' . ($lines[0] // '(none)'));
    my $leak = grep { index($log, $_) >= 0 }
        (SECRET_FILE_FIRST, SECRET_FILE_SECOND, $good);
    ok t_cmp($leak, 0, 'the log line shows neither a key nor the right signature');
}
