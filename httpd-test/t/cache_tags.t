# Cache tags for purging (TofuCacheTag, t/conf/cache_tags.conf.in): every answer a CDN keeps
# about one signed original (200, 304, 404) carries the original's tag in each configured header,
# the id percent-encoded (a space, a comma, a slash); answers about no signed id carry none.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET HEAD);
use TofuTest;

plan tests => 11;

# "STATUS Edge-Cache-Tag | Surrogate-Key" of an answer ('-' for a header that is absent).
sub tags {
    my $r = shift;
    return join ' ', $r->code, ($r->header('Edge-Cache-Tag') // '-'), '|',
        ($r->header('Surrogate-Key') // '-');
}

sub url { signed_url(prefix => '/tagged', ops => '100x', key => SECRET, @_) }

my $id  = 'exif-orientation/Landscape_1.jpg';
my $tag = 'photo-exif-orientation%2FLandscape_1.jpg';

my $ok = GET url(id => $id);
ok t_cmp(tags($ok), "200 $tag | $tag", '200: both headers carry the tag, the / encoded');
ok t_cmp(tags(HEAD url(id => $id)), "200 $tag | $tag", 'HEAD: the same headers');
my $etag = $ok->header('ETag') // '"none"';
ok t_cmp(tags(GET url(id => $id), 'If-None-Match' => $etag), "304 $tag | $tag",
         '304: the tags again (RFC 9110 lets a 304 carry what a cache updates)');
my $untagged = GET signed_url(prefix => '/img', id => $id, ops => '100x');
ok t_cmp($untagged->header('ETag') // '-', $etag,
         'the ETag is the one of a location without tags: the tag is not part of it');
ok t_cmp(tags(GET url(id => 'no/such.jpg')), '404 photo-no%2Fsuch.jpg | photo-no%2Fsuch.jpg',
         '404 of a missing original: tagged, so uploading it and purging the tag clears the 404');

# Ids that need encoding in the URL and in the tag.
my $odd = 'photo-odd%20names%2Fa%20b%23%281%29.jpg';
ok t_cmp(tags(GET url(id => enc_id('odd names/a b#(1).jpg'))), "200 $odd | $odd",
         'an id with spaces, # and parentheses');
my $comma = 'photo-new%2C%20not%20yet.jpg';
ok t_cmp(tags(GET url(id => enc_id('new, not yet.jpg'))), "404 $comma | $comma",
         'an id with a comma and a space: one tag in each header, not several');
ok t_cmp(tags(GET url(id => enc_id("odd names/caf\x{e9}.jpg"))),
         '200 photo-odd%20names%2Fcaf%C3%A9.jpg | photo-odd%20names%2Fcaf%C3%A9.jpg',
         'a UTF-8 id: its bytes percent-encoded');

# No signed id, no tag.
ok t_cmp(tags(GET "/tagged/$id/100x/" . ('0' x 32)), '403 - | -', 'bad signature: no tag');
ok t_cmp(tags(GET url(id => $id, ops => '0100x')), '404 - | -', 'not canonical: no tag');
ok t_cmp(tags(GET url(id => $id, ops => '100x-q0')), '400 - | -',
         'out of range before the signature is checked: no tag');
