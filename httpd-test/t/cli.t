# The `tofu sign` CLI and this suite's Perl signer (written from DESIGN.md alone) agree, so an
# application following the documented algorithm gets the URLs the module serves.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok skip);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

my $repo = Apache::Test::vars('tofu_repo') // '';
my ($cli) = grep { $_ && -x $_ } $ENV{TOFU_CLI}, "$repo/target/release/tofu", "$repo/target/debug/tofu";

my $in_an_hour = time + 3600;

# [ id (unencoded), ops, ext, signature bytes, --expires (the -e value the Perl signer adds) ]
my @cases = (
    [ 'exif-orientation/Landscape_1.jpg', '280x210c-q80', 'jpg', 16 ],
    [ 'exif-orientation/Landscape_1.jpg', '280x210',      undef, 16 ],
    [ 'odd names/a b#(1).jpg',            '100x',         'webp', 16 ],
    [ "odd names/caf\x{e9}.jpg",          'x50-q90',      undef, 16 ],
    [ 'exif-orientation/Portrait_1.jpg',  'x50-q90',      undef, 8 ],
    [ 'jpeg/baseline.jpg',                '800x600-r100,50,400,300', 'png', 32 ],
    [ 'exif-orientation/Landscape_1.jpg', '280x210c-q80', 'jpg', 16, 1767225600 ],
    [ 'exif-orientation/Landscape_1.jpg', 'thumb',        'webp', 16, 1767225600 ],
    [ 'exif-orientation/Portrait_1.jpg',  'x50',          undef, 8, $in_an_hour ],
    [ 'pngsuite/basn6a08.png',            '32x-q90-b1a2b3c', 'avif', 16, 1767225600 ],
);

plan tests => @cases + 4, sub {
    return 1 if $cli;
    Apache::Test::skip_reason('no tofu CLI built (target/*/tofu; cargo build --bin tofu)');
};

sub tofu_sign {
    open my $fh, '-|', $cli, 'sign', @_ or die "$cli: $!";
    my $got = <$fh> // '';
    close $fh;
    chomp $got;
    return $got;
}

my ($short_url, $expiring_url);
for my $case (@cases) {
    my ($id, $ops, $ext, $bytes, $expires) = @$case;
    my $id_bytes = $id;
    utf8::encode($id_bytes);
    my @args = ('--secret', SECRET, '--signature-bytes', $bytes, '--prefix', '/short',
                $id_bytes, $ops, defined $ext ? $ext : (),
                defined $expires ? ('--expires', $expires) : ());
    my $got = tofu_sign(@args);
    my $want = signed_url(prefix => '/short', id => enc_id($id), ops => $ops, ext => $ext,
                          key => SECRET, bytes => $bytes, expires => $expires);
    ok t_cmp($got, $want, "tofu sign @args[2 .. $#args]");
    $short_url = $got if $bytes == 8 && !defined $expires;
    $expiring_url = $got if $bytes == 8 && defined $expires;
}

# /short verifies 8-byte signatures: the CLI's URLs are served.
my $res = GET $short_url;
ok t_cmp($res->code, 200, "GET $short_url (signed by the CLI)");
my $expiring = GET $expiring_url;
my $cc = $expiring->header('Cache-Control') // '-';
ok t_cmp($expiring->code . ' ' . ($cc =~ /max-age=(\d+)/ && $1 <= 3600 ? 'capped' : $cc),
         '200 capped', "GET $expiring_url (signed by the CLI, expiring in an hour)");

# --expires +SECONDS is counted from now: the -e the CLI wrote is within the second of ours.
{
    my $before = time;
    my $got = tofu_sign('--secret', SECRET, '--prefix', '/short', 'a', '100x', '--expires', '+600');
    my $after = time;
    my ($e) = $got =~ m{/100x-e(\d+)/};
    ok t_cmp(defined $e && $e >= $before + 600 && $e <= $after + 600 ? 1 : 0, 1,
             "tofu sign --expires +600: $got");
    ok t_cmp($got, signed_url(prefix => '/short', id => 'a', ops => '100x', key => SECRET,
                              expires => $e // 0), '... signed as the Perl signer does');
}
