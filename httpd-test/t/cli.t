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

# [ id (unencoded), ops, ext, signature bytes ]
my @cases = (
    [ 'exif-orientation/Landscape_1.jpg', '280x210c-q80', 'jpg', 16 ],
    [ 'exif-orientation/Landscape_1.jpg', '280x210',      undef, 16 ],
    [ 'odd names/a b#(1).jpg',            '100x',         'webp', 16 ],
    [ "odd names/caf\x{e9}.jpg",          'x50-q90',      undef, 16 ],
    [ 'exif-orientation/Portrait_1.jpg',  'x50-q90',      undef, 8 ],
    [ 'jpeg/baseline.jpg',                '800x600-r100,50,400,300', 'png', 32 ],
);

plan tests => @cases + 1, sub {
    return 1 if $cli;
    Apache::Test::skip_reason('no tofu CLI built (target/*/tofu; cargo build --bin tofu)');
};

my $short_url;
for my $case (@cases) {
    my ($id, $ops, $ext, $bytes) = @$case;
    my $id_bytes = $id;
    utf8::encode($id_bytes);
    my @args = ('sign', '--secret', SECRET, '--signature-bytes', $bytes, '--prefix', '/short',
                $id_bytes, $ops, defined $ext ? $ext : ());
    open my $fh, '-|', $cli, @args or die "$cli: $!";
    my $got = <$fh> // '';
    close $fh;
    chomp $got;
    my $want = signed_url(prefix => '/short', id => enc_id($id), ops => $ops, ext => $ext,
                          key => SECRET, bytes => $bytes);
    ok t_cmp($got, $want, "tofu sign @args[3 .. $#args]");
    $short_url = $got if $bytes == 8;
}

# /short verifies 8-byte signatures: the CLI's URL is served.
my $res = GET $short_url;
ok t_cmp($res->code, 200, "GET $short_url (signed by the CLI)");
