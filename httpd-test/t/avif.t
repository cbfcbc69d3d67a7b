# AVIF output (issue 12): by extension and by negotiation (TofuAutoFormat avif webp), decoded by a
# real decoder (avifdec, Debian's libavif-bin, with dav1d) at the expected size; q-values in
# Accept; Vary on the 200 and the 304; one ETag per format. And the `b` option: the colour a
# transparent source is flattened onto for JPEG.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $L1 = 'exif-orientation/Landscape_1.jpg';    # 1800x1200

# The body decoded by avifdec into a PNG file: ('png W H', the file), or (why not, undef).
sub avif_decoded {
    my $bytes = shift;
    return ('not AVIF', undef) unless defined $bytes && substr($bytes, 4, 8) eq 'ftypavif';
    my $in = write_tmp($bytes, '.avif');
    my $png = write_tmp('', '.png');
    my $out = qx{avifdec '$in' '$png' 2>&1};
    return ("avifdec failed: $out", undef) if $? != 0;
    my $info = image_info(do { local $/; open my $fh, '<:raw', $png or die; <$fh> }) || {};
    return (join(' ', $info->{format} // '?', $info->{width} // '?', $info->{height} // '?'), $png);
}

# What a response body is: 'avif W H' (decoded by avifdec), else image_info's 'format W H'.
sub body_is {
    my $bytes = shift // '';
    if (substr($bytes, 4, 8) eq 'ftypavif') {
        my ($what) = avif_decoded($bytes);
        return $what =~ /^png (\d+) (\d+)$/ ? "avif $1 $2" : $what;
    }
    my $info = image_info($bytes) || {};
    return join ' ', $info->{format} // '?', $info->{width} // '?', $info->{height} // '?';
}

my @accept_cases = (
    # [ Accept (undef: none), format served by /avif-auto, by /webp-first ]
    [ undef,                                          'jpeg', 'jpeg' ],
    [ '*/*',                                          'jpeg', 'jpeg' ],
    [ 'image/*,*/*;q=0.8',                            'jpeg', 'jpeg' ],
    [ 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8', 'avif', 'webp' ],    # Chrome
    [ 'image/webp,image/png,image/*;q=0.8,*/*;q=0.5', 'webp', 'webp' ],          # Safari 15
    [ 'image/avif',                                   'avif', 'avif' ],
    [ 'IMAGE/AVIF ; q=0.5',                           'avif', 'avif' ],
    [ 'image/avif;q=0.1, image/webp;q=0.9',           'avif', 'webp' ],
    [ 'image/avif;q=0, image/webp',                   'webp', 'webp' ],
    [ 'image/avif;q=0.000, image/webp;q=0, */*',      'jpeg', 'jpeg' ],
    [ 'image/avifx, image/webpx',                     'jpeg', 'jpeg' ],
);

plan tests => 8 + 2 * 4 * @accept_cases + 6 + 3 + 7;

# --- By extension: an AVIF of the promised size that looks like the JPEG; no Vary.
{
    my $url = signed_url(id => $L1, ops => '300x', ext => 'avif');
    my $res = GET $url;
    ok t_cmp($res->code, 200, "GET $url");
    ok t_cmp($res->header('Content-Type') // '', 'image/avif', '.avif: Content-Type image/avif');
    ok t_cmp($res->header('Vary') // 'none', 'none', '.avif: an extension is not negotiable');
    my ($what, $png) = avif_decoded($res->content);
    ok t_cmp($what, 'png 300 200', '.avif decodes (avifdec) to 300x200');
    my $jpeg = GET signed_url(id => $L1, ops => '300x', ext => 'png');
    my $d = $png ? rmse($png, $jpeg->content) : 1;
    ok t_cmp($d < 0.03 ? 1 : 0, 1, ".avif looks like the lossless output (rmse $d)");

    my $fill = GET signed_url(id => $L1, ops => '280x210c-q80', ext => 'avif');
    ok t_cmp(body_is($fill->content), 'avif 280 210', 'fill 280x210c .avif: 280x210');
    my $again = GET signed_url(id => $L1, ops => '280x210c-q80', ext => 'avif');
    ok t_cmp(($again->content // '') eq ($fill->content // '-') ? 1 : 0, 1,
             'the same AVIF bytes on every request');
    my $q30 = GET signed_url(id => $L1, ops => '280x210c-q30', ext => 'avif');
    ok t_cmp(length($q30->content) < length($fill->content) ? 1 : 0, 1,
             'AVIF q30 is smaller than q80 (' . length($q30->content) . ' vs '
             . length($fill->content) . ' bytes)');
}

# --- Negotiation: the operator's order among what Accept names with q > 0; wildcards never
# imply a modern format; Vary: Accept on every answer.
for my $prefix ('/avif-auto', '/webp-first') {
    my $url = signed_url(prefix => $prefix, id => $L1, ops => '300x');
    for my $case (@accept_cases) {
        my ($accept, @want) = @$case;
        my $want = $prefix eq '/avif-auto' ? $want[0] : $want[1];
        my $res = defined $accept ? GET($url, Accept => $accept) : GET($url);
        my $label = "$prefix, Accept: " . ($accept // '(none)');
        ok t_cmp($res->code, 200, "$label: 200");
        ok t_cmp($res->header('Content-Type') // '', "image/$want", "$label: image/$want");
        ok t_cmp($res->header('Vary') // '', 'Accept', "$label: Vary: Accept");
        ok t_cmp(body_is($res->content), "$want 300 200", "$label: the body is $want 300x200");
    }
}

# --- One ETag per format; a 304 carries Vary and the variant's ETag; the ETag of one variant
# does not revalidate another.
{
    my $url = signed_url(prefix => '/avif-auto', id => $L1, ops => '300x');
    my %etag;
    for my $accept ('image/avif', 'image/webp', '*/*') {
        $etag{$accept} = GET($url, Accept => $accept)->header('ETag') // '';
    }
    my %distinct = map { $_ => 1 } values %etag;
    ok t_cmp(scalar keys %distinct, 3, 'three formats, three ETags: ' . join(' ', values %etag));
    my $nm = GET($url, Accept => 'image/avif', 'If-None-Match' => $etag{'image/avif'});
    ok t_cmp($nm->code, 304, 'If-None-Match with the AVIF ETag, Accept avif: 304');
    ok t_cmp($nm->header('Vary') // '', 'Accept', '304: Vary: Accept');
    ok t_cmp($nm->header('ETag') // '', $etag{'image/avif'}, '304: the AVIF ETag');
    my $other = GET($url, Accept => 'image/webp', 'If-None-Match' => $etag{'image/avif'});
    ok t_cmp($other->code, 200, 'the AVIF ETag does not revalidate the WebP variant');
    ok t_cmp($other->header('Content-Type') // '', 'image/webp', '...which is sent in full');
}

# --- A location whose TofuAutoFormat does not list avif never serves it.
{
    my $chrome = 'image/avif,image/webp,image/apng,image/*,*/*;q=0.8';
    my $img = GET(signed_url(id => $L1, ops => '300x'), Accept => $chrome);
    ok t_cmp($img->header('Content-Type') // '', 'image/jpeg', '/img (no TofuAutoFormat): JPEG');
    ok t_cmp($img->header('Vary') // 'none', 'none', '/img: no Vary');
    my $auto = GET(signed_url(prefix => '/auto', id => $L1, ops => '300x'), Accept => $chrome);
    ok t_cmp($auto->header('Content-Type') // '', 'image/webp', '/auto (TofuAutoFormat On): WebP');
}

# --- -b: a transparent PNG (PngSuite basn6a08, transparent left column) flattened for JPEG.
{
    my $id = 'pngsuite/basn6a08.png';
    my $res = GET signed_url(id => $id, ops => '32x-q95-b1a2b3c', ext => 'jpg');
    ok t_cmp($res->code, 200, 'GET .jpg with -b1a2b3c');
    my $file = write_tmp($res->content, '.jpg');
    my $corner = qx{convert '$file' -format '%[fx:round(255*p{0,0}.r)] %[fx:round(255*p{0,0}.g)] %[fx:round(255*p{0,0}.b)]' info: 2>&1};
    my @c = split ' ', $corner;
    my $close = @c == 3 && abs($c[0] - 0x1a) <= 10 && abs($c[1] - 0x2b) <= 10 && abs($c[2] - 0x3c) <= 10;
    ok t_cmp($close ? 1 : 0, 1, "the transparent corner is #1a2b3c ($corner)");
    # The whole picture: what ImageMagick makes of the same source flattened on that colour.
    my $src = original($id);
    # (The file's gAMA chunk says 1.0, which ImageMagick honours and mod_tofu does not: its values
    # are taken as sRGB on both sides. PPM carries no colourspace into the comparison.)
    my $flat = write_tmp('', '.ppm');
    system("convert '$src' -set colorspace sRGB -background '#1a2b3c' -flatten '$flat'");
    my $d = rmse($file, $flat);
    ok t_cmp($d < 0.03 ? 1 : 0, 1, "the whole image is the source flattened on #1a2b3c (rmse $d)");
    my $white = GET signed_url(id => $id, ops => '32x-q95', ext => 'jpg');
    my $wf = write_tmp($white->content, '.jpg');
    my $wc = qx{convert '$wf' -format '%[fx:round(255*p{0,0}.r)]' info: 2>&1};
    ok t_cmp($wc >= 245 ? 1 : 0, 1, "without b the corner is white ($wc)");
    # Outputs that keep alpha, and opaque sources, are not changed by b.
    for my $ext ('png', 'avif') {
        my $with = GET(signed_url(id => $id, ops => '32x-q95-b1a2b3c', ext => $ext))->content;
        my $without = GET(signed_url(id => $id, ops => '32x-q95', ext => $ext))->content;
        ok t_cmp(length $with && $with eq $without ? 1 : 0, 1, ".$ext keeps alpha: b changes no byte");
    }
    my $opaque_b = GET(signed_url(id => $L1, ops => '300x-b000000', ext => 'jpg'))->content;
    my $opaque = GET(signed_url(id => $L1, ops => '300x', ext => 'jpg'))->content;
    ok t_cmp(length $opaque_b && $opaque_b eq $opaque ? 1 : 0, 1, 'an opaque source: b changes no byte');
}
