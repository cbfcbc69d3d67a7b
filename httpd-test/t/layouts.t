# The URL prefix is the path of the <Location> that sets SetHandler tofu, wherever the other
# directives are (t/conf/layouts.conf.in): server level, virtual-host level, an enclosing
# <Location> before or after the handler's. Before this was fixed, every correctly signed URL of
# these layouts was 403: the prefix came from whichever section held a Tofu* directive.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $id = 'exif-orientation/Landscape_1.jpg';
my $server_key = 'tofu-layout-server-secret';
my $vhost_key = 'tofu-layout-vhost-secret';

plan tests => 17;

sub fetch {
    my ($prefix, $ops, $key) = @_;
    return GET signed_url(prefix => $prefix, id => $id, ops => $ops, ext => 'jpg', key => $key);
}

# Main server: directives at server level, a bare <Location /bare>.
my $r = fetch('/bare', '100x', $server_key);
ok t_cmp($r->code, 200, 'server-level directives, SetHandler in <Location /bare>: 200');
ok t_cmp(image_info($r->content)->{width}, 100, '... the image asked for');
# Signed as if the prefix were empty (the old behaviour's expectation): refused.
my $as_if_root = GET '/bare/' . $id . '/100x/' . signature($server_key, "bare/$id/100x.jpg") . '.jpg';
ok t_cmp($as_if_root->code, 403, 'a signature over the prefix as part of the id is refused');

Apache::TestRequest::module('tofu_layouts');

$r = fetch('/vimg', '100x', $vhost_key);
ok t_cmp($r->code, 200, 'virtual-host-level directives, SetHandler in <Location /vimg>: 200');
ok t_cmp(fetch('/vimg', '100x', $server_key)->code, 403,
         'the virtual host\'s key wins over the server\'s');

for my $tree ('/pics', '/rev') {
    my $plain = fetch("$tree/thumbs", '120x', $vhost_key);
    ok t_cmp($plain->code, 200, "$tree/thumbs (handler in the inner <Location>): 200");
    ok t_cmp(image_info($plain->content)->{width}, 120, "$tree/thumbs: the image asked for");
    my $q70 = fetch("$tree/thumbs", '120x-q70', $vhost_key);
    ok t_cmp($q70->code, 200, "$tree/thumbs with q70: 200");
    ok t_cmp($plain->content eq $q70->content ? 1 : 0, 1,
             "$tree/thumbs: TofuDefaultQuality 70 of the enclosing <Location $tree> applies");
    my $wrong = GET "$tree/thumbs/$id/120x/" . signature($vhost_key, "thumbs/$id/120x.jpg") . '.jpg';
    ok t_cmp($wrong->code, 403, "$tree/thumbs: the prefix is not $tree");
}

Apache::TestRequest::module('default');

# A virtual host whose DocumentRoot the children may not search: the directory walk is skipped
# for tofu URLs (map_to_storage), so they are served; any other URL still gets the walk's 403.
Apache::TestRequest::module('tofu_walled');
ok t_cmp(fetch('/img', '100x', $vhost_key)->code, 200,
         'an unsearchable DocumentRoot does not stop a tofu URL (no directory walk)');
ok t_cmp(GET('/other.html')->code, 403, '... while a file URL there still gets the walk\'s 403');
