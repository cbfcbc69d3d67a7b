# Output formats (the URL's extension, else the source's; GIF and others give PNG), every source
# format we decode, quality, and the default quality directive.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $L1 = 'exif-orientation/Landscape_1.jpg';

# [ id, ops, ext, format, width, height, what ]
my @formats = (
    [ $L1, '300x', undef,  'jpeg', 300, 200, 'JPEG source, no extension: JPEG' ],
    [ $L1, '300x', 'jpg',  'jpeg', 300, 200, '.jpg' ],
    [ $L1, '300x', 'png',  'png',  300, 200, 'JPEG source, .png' ],
    [ $L1, '300x', 'webp', 'webp', 300, 200, 'JPEG source, .webp' ],
    [ 'jpeg/progressive.jpg', '300x', undef, 'jpeg', 300, 200, 'progressive JPEG source' ],
    [ 'jpeg/grayscale.jpg',   '300x', undef, 'jpeg', 300, 200, 'grayscale JPEG source' ],
    [ 'jpeg/cmyk.jpg',        '300x', undef, 'jpeg', 300, 200, 'CMYK JPEG source' ],
    [ 'jpeg/baseline.jpg',    '300x', 'webp', 'webp', 300, 200, 'baseline JPEG to WebP' ],
    [ 'other/landscape.gif',  '300x', undef, 'png',  300, 200, 'GIF source, no extension: PNG' ],
    [ 'other/landscape.gif',  '300x', 'jpg', 'jpeg', 300, 200, 'GIF source, .jpg' ],
    [ 'other/landscape-lossy.webp', '300x', undef, 'webp', 300, 200, 'WebP source, no extension: WebP' ],
    [ 'other/landscape-lossy.webp', '300x', 'jpg', 'jpeg', 300, 200, 'WebP source, .jpg' ],
    [ 'other/landscape-alpha.webp', '300x', 'png', 'png',  300, 200, 'WebP with alpha to PNG' ],
    [ 'other/small-lossless-alpha.webp', '40x', undef, 'webp', 40, 27, 'lossless WebP source (200x133)' ],
    [ 'gen/black-1000x700.png', '100x', undef, 'png', 100, 70, 'PNG source, no extension: PNG' ],
);

my @pngsuite = map { "pngsuite/$_.png" }
    qw(basn0g01 basn0g16 basn2c16 basn3p08 basn4a08 basn6a16 basi6a08 tbrn2c08);

plan tests => 3 * @formats + 3 * @pngsuite + 4 + 3 + 4 + 3;

for my $case (@formats) {
    my ($id, $ops, $ext, $format, $w, $h, $what) = @$case;
    my $url = signed_url(id => $id, ops => $ops, ext => $ext);
    my $res = GET $url;
    ok t_cmp($res->code, 200, "$what: GET $url");
    ok t_cmp($res->header('Content-Type'), "image/$format", "$what: Content-Type");
    my $info = image_info($res->content) || {};
    ok t_cmp(join(' ', $info->{format} // '?', $info->{width} // '?', $info->{height} // '?'),
             "$format $w $h", "$what: format and size of the body");
}

# Every PngSuite image we ship decodes, keeps PNG, and is resized (32x32 -> 16x16).
for my $id (@pngsuite) {
    my $url = signed_url(id => $id, ops => '16x16');
    my $res = GET $url;
    ok t_cmp($res->code, 200, "GET $url");
    my $info = image_info($res->content) || {};
    ok t_cmp(join(' ', $info->{format} // '?', $info->{width} // '?', $info->{height} // '?'),
             'png 16 16', "$id: PNG of 16x16");
    ok t_cmp(defined im_info($res->content) ? 1 : 0, 1, "$id: the output decodes");
}

# Colour: the CMYK and grayscale JPEGs (made from the same picture as baseline.jpg) come out as
# the same picture, not inverted or tinted.
{
    my %out = map { $_ => GET(signed_url(id => "jpeg/$_.jpg", ops => '300x', ext => 'png')) }
        qw(baseline cmyk grayscale);
    my $d = rmse($out{cmyk}->content, $out{baseline}->content);
    # cmyk.jpg was made with ImageMagick's naive formula and no profile; the built-in FOGRA39
    # profile reads it as press colours (rmse 0.089 measured; an un-inverted reading is a negative).
    ok t_cmp($d < 0.12 ? 1 : 0, 1, "CMYK source renders like the RGB one (rmse $d)");
    my $im = im_info($out{cmyk}->content) // '';
    ok t_cmp($im =~ /\b(sRGB|RGB)\b/ ? 1 : 0, 1, "CMYK source gives an RGB output ($im)");
    my $g = rmse($out{grayscale}->content, write_gray($out{baseline}->content));
    ok t_cmp($g < 0.08 ? 1 : 0, 1, "grayscale source renders like the RGB one in gray (rmse $g)");
    my $jpeg = GET signed_url(id => 'jpeg/cmyk.jpg', ops => '300x');
    my $info = image_info($jpeg->content) || {};
    ok t_cmp($info->{components} // 0, 3, 'CMYK source gives a 3-component (YCbCr) JPEG');
}

sub write_gray {
    my $png = write_tmp(shift, '.png');
    my $gray = write_tmp('', '.png');
    system("convert '$png' -colorspace Gray -colorspace sRGB '$gray' 2>/dev/null");
    return $gray;
}

# Alpha survives into PNG: the corner of landscape-alpha.webp is transparent.
{
    my $res = GET signed_url(id => 'other/landscape-alpha.webp', ops => '300x', ext => 'png');
    my $file = write_tmp($res->content, '.png');
    my $corner = qx{convert '$file' -format '%[fx:p{0,0}.a]' info: 2>&1};
    my $centre = qx{convert '$file' -format '%[fx:p{150,100}.a]' info: 2>&1};
    ok t_cmp($corner, '0', 'transparent corner stays transparent in PNG');
    ok t_cmp($centre, '1', 'opaque centre stays opaque');
    my $webp = GET signed_url(id => 'other/landscape-alpha.webp', ops => '300x');
    my $wf = write_tmp($webp->content, '.webp');
    my $wcorner = qx{convert '$wf' -format '%[fx:round(p{0,0}.a)]' info: 2>&1};
    ok t_cmp($wcorner, '0', 'transparent corner stays transparent in WebP');
}

# Quality: q30 and q90 differ in size, the default (82) is q82, TofuDefaultQuality applies.
{
    my %len;
    for my $q (30, 82, 90) {
        $len{$q} = GET(signed_url(id => $L1, ops => "600x-q$q"))->content;
    }
    my $default = GET(signed_url(id => $L1, ops => '600x'))->content;
    ok t_cmp(length($len{30}) < 0.8 * length($len{90}) ? 1 : 0, 1,
             'JPEG q30 is clearly smaller than q90 (' . length($len{30}) . ' vs '
             . length($len{90}) . ' bytes)');
    ok t_cmp($default eq $len{82} ? 1 : 0, 1, 'no q means q82 (TofuDefaultQuality default)');
    my $w30 = GET(signed_url(id => $L1, ops => '600x-q30', ext => 'webp'))->content;
    my $w90 = GET(signed_url(id => $L1, ops => '600x-q90', ext => 'webp'))->content;
    ok t_cmp(length($w30) < 0.8 * length($w90) ? 1 : 0, 1,
             'WebP q30 is clearly smaller than q90 (' . length($w30) . ' vs ' . length($w90)
             . ' bytes)');
    # /jpg has TofuDefaultQuality 60: its 600x equals /img's 600x-q60.
    my $q60 = GET(signed_url(id => $L1, ops => '600x-q60'))->content;
    my $jpg = GET(signed_url(prefix => '/jpg', id => 'Landscape_1', ops => '600x'))->content;
    ok t_cmp(length $jpg && $jpg eq $q60 ? 1 : 0, 1,
             'TofuDefaultQuality 60 gives the bytes of an explicit q60');
}

# JPEG output of 100,000 pixels or more is progressive (DESIGN: encode JPEG progressive), a
# smaller thumbnail is baseline (src/transform/encode.rs: JPEG_PROGRESSIVE_MIN_PIXELS says why),
# and neither carries EXIF.
{
    my $res = GET signed_url(id => $L1, ops => '600x');
    my $info = image_info($res->content) || {};
    ok t_cmp($info->{progressive} // 0, 1, 'JPEG output of 600x400 is progressive');
    ok t_cmp(index($res->content, "Exif\0\0") < 0 ? 1 : 0, 1, 'JPEG output carries no EXIF');
    my $small = GET signed_url(id => $L1, ops => '300x');
    my $small_info = image_info($small->content) || {};
    ok t_cmp($small_info->{progressive} // 0, 0, 'JPEG thumbnail of 300x200 is baseline');
}
