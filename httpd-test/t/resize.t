# Geometry: fit, width-only, height-only, fill with gravity, region, never upscaling; checked on
# the returned image's own header and, where it matters, against a reference cut by ImageMagick.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $L1 = 'exif-orientation/Landscape_1.jpg';    # 1800x1200
my $P1 = 'exif-orientation/Portrait_1.jpg';     # 1200x1800

# [ id, ops, ext, expected width, height, format ]
my @geometry = (
    [ $L1, '280x210',    undef, 280, 187, 'jpeg', 'fit inside the box' ],
    [ $L1, '280x',       undef, 280, 187, 'jpeg', 'width only' ],
    [ $L1, 'x210',       undef, 315, 210, 'jpeg', 'height only' ],
    [ $L1, '280x210c',   undef, 280, 210, 'jpeg', 'fill crops to the exact box' ],
    [ $L1, '210x280c',   undef, 210, 280, 'jpeg', 'fill, portrait box from a landscape source' ],
    [ $L1, '100x100c',   undef, 100, 100, 'jpeg', 'fill, square' ],
    [ $P1, '280x210',    undef, 140, 210, 'jpeg', 'fit, portrait source' ],
    [ $P1, '280x210c',   undef, 280, 210, 'jpeg', 'fill, portrait source' ],
    [ $L1, '3000x3000',  undef, 1800, 1200, 'jpeg', 'fit never upscales' ],
    [ $L1, '4000x',      undef, 1800, 1200, 'jpeg', 'width-only never upscales' ],
    [ $L1, '1800x1200',  undef, 1800, 1200, 'jpeg', 'same size' ],
    [ $L1, '1x',         undef, 1, 1, 'jpeg', 'one pixel wide (height rounds up to 1)' ],
    [ $L1, '800x600-r100,0,1600,1200', undef, 800, 600, 'jpeg', 'region then fit' ],
    [ $L1, '280x210c-q80-gn', undef, 280, 210, 'jpeg', 'fill with quality and gravity' ],
    [ $L1, '300x-r0,0,900,600', 'png', 300, 200, 'png', 'region, PNG out' ],
    [ $L1, '4096x4096-r0,0,1,1', undef, 1, 1, 'jpeg', 'one-pixel region' ],
);

# Gravity on a portrait source filled into a wide box: which third of the picture is kept.
my %gravity_crop = (          # region of Portrait_1 (1200x1800) a 300x100 fill keeps
    'gn' => '1200x400+0+0',
    ''   => '1200x400+0+700',
    'gs' => '1200x400+0+1400',
);
# ... and on a landscape source filled into a tall box.
my %gravity_crop_wide = (     # region of Landscape_1 (1800x1200) a 100x300 fill keeps
    'gw' => '400x1200+0+0',
    ''   => '400x1200+700+0',
    'ge' => '400x1200+1400+0',
);

plan tests => 4 * @geometry + 4 * (keys %gravity_crop) + 4 * (keys %gravity_crop_wide) + 4
    + 6;

for my $case (@geometry) {
    my ($id, $ops, $ext, $w, $h, $format, $what) = @$case;
    my $url = signed_url(id => $id, ops => $ops, ext => $ext);
    my $res = GET $url;
    ok t_cmp($res->code, 200, "$what: GET $url");
    my $info = image_info($res->content) || {};
    ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'), "${w}x$h",
             "$what: output dimensions");
    ok t_cmp($res->header('Content-Type'), "image/$format", "$what: Content-Type");
    my $im = $res->code == 200 ? im_info($res->content) : undef;
    ok t_cmp(defined $im ? (split ' ', $im)[1] . 'x' . (split ' ', $im)[2] : "undecodable: $@",
             "${w}x$h", "$what: ImageMagick decodes the whole image");
}

sub check_gravity {
    my ($id, $box, $crops) = @_;
    my $src = original($id);
    my %ref;
    for my $g (keys %$crops) {
        $ref{$g} = write_tmp('', '.png');
        system("convert '$src' -crop $crops->{$g} +repage -resize '$box!' '$ref{$g}'") == 0
            or die "convert failed";
    }
    for my $g (sort keys %$crops) {
        my $ops = "${box}c" . ($g ? "-$g" : '');
        my $url = signed_url(id => $id, ops => $ops);
        my $res = GET $url;
        ok t_cmp($res->code, 200, "GET $url");
        my $info = image_info($res->content) || {};
        ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'), $box,
                 "$ops: dimensions");
        if ($res->code != 200) {
            ok 0 for 1 .. 2;
            next;
        }
        my %d = map { $_ => rmse($res->content, $ref{$_}) } keys %ref;
        my ($closest) = sort { $d{$a} <=> $d{$b} } keys %d;
        ok t_cmp($closest, $g, "$ops keeps the part of the picture its gravity names ("
                 . join(', ', map { ($_ || 'centre') . "=$d{$_}" } sort keys %d) . ')');
        ok t_cmp($d{$g} < 0.1 ? 1 : 0, 1, "$ops: close to the reference crop (rmse $d{$g})");
    }
}

check_gravity($P1, '300x100', \%gravity_crop);
check_gravity($L1, '100x300', \%gravity_crop_wide);

# Region: the cut comes from the right place.
{
    my $url = signed_url(id => $L1, ops => '300x-r900,600,900,600', ext => 'png');
    my $res = GET $url;
    ok t_cmp($res->code, 200, "GET $url");
    my $src = original($L1);
    my ($ref_br, $ref_tl) = (write_tmp('', '.png'), write_tmp('', '.png'));
    system("convert '$src' -crop 900x600+900+600 +repage -resize '300x200!' '$ref_br'") == 0 or die;
    system("convert '$src' -crop 900x600+0+0 +repage -resize '300x200!' '$ref_tl'") == 0 or die;
    my ($near, $far) = $res->code == 200
        ? (rmse($res->content, $ref_br), rmse($res->content, $ref_tl)) : (1, 0);
    ok t_cmp($near < 0.1 ? 1 : 0, 1, "region r900,600,900,600 is the bottom-right quarter (rmse $near)");
    ok t_cmp($near < $far ? 1 : 0, 1, "... and not the top-left one (rmse $far)");
    # The whole picture, fitted, matches ImageMagick's rendering of it.
    my $whole = GET signed_url(id => $L1, ops => '300x200');
    my $ref = write_tmp('', '.png');
    system("convert '$src' -resize '300x200!' '$ref'") == 0 or die;
    my $d = $whole->code == 200 ? rmse($whole->content, $ref) : 1;
    ok t_cmp($d < 0.05 ? 1 : 0, 1, "300x200 fit is close to ImageMagick's resize (rmse $d)");
}

# The usual response headers of a good answer.
{
    my $res = GET signed_url(id => $L1, ops => '280x210');
    ok t_cmp($res->header('Content-Length'), length($res->content),
             'Content-Length is the body length');
    ok t_cmp($res->header('Cache-Control'), DEFAULT_CACHE_CONTROL, 'default Cache-Control on 200');
    ok t_cmp(defined $res->header('ETag') ? 1 : 0, 1, 'an ETag is sent');
    ok t_cmp(defined $res->header('Last-Modified') ? 1 : 0, 1, 'a Last-Modified is sent');
    my $again = GET signed_url(id => $L1, ops => '280x210');
    ok t_cmp($again->content eq $res->content ? 1 : 0, 1, 'the same URL gives the same bytes');
    ok t_cmp($again->header('ETag') // '', $res->header('ETag') // '-', '... and the same ETag');
}
