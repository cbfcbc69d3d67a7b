# A burst of 50 concurrent requests (forked clients released at once), every one a different
# transform in every output format: all 200 with the right size and format.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest ();
use POSIX ();
use TofuTest;

my $clients = 50;
my @ext = (undef, 'jpg', 'png', 'webp');
my @ids = map { "exif-orientation/Landscape_$_.jpg" } 1, 6, 8, 3;

plan tests => 3;

pipe my $go_r, my $go_w or die "pipe: $!";
pipe my $res_r, my $res_w or die "pipe: $!";
my @pids;
my $started = time;
for my $i (0 .. $clients - 1) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $go_w;
        close $res_r;
        <$go_r>;    # wait until every client is forked: EOF when the parent closes its end
        Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
        my $w = 100 + 7 * $i;
        my $ext = $ext[$i % @ext];
        my $id = $ids[$i % @ids];
        my $res = Apache::TestRequest::GET(signed_url(id => $id, ops => "${w}x", ext => $ext,
                                                      key => SECRET_FILE_FIRST));
        my $info = image_info($res->content) || {};
        my $want = defined $ext ? { jpg => 'jpeg', png => 'png', webp => 'webp' }->{$ext} : 'jpeg';
        my $line = sprintf "%d %d %s %s %s %s\n", $i, $res->code, $info->{width} // '?',
            $info->{height} // '?', $info->{format} // '?', $want;
        syswrite $res_w, $line;
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
close $go_r;
close $res_w;
close $go_w;    # release all clients at once

my @lines = <$res_r>;
waitpid $_, 0 for @pids;
my $elapsed = time - $started;

my ($good, @bad) = (0);
for (@lines) {
    chomp;
    my ($i, $code, $w, $h, $format, $want) = split ' ';
    my $ww = 100 + 7 * $i;
    my $wh = int($ww * 2 / 3 + 0.5);
    if ($code == 200 && $w eq $ww && $h eq $wh && $format eq $want) { $good++ }
    else { push @bad, "#$i: got $code ${w}x$h $format, want 200 ${ww}x$wh $want" }
}
ok t_cmp(scalar @lines, $clients, "all $clients clients answered");
ok t_cmp($good, $clients, "all $clients concurrent answers are right"
         . (@bad ? ': ' . join('; ', @bad[0 .. ($#bad < 4 ? $#bad : 4)]) : ''));
ok t_cmp($elapsed < 120 ? 1 : 0, 1, "the burst took ${elapsed}s");
