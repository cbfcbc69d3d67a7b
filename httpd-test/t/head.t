# HEAD answers with GET's headers and no body; conditional requests are answered 304.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET HEAD);
use TofuTest;

my $L1 = 'exif-orientation/Landscape_1.jpg';
my $key = SECRET_FILE_FIRST;

my @headers = qw(Content-Type Content-Length Cache-Control ETag Last-Modified);

# [ path, status ]
my @cases = (
    [ signed_url(id => $L1, ops => '280x210', key => $key), 200 ],
    [ signed_url(id => $L1, ops => '280x210', ext => 'webp', key => $key), 200 ],
    [ signed_url(id => $L1, ops => '280x210', key => 'wrong'), 403 ],
    [ signed_url(id => 'does/not/exist.jpg', ops => '280x210', key => $key), 404 ],
    [ signed_url(id => $L1, ops => '280x-q0', key => $key), 400 ],
    [ signed_url(id => 'bad/not-an-image.jpg', ops => '280x', key => $key), 422 ],
);

plan tests => @cases * (2 + 1) + 2 * @headers + 6;

for my $case (@cases) {
    my ($path, $status) = @$case;
    my $get = GET $path;
    my $head = HEAD $path;
    ok t_cmp($head->code, $status, "HEAD $path");
    ok t_cmp(length($head->content // ''), 0, "HEAD $path: no body");
    ok t_cmp($head->header('Cache-Control') // '', $get->header('Cache-Control') // '',
             "HEAD $path: Cache-Control as GET");
    next unless $status == 200;
    for my $h (@headers) {
        ok t_cmp($head->header($h) // '(none)', $get->header($h) // '(none)', "HEAD $path: $h as GET");
    }
}

# Conditional requests: the validators of the answer give a 304, without a body.
{
    my $path = signed_url(id => $L1, ops => '280x210', key => $key);
    my $res = GET $path;
    my $etag = $res->header('ETag') // '"none"';
    my $lm = $res->header('Last-Modified') // 'Thu, 01 Jan 1970 00:00:00 GMT';
    my $r304 = GET $path, 'If-None-Match' => $etag;
    ok t_cmp($r304->code, 304, "If-None-Match: $etag");
    ok t_cmp(length($r304->content // ''), 0, '304 without a body');
    ok t_cmp($r304->header('ETag') // '', $etag, '304 repeats the ETag');
    my $ims = GET $path, 'If-Modified-Since' => $lm;
    ok t_cmp($ims->code, 304, "If-Modified-Since: $lm");
    my $other = GET $path, 'If-None-Match' => '"something-else"';
    ok t_cmp($other->code, 200, 'a different ETag gets the image');
    # The ETag depends on the ops: another size has another ETag.
    my $res2 = GET signed_url(id => $L1, ops => '281x210', key => $key);
    ok t_cmp(($res2->header('ETag') // '') ne $etag ? 1 : 0, 1, 'another size has another ETag');
}
