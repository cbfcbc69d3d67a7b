# Scaling out is N identical httpd servers behind the CDN or a load balancer, sharing one store
# (README, "Capacity"). The one property that needs: every server answers a URL with the same
# bytes and the same ETag, whichever server and child answer it, so a CDN that fetched a URL from
# one server and revalidates it against another gets a 304, never a second copy.
#
# This file starts a second, independent httpd (the other MPM than the suite's, its own config
# written here, the same module file, the same file store and the same S3 server) and compares
# its answers with the suite's server, URL by URL.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest ();
use File::Spec::Functions qw(catfile);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use LWP::UserAgent ();
use TofuTest;

my $module = $ENV{TOFU_MODULE} or die "TOFU_MODULE is not set: run the suite through httpd-test/run\n";
my $s3 = $ENV{TOFU_TEST_S3_ENDPOINT} or die "TOFU_TEST_S3_ENDPOINT is not set: run through httpd-test/run\n";
my $vars = Apache::Test::vars();
my $httpd = $vars->{httpd};
chomp(my $modules = `$vars->{apxs} -q LIBEXECDIR`);
my $mpm = ($ENV{TOFU_TEST_MPM} // 'event') eq 'prefork' ? 'event' : 'prefork';

# [prefix, id, ops, extension, Accept]: one job per kind of work, both stores, negotiation.
my @cases = (
    ['/img', 'exif-orientation/Landscape_1.jpg', '280x210c-q80', 'jpg'],
    ['/img', 'exif-orientation/Landscape_6.jpg', '400x',         'jpg'],
    ['/img', 'exif-orientation/Portrait_8.jpg',  '120x120',      'webp'],
    ['/img', 'exif-orientation/Landscape_3.jpg', '200x',         'png'],
    ['/auto', 'exif-orientation/Landscape_5.jpg', '160x',        undef, 'image/webp,image/*'],
    ['/s3',  'Landscape_1.jpg',                  '280x210c-q80', 'jpg'],
);

plan tests => 2 + 3 * @cases;

my $dir = tempdir('mod_tofu-scale-out.XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/$_" for qw(logs run);
my $port = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1) or die $!;
    $s->sockport;
};
my $data = data_dir();
my $user = $> == 0 ? "User $vars->{user}\nGroup $vars->{group}\n" : '';
my $conf = catfile($dir, 'httpd.conf');
open my $fh, '>', $conf or die "$conf: $!";
print $fh <<EOF;
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/run/httpd.pid"
DefaultRuntimeDir "$dir/run"
Mutex file:$dir/run default
ErrorLog "$dir/logs/error_log"
LogLevel warn tofu:info
$user
LoadModule mpm_${mpm}_module $modules/mod_mpm_${mpm}.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule tofu_module $module
StartServers 2
<Location /img>
    SetHandler tofu
    TofuStorage file://$data/store
    TofuSecretFile $data/secrets.txt
</Location>
<Location /auto>
    SetHandler tofu
    TofuStorage file://$data/store
    TofuSecret ${\ SECRET}
    TofuAutoFormat On
</Location>
<Location /s3>
    SetHandler tofu
    TofuStorage s3://tofu-originals/direct
    TofuS3Endpoint $s3
    TofuSecret ${\ SECRET}
    TofuStorageTimeout 5
</Location>
EOF
close $fh;

my $started = system($httpd, '-f', $conf, '-k', 'start') == 0;
my $up = 0;
for (1 .. 100) {
    last if !$started;
    if (IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)) { $up = 1; last }
    select undef, undef, undef, 0.1;
}
ok t_cmp($up, 1, "a second httpd ($mpm MPM) started on port $port");
END { system($httpd, '-f', $conf, '-k', 'stop') if $conf && -f "$dir/run/httpd.pid" }

my $ua = LWP::UserAgent->new(timeout => 30, keep_alive => 0);
my $ours = Apache::TestRequest::hostport();
for my $case (@cases) {
    my ($prefix, $id, $ops, $ext, $accept) = @$case;
    my $key = $prefix eq '/img' ? SECRET_FILE_FIRST : SECRET;
    my $path = signed_url(prefix => $prefix, id => $id, ops => $ops, ext => $ext, key => $key);
    my @headers = $accept ? (Accept => $accept) : ();
    my $a = $ua->get("http://$ours$path", @headers);
    my $b = $ua->get("http://127.0.0.1:$port$path", @headers);
    my $what = "$prefix $id $ops" . ($ext ? ".$ext" : " (Accept: $accept)");
    ok t_cmp($a->code . ' ' . $b->code, '200 200', "$what: both servers answer");
    ok t_cmp($b->header('ETag') // 'none', $a->header('ETag') // 'none', "$what: same ETag");
    ok t_cmp(length($a->content) > 0 && $a->content eq $b->content ? 'same bytes' : 'different bytes',
             'same bytes', "$what: byte-identical bodies (" . length($a->content) . ' and '
             . length($b->content) . ' bytes)');
}

# The second server's own children answered (not a proxy to the first): its pid differs and its
# log shows no crash.
open my $pf, '<', "$dir/run/httpd.pid" or die "pid file: $!";
chomp(my $pid = <$pf>);
open my $of, '<', $vars->{t_pid_file} or die "pid file: $!";
chomp(my $suite_pid = <$of>);
my $crash_re = crash_pattern();
my $log = do { local $/; open my $l, '<', "$dir/logs/error_log" or die $!; <$l> };
ok t_cmp(($pid != $suite_pid ? 'two servers' : 'one server') . ', '
         . scalar(grep { /$crash_re/ } split /\n/, $log) . ' crashes',
         'two servers, 0 crashes', "two distinct servers (pids $suite_pid and $pid), no crash");
