# A real browser renders mod_tofu's answers as a user would see them: headless Chromium
# (Debian's chromium, installed by scripts/setup) loads a page from this test server with one
# <img> per entry of @images, and reports for each its natural size and the mean colour of a 5x5
# patch at its centre (read back through a canvas). Each must have the promised size and the
# colour of the lossless (PNG) answer for the same ops (for a tagged source: of its colour-managed
# reference). Nothing leaves the machine: the page and the images come from 127.0.0.1, and
# Chromium's background networking is off.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::PP qw(encode_json decode_json);
use TofuTest;

my $L1 = 'exif-orientation/Landscape_1.jpg';    # 1800x1200

# What the browser must render: [ what, URL, width, height, the lossless answer whose centre
# colour it must show ]. To check another answer in a real browser, add a line here (e.g. a
# JPEG source with a Display P3 profile served as .jpg, against its colour-managed reference).
my @images = (
    [ 'AVIF by extension', signed_url(id => $L1, ops => '280x210c-q80', ext => 'avif'),
      280, 210, signed_url(id => $L1, ops => '280x210c-q80', ext => 'png') ],
    [ 'AVIF by negotiation (TofuAutoFormat avif webp)',
      signed_url(prefix => '/avif-auto', id => $L1, ops => '300x'),
      300, 200, signed_url(id => $L1, ops => '300x', ext => 'png') ],
    [ 'JPEG with a transparent source flattened on -b1a2b3c',
      signed_url(id => 'other/landscape-alpha.webp', ops => '300x-b1a2b3c', ext => 'jpg'),
      300, 200, signed_url(id => 'other/landscape-alpha.webp', ops => '300x-b1a2b3c', ext => 'png') ],
    # A Display P3 JPEG (as an iPhone embeds it): served as sRGB JPEG, it must look like the
    # colour-managed reference (libvips, testdata/colour/README.md) made the same size.
    [ 'Display P3 JPEG source, converted to sRGB',
      signed_url(id => 'colour/p3.jpg', ops => '96x', ext => 'jpg'),
      96, 64, signed_url(id => 'colour/reference/p3-jpg.png', ops => '96x', ext => 'png') ],
);

plan tests => 1 + 3 * @images + 2;

# The mean colour of the 5x5 patch at the centre of an image (bytes), as "R G B".
sub centre_colour {
    my ($bytes, $w, $h) = @_;
    my $file = write_tmp($bytes, '.png');
    my ($x, $y) = (int($w / 2) - 2, int($h / 2) - 2);
    my $out = qx{convert '$file' -alpha off -crop 5x5+$x+$y +repage -scale '1x1!' -format '%[fx:round(255*r)] %[fx:round(255*g)] %[fx:round(255*b)]' info: 2>&1};
    return $out;
}

my $page = <<'HTML';
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>mod_tofu in a browser</title></head>
<body><pre id="result">pending</pre>
<script>
const images = IMAGES;
const results = new Array(images.length);
let left = images.length;
function done(i, value) {
  results[i] = value;
  if (--left === 0) document.getElementById('result').textContent = JSON.stringify(results);
}
images.forEach((src, i) => {
  const img = new Image();
  img.onload = () => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const x = Math.floor(img.naturalWidth / 2) - 2, y = Math.floor(img.naturalHeight / 2) - 2;
    const d = ctx.getImageData(x, y, 5, 5).data;
    const sum = [0, 0, 0];
    for (let p = 0; p < 25; p++) for (let c = 0; c < 3; c++) sum[c] += d[p * 4 + c];
    done(i, { width: img.naturalWidth, height: img.naturalHeight,
              colour: sum.map(v => Math.round(v / 25)) });
  };
  img.onerror = () => done(i, { error: 'did not load or decode' });
  img.src = src;
});
</script></body></html>
HTML

my $pages = data_dir() . '/browser-pages';
make_path($pages);
chmod 0755, $pages;
my $json = encode_json([ map { $_->[1] } @images ]);
$page =~ s/IMAGES/$json/;
open my $fh, '>', "$pages/images.html" or die "$pages/images.html: $!";
print $fh $page;
close $fh;
chmod 0644, "$pages/images.html";

my $base = 'http://' . Apache::TestRequest::hostport();
my $profile = tempdir(CLEANUP => 1);
my $mark = notes_log_mark();
my @chromium = (
    'chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    "--user-data-dir=$profile", '--virtual-time-budget=20000', '--dump-dom',
    "$base/browser-pages/images.html",
);
my $dom = qx{timeout 120 @chromium 2>/dev/null};
my ($result) = $dom =~ m{<pre id="result">([^<]*)</pre>};
$result //= '(no page)';
$result =~ s/&quot;/"/g;
my $answers = eval { decode_json($result) };
ok t_cmp(ref $answers eq 'ARRAY' ? 1 : 0, 1, "Chromium ran the page and reported: $result");
$answers = [] unless ref $answers eq 'ARRAY';

for my $i (0 .. $#images) {
    my ($what, $url, $w, $h, $reference) = @{ $images[$i] };
    my $got = $answers->[$i] // { error => 'no answer' };
    ok t_cmp($got->{error} // 'rendered', 'rendered', "$what: $url renders in Chromium");
    ok t_cmp(($got->{width} // '?') . 'x' . ($got->{height} // '?'), "${w}x$h",
             "$what: natural size");
    my $want = centre_colour(GET($reference)->content, $w, $h);
    my @want = split ' ', $want;
    my @seen = @{ $got->{colour} // [] };
    my $close = @want == 3 && @seen == 3 && !grep { abs($seen[$_] - $want[$_]) > 10 } 0 .. 2;
    ok t_cmp($close ? 1 : 0, 1, "$what: centre colour @seen, lossless answer's $want");
}

# The negotiated image was AVIF: Chromium's own Accept header, sent again, gets image/avif.
{
    my $negotiated = $images[1][1];
    my ($request) = notes_since($mark, $negotiated, 1);
    my $accept = $request ? $request->{accept} : '';
    ok t_cmp($accept =~ m{image/avif} ? 1 : 0, 1, "Chromium's Accept names image/avif: $accept");
    my $res = GET($negotiated, Accept => $accept);
    ok t_cmp($res->header('Content-Type') // '', 'image/avif', 'which gets image/avif');
}
