# Apache's own mod_cache (CacheEnable disk, in the quick handler) in front of mod_tofu: the
# second request for an image is served from the cache without running the module, a
# conditional request is answered 304 by the cache, and Vary: Accept keeps the WebP and the
# JPEG variant of a negotiable URL apart.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use Digest::MD5 qw(md5_hex);
use TofuTest;

plan tests => 12;

# Entries of requests the module itself answered (mod_cache's hits leave its notes unset).
sub module_runs {
    my ($mark, $path, $want) = @_;
    return scalar grep { $_->{status} ne '-' } notes_since($mark, $path, $want);
}

my $id = 'exif-orientation/Landscape_8.jpg';
my $path = signed_url(prefix => '/cached', id => $id, ops => '250x', ext => 'jpg', key => SECRET);
my $mark = notes_log_mark();

# mod_cache_disk commits an entry after the last byte went out: a client that asks again at
# once may reach another child before the entry exists. A pause after each miss avoids that race.
sub settle { select undef, undef, undef, 0.5 }

my $first = GET $path;
settle();
ok t_cmp($first->code . ' ' . ($first->header('X-Cache') // '-'), '200 MISS from localhost',
         'first request: a miss, served by mod_tofu');
my $second = GET $path;
ok t_cmp($second->code . ' ' . ($second->header('X-Cache') // '-') =~ s/ from .*//r, '200 HIT',
         'second request: a hit');
ok t_cmp(md5_hex($second->content // ''), md5_hex($first->content // ''), 'the same bytes');
ok t_cmp(defined $second->header('Age') ? 1 : 0, 1, 'the hit has an Age header');
ok t_cmp($second->header('ETag') // '-', $first->header('ETag') // '', 'the hit keeps the ETag');
my $etag = $first->header('ETag') // '"none"';
my $cond = GET $path, 'If-None-Match' => $etag;
ok t_cmp($cond->code, 304, 'If-None-Match through the cache: 304');
ok t_cmp(module_runs($mark, $path, 3), 1, 'mod_tofu ran once for the three requests');

# Vary: Accept: each variant is cached on its own.
my $auto = signed_url(prefix => '/cached', id => $id, ops => '250x', key => SECRET);
my $vmark = notes_log_mark();
my @seq = (['image/webp', 'webp', 'MISS'], ['image/webp', 'webp', 'HIT'],
           ['image/jpeg', 'jpeg', 'MISS'], ['image/jpeg', 'jpeg', 'HIT']);
my @got;
for my $s (@seq) {
    my $r = GET $auto, Accept => $s->[0];
    settle();
    my $info = image_info($r->content) || {};
    push @got, join ' ', $s->[0], ($info->{format} // '?'),
        ($r->header('X-Cache') // '-') =~ s/ from .*//r;
}
ok t_cmp($got[0], 'image/webp webp MISS', 'Accept webp: WebP, a miss');
ok t_cmp($got[1], 'image/webp webp HIT', 'Accept webp again: WebP from the cache');
ok t_cmp($got[2], 'image/jpeg jpeg MISS', 'Accept jpeg: not the cached WebP (Vary), a miss');
ok t_cmp($got[3], 'image/jpeg jpeg HIT', 'Accept jpeg again: JPEG from the cache');
ok t_cmp(module_runs($vmark, $auto, 4), 2, 'mod_tofu ran once per variant');
