# Colour management through the module: sources tagged with an ICC profile (testdata/colour/,
# how each was made in its README) come out close to libvips' colour-managed rendering of them;
# sRGB-tagged and untagged sources keep their pixels; a broken profile is ignored with a debug
# line. Pixels are compared as ImageMagick decodes them, with no profile applied on either side.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

# Fixture, its reference (testdata/colour/reference/), and the URL extension asked.
my @tagged = (
    ['p3.jpg', 'p3-jpg', 'png'], ['p3.png', 'p3-png', 'png'], ['p3.webp', 'p3-webp', 'png'],
    ['adobe-rgb.jpg', 'adobe-rgb-jpg', 'png'], ['adobe-rgb.png', 'adobe-rgb-png', 'png'],
    ['gray-gamma22.jpg', 'gray-gamma22-jpg', 'png'], ['gray-gamma22.png', 'gray-gamma22-png', 'png'],
    ['cmyk-profile.jpg', 'cmyk-profile-jpg', 'png'], ['cmyk-none.jpg', 'cmyk-none-jpg', 'png'],
    # The usual answer: a JPEG thumbnail in the source's format.
    ['p3.jpg', 'p3-jpg', undef], ['cmyk-profile.jpg', 'cmyk-profile-jpg', undef],
);

# Mean absolute difference (0-255 per channel) allowed from the reference. Measured through the
# module: 0.00 at full size (the module runs the same Little CMS transform as the reference), at
# most 0.66 at half size for a PNG answer (the resamplers differ, and the module converts after
# the resize), 1.44 for a JPEG one; without colour management the fixtures are 3.5 (grey) to 20
# (CMYK) away, which must fail the check by a margin (> CLOSE + 1). A JPEG answer is compared
# with the module's JPEG of the reference (same encoder, same 4:2:0 chroma), since chroma
# subsampling alone moves these saturated patches by 4 to 6.
use constant CLOSE => 2.0;

# 8-bit RGB samples of an image (bytes or a file) scaled to exactly WxH by ImageMagick, any
# embedded profile left unapplied.
sub samples {
    my ($image, $size) = @_;
    my $file = (length($image) < 4096 && $image !~ /[\0\n]/ && -e $image) ? $image : write_tmp($image);
    my $raw = qx{convert '$file' +profile '*' -resize '$size!' -depth 8 -type TrueColor rgb:- 2>/dev/null};
    return [unpack 'C*', $raw];
}

sub mean_diff {
    my ($a, $b) = @_;
    return 255 unless @$a && @$a == @$b;
    my $sum = 0;
    $sum += abs($a->[$_] - $b->[$_]) for 0 .. $#$a;
    return $sum / @$a;
}

my $colour = join '/', data_dir(), 'store', 'colour';

plan tests => 4 * @tagged + 1 + 4 + 4;

for my $t (@tagged) {
    my ($fixture, $reference, $ext) = @$t;
    my $ref = "$colour/reference/$reference.png";
    for my $size ('192x128', '96x64') {
        my $url = signed_url(id => "colour/$fixture", ops => $size, ext => $ext);
        my $res = GET $url;
        my $want = defined $ext ? $ref : GET(signed_url(id => "colour/reference/$reference.png",
                                                        ops => $size, ext => 'jpg'))->content;
        my $d = $res->code == 200 ? mean_diff(samples($res->content, $size), samples($want, $size))
                                  : 255;
        ok t_cmp($d <= CLOSE ? 1 : 0, 1,
                 sprintf('%s %s%s: %.2f from the reference', $fixture, $size,
                         defined $ext ? ".$ext" : '', $d));
        if ($size eq '96x64') {
            # The same fixture taken as sRGB (what the module did before): far from it, so the
            # comparison above can fail.
            my $raw = mean_diff(samples("$colour/$fixture", $size), samples($ref, $size));
            ok t_cmp($raw > CLOSE + 1 ? 1 : 0, 1,
                     sprintf('%s unmanaged is %.2f from the reference', $fixture, $raw));
        }
    }
    my $res = GET signed_url(id => "colour/$fixture", ops => '96x64', ext => $ext);
    ok t_cmp(index($res->content, 'ICC_PROFILE') < 0 && index($res->content, 'iCCP') < 0
             ? 1 : 0, 1, "$fixture: the answer carries no profile");
}

# The embedded CMYK profile is honoured: its rendering and the default profile's differ.
{
    my $with = samples("$colour/reference/cmyk-profile-jpg.png", '96x64');
    my $res = GET signed_url(id => 'colour/cmyk-none.jpg', ops => '96x64', ext => 'png');
    my $d = mean_diff(samples($res->content, '96x64'), $with);
    ok t_cmp($d > CLOSE + 1 ? 1 : 0, 1, sprintf('untagged CMYK is %.2f from the tagged rendering', $d));
}

# sRGB-tagged and untagged: the pixels do not move. The same JPEG data with and without an sRGB
# APP2 segment gives the same bytes; a PNG at its own size keeps exactly its pixels.
{
    my $plain  = GET signed_url(id => 'jpeg/baseline.jpg', ops => '300x200');
    my $tagged = GET signed_url(id => 'colour/srgb.jpg', ops => '300x200');
    ok t_cmp($tagged->code, 200, 'sRGB-tagged JPEG');
    ok t_cmp($tagged->content eq $plain->content ? 1 : 0, 1,
             'sRGB-tagged JPEG: the same bytes as the untagged one');
    my $original = samples("$colour/src.png", '192x128');
    for my $name ('src.png', 'srgb.png') {
        my $res = GET signed_url(id => "colour/$name", ops => '192x128', ext => 'png');
        ok t_cmp(mean_diff(samples($res->content, '192x128'), $original), 0,
                 "$name at its own size: every pixel as it was");
    }
}

# A broken profile: the image is served as sRGB, and LogLevel tofu:debug says why.
{
    for my $prefix ('/colour-debug', '/img') {
        my $mark = error_log_mark();
        my $res = GET signed_url(prefix => $prefix, id => 'hostile/icc-lies.jpg', ops => '64x');
        ok t_cmp($res->code, 200, "$prefix: a profile that lies is ignored");
        my $log = error_log_since($mark);
        my $said = $log =~ /colour profile ignored.*icc-lies\.jpg/ ? 1 : 0;
        ok t_cmp($said, $prefix eq '/img' ? 0 : 1,
                 "$prefix: the debug line only where tofu:debug is set");
    }
}
