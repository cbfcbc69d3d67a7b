# Which JPEG decoder reads an original (issue 14), as the `tofu-decoder` note tells it: a
# progressive JPEG scaled down (1/2, 1/4, 1/8) goes through tofu-jpeg, which keeps only the
# coefficients the scale reads; a baseline JPEG, and any JPEG at full scale, through libjpeg.
# The two files are the same picture, so the two decoders' thumbnails must also look alike.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

# 600x400 photos: 50 px wide is read at 1/8, 100 at 1/4, 200 at 1/2 (shrink-on-load margin
# 1.3), 500 at full scale; a fill crop reads a window of the 1/4 decode.
my @cases = (['50x', 8], ['100x', 4], ['200x', 2], ['500x', 1], ['100x60c-gn', 4]);

plan tests => 5 * @cases + 1;

for my $case (@cases) {
    my ($ops, $denom) = @$case;
    my %body;
    for my $kind ('progressive', 'baseline') {
        my $path = signed_url(id => "jpeg/$kind.jpg", ops => $ops, ext => 'png');
        my $mark = notes_log_mark();
        my $res = GET $path;
        ok t_cmp($res->code, 200, "$kind $ops");
        $body{$kind} = $res->content;
        my ($entry) = notes_since($mark, $path, 1);
        my $want = ($kind eq 'progressive' && $denom > 1 ? 'tofu-jpeg' : 'libjpeg') . " 1/$denom";
        ok t_cmp($entry ? $entry->{decoder} : '(no log entry)', $want, "$kind $ops: decoder");
    }
    my $d = rmse($body{progressive}, $body{baseline});
    ok t_cmp($d < 0.03 ? 1 : 0, 1, "$ops: the two decoders' thumbnails look alike (rmse $d)");
}

# Another format names itself.
{
    my $path = signed_url(id => 'pngsuite/basn2c08.png', ops => '20x', ext => 'png');
    my $mark = notes_log_mark();
    GET $path;
    my ($entry) = notes_since($mark, $path, 1);
    ok t_cmp($entry ? $entry->{decoder} : '(no log entry)', 'PNG', 'a PNG original: PNG');
}
