# EXIF orientation: Landscape_1..8 are one picture stored in the eight orientations; after
# auto-orientation every output must have the same size and nearly the same pixels. Crops and
# regions are in the oriented image.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my @landscapes = map { "exif-orientation/Landscape_$_.jpg" } 1 .. 8;

plan tests => 3 * @landscapes + 2 + 2 * 3 + 2;

my $reference = GET(signed_url(id => $landscapes[0], ops => '300x300', ext => 'png'))->content;

for my $id (@landscapes) {
    my $url = signed_url(id => $id, ops => '300x300', ext => 'png');
    my $res = GET $url;
    ok t_cmp($res->code, 200, "GET $url");
    my $info = image_info($res->content) || {};
    ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'), '300x200',
             "$id: oriented size");
    my $d = $res->code == 200 && length $reference ? rmse($res->content, $reference) : 1;
    ok t_cmp($d < 0.1 ? 1 : 0, 1, "$id: same picture as Landscape_1 (rmse $d)");
}

# Portrait_1 stays portrait.
{
    my $res = GET signed_url(id => 'exif-orientation/Portrait_1.jpg', ops => '300x300');
    my $info = image_info($res->content) || {};
    ok t_cmp($res->code, 200, 'Portrait_1');
    ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'), '200x300',
             'Portrait_1 stays portrait');
}

# Fill and region work on the oriented picture: the same ops on orientations 1, 6 and 8 agree.
for my $ops ('200x200c-gw', '300x-r0,0,900,600') {
    my $ref = GET(signed_url(id => $landscapes[0], ops => $ops, ext => 'png'))->content;
    for my $n (6, 8) {
        my $res = GET signed_url(id => "exif-orientation/Landscape_$n.jpg", ops => $ops, ext => 'png');
        my $d = $res->code == 200 && length $ref ? rmse($res->content, $ref) : 1;
        ok t_cmp($d < 0.1 ? 1 : 0, 1, "Landscape_$n $ops matches Landscape_1 (rmse $d)");
    }
    my $info = image_info($ref) || {};
    ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'),
             $ops =~ /^200/ ? '200x200' : '300x200', "$ops on Landscape_1: size");
}

# The orientation is applied, not carried: no EXIF in the JPEG output of Landscape_6, and
# its stored (unrotated) size is the displayed one.
{
    my $res = GET signed_url(id => 'exif-orientation/Landscape_6.jpg', ops => '300x300');
    ok t_cmp(index($res->content, "Exif\0\0") < 0 ? 1 : 0, 1, 'no EXIF left in the output');
    my $info = image_info($res->content) || {};
    ok t_cmp(($info->{width} // '?') . 'x' . ($info->{height} // '?'), '300x200',
             'Landscape_6 JPEG output stored as 300x200');
}
