# httpd unloads and reloads the module on every restart: after a graceful restart (USR1) and a
# full one (HUP) the module still serves, and no child crashed.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest ();
use TofuTest;

plan tests => 3 * 2;
my $crash_re = crash_pattern();

for my $signal ('USR1', 'HUP') {
    my $mark = error_log_mark();
    my $resumed = restart_server($signal);
    ok t_cmp($resumed, 1, "$signal: the server restarted");
    Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
    my $res;
    for (1 .. 20) {
        $res = Apache::TestRequest::GET(signed_url(id => 'exif-orientation/Landscape_6.jpg',
                                                   ops => '280x210', key => SECRET_FILE_FIRST));
        last if $res->code == 200;
        select undef, undef, undef, 0.2;
    }
    my $info = image_info($res->content) || {};
    ok t_cmp($res->code . ' ' . ($info->{width} // '?') . 'x' . ($info->{height} // '?'),
             '200 280x187', "$signal: mod_tofu serves after the restart");
    my @crash = grep { /$crash_re/ } split /\n/, error_log_since($mark);
    ok t_cmp(scalar @crash, 0, "$signal: no crashed child (" . join(' | ', @crash) . ')');
}
