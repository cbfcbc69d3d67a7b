# Hostile input through the real module: every corpus file in testdata/ (PngSuite with its
# corrupt files, image-png's regression files, the imagetestsuite crash files, the EXIF
# orientations) and the hostile set (testdata/hostile/, see testdata/README.md) gets a valid
# image or a clean one-line 422, quickly; ids that try to leave the storage root and signatures
# repeated or re-encoded are refused; no child crashes (checked here and by error_log.t).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Find qw(find);
use File::Path qw(make_path);
use IO::Socket::INET;
use Time::HiRes qw(time);

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $store = join '/', data_dir(), 'store';
my $key = SECRET_FILE_FIRST;

# What each hostile file must get (testdata/README.md): 200 or 422.
my %hostile = (
    (map { $_ => 422 } qw(flood-65535.png flood-65535.jpg flood-65500.jpg flood-65535.gif
        flood-65535.webp frame-flood-65535.gif zero-width.png zero-height.png zero-width.jpg
        zero-height.jpg zero-size.gif huge-chunk.png scan-flood.jpg truncated-header.jpg
        truncated.webp html.jpg svg.jpg empty.jpg only-magic.jpg)),
    (map { $_ => 200 } qw(idat-bomb.png ztxt-bomb.png itxt-bomb.png iccp-bomb.png chunk-flood.png
        big-rgba16.png frame-flood.gif frame-flood.webp truncated-data.jpg exif-loop.jpg
        exif-overrun.jpg icc-segments.jpg icc-lies.jpg icc-huge-clut.jpg iccp-garbage.png
        iccp-lies.webp)),
);

# Every image file under the corpus folders, as ids relative to the store.
my @files;
for my $dir (qw(pngsuite pngsuite-extra png-bugfixes imagetestsuite exif-orientation hostile)) {
    find({ no_chdir => 1, wanted => sub {
        return unless -f $_ && /\.(png|jpg|gif|webp)\z/;
        (my $id = $_) =~ s{^\Q$store\E/}{};
        push @files, $id;
    } }, "$store/$dir");
}
@files = sort @files;

# Ids that try to leave the root, each signed over exactly what is sent, so that only the
# path checks can refuse it. Sent on a raw socket: no client library normalises them.
my $long = 'a' x 300;
my @escapes = (
    '..',
    '../secrets.txt',
    'hostile/../../secrets.txt',
    '%2e%2e/secrets.txt',
    '%2E%2E/%2E%2E/etc/passwd',
    '..%2Fsecrets.txt',
    '%2Fetc%2Fpasswd',
    'hostile%2F..%2F..%2Fsecrets.txt',
    '/etc/passwd',
    'jpeg/baseline.jpg%00.png',
    '%00',
    "$long/x.jpg",
    '%C0%AE%C0%AE/secrets.txt',
    'links/passwd.jpg',          # a symlink to /etc/passwd
    'links/up/etc/passwd',       # a symlink to /
    'links/outside.jpg',         # a symlink to a JPEG outside the store
);

# Symlinks out of the store (made here, after TEST.PL copied it).
make_path("$store/links");
symlink '/etc/passwd', "$store/links/passwd.jpg";
symlink '/', "$store/links/up";
symlink data_dir() . '/outside.jpg', "$store/links/outside.jpg";
symlink "$store/jpeg/baseline.jpg", "$store/links/inside.jpg";
{
    open my $in, '<:raw', "$store/jpeg/baseline.jpg" or die $!;
    open my $out, '>:raw', data_dir() . '/outside.jpg' or die $!;
    local $/;
    print {$out} scalar <$in>;
    close $out;
    chmod 0644, data_dir() . '/outside.jpg';
}

my $good = signature($key, 'jpeg/baseline.jpg/100x.jpg');
my $upper = uc $good;
(my $pct = $good) =~ s/(.)/sprintf('%%%02X', ord $1)/ge;
# Signature segments repeated or re-encoded (thumbor accepted such URLs).
my @bypass = (
    "/img/jpeg/baseline.jpg/100x/$good/$good.jpg",
    "/img/jpeg/baseline.jpg/100x/$good.jpg/$good.jpg",
    "/img/$good/jpeg/baseline.jpg/100x/$good.jpg",
    "/img/jpeg/baseline.jpg/100x/$good$good.jpg",
    "/img/jpeg/baseline.jpg/100x/$upper.jpg",
    "/img/jpeg/baseline.jpg/100x/$pct.jpg",
    "/img/jpeg/baseline.jpg/100x/$good%2Ejpg",
    "/img/jpeg/baseline.jpg/100x/$good.jpg.jpg",
    "/img/jpeg/baseline.jpg/100x/$good.jpg/",
    "/img/jpeg/baseline.jpg/100x;$good/$good.jpg",
    "/img/jpeg%2Fbaseline.jpg/100x/$good.jpg",
);

plan tests => 2 * @files + 3 + 2 * @escapes + 1 + 1 + @bypass + 2;
my $crash_re = crash_pattern();

my $mark = error_log_mark();

# GET over a fresh connection with exactly the bytes given: (status, body).
sub raw_get {
    my $path = shift;
    my $sock = IO::Socket::INET->new(PeerAddr => Apache::Test::vars('remote_addr'),
                                     PeerPort => Apache::Test::vars('port'), Timeout => 30)
        or die "connect: $!";
    print $sock "GET $path HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    local $/;
    my $answer = <$sock> // '';
    close $sock;
    my ($status) = $answer =~ m{\AHTTP/1\.\d (\d{3})};
    my (undef, $body) = split /\r\n\r\n/, $answer, 2;
    return ($status // 0, $body // '');
}

my (%seen, $slowest, $slowest_id);
$slowest = 0;
for my $id (@files) {
    my $name = (split m{/}, $id)[-1];
    my $want = exists $hostile{$name} && $id =~ m{^hostile/} ? $hostile{$name}
             : $id =~ m{^png(suite|suite-extra|-bugfixes)/x} ? 422
             : $id =~ m{^(png|exif)}                          ? 200
             : undef;                                     # crash files: 200 or 422
    my $started = time;
    my $res = GET signed_url(id => enc_id($id), ops => '64x64', key => $key);
    my $took = time - $started;
    ($slowest, $slowest_id) = ($took, $id) if $took > $slowest;
    my $code = $res->code;
    $seen{$code}++;
    my $body = $res->content // '';
    if (defined $want) {
        ok t_cmp($code, $want, "$id: status");
    }
    else {
        ok t_cmp(($code == 200 || $code == 422) ? 1 : 0, 1, "$id: 200 or 422, got $code");
    }
    if ($code == 200) {
        my $info = image_info($body) || {};
        ok t_cmp(($info->{width} // 999) <= 64 && ($info->{height} // 999) <= 64 ? 1 : 0, 1,
                 "$id: an image of at most 64x64 (" . ($info->{format} // 'not an image') . ')');
    }
    else {
        ok t_cmp(one_line($body), 1, "$id: one-line body: $body");
    }
}
print "# $seen{200} served, $seen{422} refused; slowest: $slowest_id, ${\ sprintf '%.2f', $slowest} s\n";
ok t_cmp(scalar(@files) > 550 ? 1 : 0, 1, scalar(@files) . ' corpus files sent');
ok t_cmp($slowest < 10 ? 1 : 0, 1, "every answer within the 10 s processing deadline ($slowest_id)");
ok t_cmp(scalar(grep { $_ != 200 && $_ != 422 } keys %seen), 0,
         'only 200 and 422: ' . join(', ', map { "$_ x$seen{$_}" } sort keys %seen));

for my $id (@escapes) {
    my $path = "/img/$id/100x/" . signature($key, "$id/100x");
    my ($status, $body) = raw_get($path);
    ok t_cmp(($status == 400 || $status == 403 || $status == 404) ? 1 : 0, 1,
             "escape $id: refused ($status)");
    ok t_cmp($body =~ /root:|file-key|JFIF|\xff\xd8/ ? 1 : 0, 0, "escape $id: nothing leaked");
}
{
    # A symlink that stays inside the store is an ordinary original.
    my $res = GET signed_url(id => 'links/inside.jpg', ops => '100x', key => $key);
    ok t_cmp($res->code, 200, 'a symlink inside the store is served');
}

{
    my ($status) = raw_get("/img/jpeg/baseline.jpg/100x/$good.jpg");
    ok t_cmp($status, 200, 'the signature being tampered with below is a good one');
}
for my $path (@bypass) {
    my ($status) = raw_get($path);
    ok t_cmp(($status == 403 || $status == 404 || $status == 400) ? 1 : 0, 1,
             "signature bypass refused ($status): $path");
}

# Still serving, and no child died on the way.
{
    my $res = GET signed_url(id => 'exif-orientation/Landscape_6.jpg', ops => '100x', key => $key);
    ok t_cmp($res->code, 200, 'still serving after the hostile set');
    my @crash = grep { /$crash_re/ }
                split /\n/, error_log_since($mark);
    ok t_cmp(scalar @crash, 0, 'no crashed child: ' . join(' | ', @crash[0 .. ($#crash < 3 ? $#crash : 3)]));
}
