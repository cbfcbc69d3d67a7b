# HTTP caching (issue 4): ETags stable across requests, children and restarts; 304s answered from
# a stat alone (no fetch, no transform: the notes log shows it); Cache-Control per status class;
# Vary and Content-Type under Accept headers (TofuAutoFormat); presets and TofuPresetsOnly;
# identical concurrent misses rendered once per child (request coalescing).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use Digest::MD5 qw(md5_hex);
use TofuTest;

my $threaded = ($ENV{TOFU_TEST_MPM} // 'event') ne 'prefork';

sub distinct { my %seen; grep { !$seen{$_}++ } @_ }

my @accept_cases = (
    # [ Accept header (undef: none), the format served ]
    [ undef,                                  'jpeg' ],
    [ '*/*',                                  'jpeg' ],
    [ 'image/*',                              'jpeg' ],
    [ 'image/*,*/*;q=0.8',                    'jpeg' ],
    [ 'image/webp',                           'webp' ],
    [ 'image/avif,image/webp,*/*;q=0.8',      'webp' ],
    [ 'text/html, image/webp ; q=0.5',        'webp' ],
    [ 'IMAGE/WebP',                           'webp' ],
    [ 'image/webp;q=0',                       'jpeg' ],
    [ 'image/webp;q=0.000, image/jpeg',       'jpeg' ],
    [ 'image/webpx',                          'jpeg' ],
);

plan tests => 8 + 9 + 8 + 3 * @accept_cases + 6 + 9 + 5;

# --- ETag: the same for every request, every child, and after a graceful restart.
{
    my $path = signed_url(id => 'exif-orientation/Landscape_3.jpg', ops => '333x');
    my $mark = notes_log_mark();
    my @res = concurrent_gets(12, $path);
    ok t_cmp(join(',', distinct(map { $_->[0] } @res)), '200', '12 concurrent GETs: all 200');
    my @etags = distinct(map { $_->[1] } @res);
    ok t_cmp(scalar @etags, 1, 'one ETag for all of them: ' . join(' ', @etags));
    ok t_cmp($etags[0] =~ /^"[^"]+"$/ ? 1 : 0, 1, "a strong ETag: $etags[0]");
    ok t_cmp(scalar distinct(map { $_->[4] } @res), 1, 'the same bytes for all of them');
    ok t_cmp(restart_server('USR1'), 1, 'graceful restart: new children');
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
    my $after = GET $path;
    ok t_cmp($after->header('ETag') // '-', $etags[0], 'the same ETag from the new generation');
    ok t_cmp(md5_hex($after->content // ''), $res[0][4], 'the same bytes from the new generation');
    my @pids = distinct(map { $_->{pid} } notes_since($mark, $path, 13));
    ok t_cmp(scalar @pids >= 2 ? 1 : 0, 1, 'served by ' . scalar(@pids) . ' processes: ' . "@pids");
}

# --- 304 from the validators alone: no fetch, no transform.
{
    my $path = signed_url(id => 'exif-orientation/Landscape_2.jpg', ops => '444x');
    my $before = notes_log_mark();
    my $res = GET $path;
    notes_since($before, $path, 1);    # its log entry is written: the mark comes after it
    my ($etag, $lm) = ($res->header('ETag') // '"none"', $res->header('Last-Modified') // 'none');
    my $mark = notes_log_mark();
    my @conditional = (
        [ 'If-None-Match' => $etag ],
        [ 'If-None-Match' => qq{"stale", $etag} ],
        [ 'If-None-Match' => "W/$etag" ],
        [ 'If-Modified-Since' => $lm ],
    );
    for my $h (@conditional) {
        my $r = GET $path, @$h;
        ok t_cmp($r->code, 304, "$h->[0]: $h->[1]");
    }
    my $r = GET $path, 'If-None-Match' => $etag;
    ok t_cmp($r->header('Cache-Control') // '-', DEFAULT_CACHE_CONTROL, '304 carries Cache-Control');
    my @e = notes_since($mark, $path, 5);
    ok t_cmp(join(',', map { "$_->{code}/$_->{fetch}/$_->{transform}" } @e),
             join(',', ('304/-/-') x 5), '304s neither fetched the original nor transformed it');
    my $stale = GET $path, 'If-None-Match' => '"stale"';
    ok t_cmp($stale->code, 200, 'a stale ETag gets the image');
    my @all = notes_since($mark, $path, 6);
    ok t_cmp($all[-1]{transform} ne '-' ? 1 : 0, 1, '... and that one was transformed');
    my $older = GET $path, 'If-Modified-Since' => 'Thu, 01 Jan 1970 00:00:00 GMT';
    ok t_cmp($older->code, 200, 'If-Modified-Since before the original: 200');
}

# --- Cache-Control by outcome: TofuCacheControl on 2xx/304, TofuErrorCacheControl on 4xx,
# no-store on 5xx.
{
    my @cases = (
        [ signed_url(id => 'exif-orientation/Landscape_1.jpg', ops => '120x'), 200,
          DEFAULT_CACHE_CONTROL, 'image' ],
        [ '/img/exif-orientation/Landscape_1.jpg/120x/' . ('0' x 32), 403,
          DEFAULT_ERROR_CACHE_CONTROL, 'bad signature' ],
        [ signed_url(id => 'does/not/exist.jpg', ops => '120x'), 404,
          DEFAULT_ERROR_CACHE_CONTROL, 'missing original' ],
        [ signed_url(id => 'exif-orientation/Landscape_1.jpg', ops => '0120x'), 404,
          DEFAULT_ERROR_CACHE_CONTROL, 'not canonical' ],
        [ signed_url(id => 'bad/not-an-image.jpg', ops => '120x'), 422,
          DEFAULT_ERROR_CACHE_CONTROL, 'HTML named .jpg' ],
        [ signed_url(id => 'bad/unreadable.jpg', ops => '120x'), 404,
          DEFAULT_ERROR_CACHE_CONTROL, 'an original the server may not read (mode 000)' ],
        [ signed_url(prefix => '/locked', id => 'bad/unreadable.jpg', ops => '120x'), 502,
          'no-store', 'storage fault (root not searchable)' ],
    );
    for my $c (@cases) {
        my ($path, $code, $cc, $what) = @$c;
        my $r = GET $path;
        ok t_cmp($r->code . ' ' . ($r->header('Cache-Control') // '-'), "$code $cc", $what);
    }
    my $r = GET signed_url(prefix => '/small', id => 'exif-orientation/Landscape_1.jpg',
                           ops => '120x', key => SECRET), 'If-None-Match' => '*';
    ok t_cmp($r->code . ' ' . ($r->header('Cache-Control') // '-'), '304 public, max-age=600',
             'If-None-Match: * is 304 with the location\'s own TofuCacheControl');
}

# --- Auto format: WebP when Accept allows it, Vary: Accept on every negotiable answer.
my %etag_of;
for my $c (@accept_cases) {
    my ($accept, $want) = @$c;
    my $path = signed_url(prefix => '/auto', id => 'exif-orientation/Landscape_1.jpg',
                          ops => '200x', key => SECRET);
    my $r = defined $accept ? GET($path, Accept => $accept) : GET($path);
    my $label = 'Accept: ' . ($accept // '(none)');
    my $info = image_info($r->content) || {};
    ok t_cmp(($r->header('Content-Type') // '-') . ' ' . ($info->{format} // '?'),
             "image/$want $want", "$label: image/$want");
    ok t_cmp($r->header('Vary') // '-', 'Accept', "$label: Vary: Accept");
    ok t_cmp($r->header('Cache-Control') // '-', DEFAULT_CACHE_CONTROL, "$label: Cache-Control");
    $etag_of{$want} = $r->header('ETag') // '-';
}
{
    my $path = signed_url(prefix => '/auto', id => 'exif-orientation/Landscape_1.jpg',
                          ops => '200x', key => SECRET);
    ok t_cmp($etag_of{webp} ne $etag_of{jpeg} ? 1 : 0, 1,
             "WebP and JPEG have different ETags ($etag_of{webp} $etag_of{jpeg})");
    my $r = GET $path, Accept => 'image/webp', 'If-None-Match' => $etag_of{jpeg};
    ok t_cmp($r->code . ' ' . ($r->header('Content-Type') // '-'), '200 image/webp',
             'the JPEG\'s ETag does not revalidate the WebP');
    my $r304 = GET $path, Accept => 'image/webp', 'If-None-Match' => $etag_of{webp};
    ok t_cmp($r304->code . ' ' . ($r304->header('Vary') // '-'), '304 Accept',
             'the WebP\'s ETag gives 304, with Vary');
    my $png = GET signed_url(prefix => '/auto', id => 'exif-orientation/Landscape_1.jpg',
                             ops => '200x', ext => 'png', key => SECRET), Accept => 'image/webp';
    ok t_cmp(($png->header('Content-Type') // '-') . ' ' . ($png->header('Vary') // 'no Vary'),
             'image/png no Vary', 'an explicit extension is not negotiated and does not vary');
    my $plain = GET signed_url(id => 'exif-orientation/Landscape_1.jpg', ops => '200x'),
                    Accept => 'image/webp';
    ok t_cmp(($plain->header('Content-Type') // '-') . ' ' . ($plain->header('Vary') // 'no Vary'),
             'image/jpeg no Vary', 'without TofuAutoFormat: the source format, no Vary');
    my $pngsrc = GET signed_url(prefix => '/auto', id => 'gen/black-1000x700.png', ops => '100x',
                                key => SECRET), Accept => 'image/jpeg';
    ok t_cmp(($pngsrc->header('Content-Type') // '-') . ' ' . ($pngsrc->header('Vary') // '-'),
             'image/png Accept', 'a PNG original stays PNG for a client without WebP, with Vary');
}

# --- Presets: signed like ops; TofuPresetsOnly serves nothing else.
{
    my $id = 'exif-orientation/Landscape_1.jpg';
    my $size = sub { my $i = image_info($_[0]->content) || {};
                     $_[0]->code . ' ' . ($i->{width} // '?') . 'x' . ($i->{height} // '?') };
    ok t_cmp($size->(GET signed_url(prefix => '/presets', id => $id, ops => 'thumb')),
             '200 280x210', 'preset thumb = 280x210c-q80');
    ok t_cmp($size->(GET signed_url(prefix => '/presets', id => $id, ops => 'hero')),
             '200 600x400', 'preset hero = 600x-q70');
    ok t_cmp($size->(GET signed_url(prefix => '/presets', id => $id, ops => '100x')),
             '200 100x67', 'ops still work where presets are not the only ones');
    my $wrong = '/presets/' . $id . '/thumb/' . signature(SECRET, "$id/280x210c-q80");
    ok t_cmp((GET $wrong)->code, 403, 'the signature covers the preset name, not its expansion');
    ok t_cmp((GET signed_url(prefix => '/presets', id => $id, ops => 'nosuch'))->code, 404,
             'an unknown preset name is 404');
    my $webp = GET signed_url(prefix => '/presets', id => $id, ops => 'thumb', ext => 'webp');
    ok t_cmp(($webp->header('Content-Type') // '-') . ' ' . $size->($webp),
             'image/webp 200 280x210', 'a preset with an extension');
    ok t_cmp($size->(GET signed_url(prefix => '/presets-only', id => $id, ops => 'thumb')),
             '200 280x210', 'TofuPresetsOnly: the preset is served');
    my $refused = GET signed_url(prefix => '/presets-only', id => $id, ops => '280x210c-q80');
    ok t_cmp($refused->code . ' ' . ($refused->header('Cache-Control') // '-'),
             '404 ' . DEFAULT_ERROR_CACHE_CONTROL,
             'TofuPresetsOnly: the same ops spelled out are 404, even correctly signed');
    my $mark = error_log_mark();
    GET signed_url(prefix => '/presets-only', id => $id, ops => '100x');
    ok t_cmp(error_log_since($mark) =~ /not a preset and TofuPresetsOnly is on/ ? 1 : 0, 1,
             'the error log says why');
}

# --- Coalescing: identical concurrent misses are rendered once per child.
{
    my $n = 10;
    # A full-size PNG of a 2-megapixel photo: slow enough (about 200 ms) that the requests arrive
    # while the first one renders.
    my $path = signed_url(id => 'exif-orientation/Landscape_4.jpg', ops => '1799x', ext => 'png');
    my $mark = notes_log_mark();
    my @res = concurrent_gets($n, $path);
    ok t_cmp(join(',', distinct(map { $_->[0] } @res)), '200', "$n concurrent identical GETs: 200");
    ok t_cmp(scalar distinct(map { $_->[4] } @res), 1, 'all got the same bytes');
    my @e = notes_since($mark, $path, $n);
    my $renders = grep { $_->{transform} ne '-' } @e;
    my $followers = grep { $_->{coalesced} eq 'follower' } @e;
    my @pids = distinct(map { $_->{pid} } @e);
    ok t_cmp(scalar @e, $n, "$n log entries");
    if ($threaded) {
        # A request that arrives while the same child renders this image must wait for that
        # render; one that arrives after it finished renders again (nothing is cached here).
        my @overlaps;
        my @r = sort { $a->{start} <=> $b->{start} } grep { $_->{transform} ne '-' } @e;
        for my $i (0 .. $#r) {
            for my $j ($i + 1 .. $#r) {
                next unless $r[$i]{pid} == $r[$j]{pid};
                my $end = $r[$i]{start} + 1000 * $r[$i]{total};
                push @overlaps, "pid $r[$i]{pid}: render at +" . ($r[$j]{start} - $r[$i]{start})
                    . "us while one ran until +" . int($end - $r[$i]{start}) . 'us'
                    if $r[$j]{start} < $end;
            }
        }
        ok t_cmp(join('; ', @overlaps), '', "no child rendered it twice at the same time "
                 . "($renders renders in " . scalar(@pids) . ' children)');
        ok t_cmp($followers >= 1 && $renders + $followers == $n ? 1 : 0, 1,
                 "the others waited for a render: $followers followers, $renders renders");
    }
    else {
        # A prefork child serves one request at a time: nothing to coalesce with.
        ok t_cmp($followers, 0, 'prefork: no followers');
        ok t_cmp($renders, $n, 'prefork: every request rendered in its own child');
    }
}
