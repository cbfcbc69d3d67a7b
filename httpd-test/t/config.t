# Bad configuration fails at startup (httpd -t), with Apache's file:line message, never at
# request time; a good one passes.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use File::Temp qw(tempdir);
use TofuTest;

my $httpd  = Apache::Test::vars('httpd');
my $module = Apache::Test::vars('tofu_module');
my $store  = data_dir() . '/store';
my $secrets = data_dir() . '/secrets.txt';
my $dir = tempdir(CLEANUP => 1);

# [ location body, expected to pass, what ]
my @configs = (
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024", 1, 'storage and secret: fine' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $secrets", 1, 'secret file: fine' ],
    [ "SetHandler tofu\nTofuStorage file://$store", 0, 'no secret', qr/secret/i ],
    [ "SetHandler tofu\nTofuSecret tofu-test-secret-2024", 0, 'no storage', qr/storage/i ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuSignatureBytes 7", 0, 'TofuSignatureBytes 7' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuSignatureBytes 33", 0, 'TofuSignatureBytes 33' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuSignatureBytes 32", 1, 'TofuSignatureBytes 32' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuSignatureBytes 8", 1, 'TofuSignatureBytes 8' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuDefaultQuality 0", 0, 'TofuDefaultQuality 0' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuDefaultQuality 101", 0, 'TofuDefaultQuality 101' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuMaxOutputDimension abc", 0, 'TofuMaxOutputDimension abc' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuMaxSourceBytes -1", 0, 'TofuMaxSourceBytes -1' ],
    [ "SetHandler tofu\nTofuStorage ftp://example/x\nTofuSecret tofu-test-secret-2024", 0, 'unknown storage scheme' ],
    [ "SetHandler tofu\nTofuStorage file://relative/dir\nTofuSecret tofu-test-secret-2024", 0, 'relative storage path' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $dir/no-such-file", 0, 'missing secret file' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuSourceKey {id}.jpg\nTofuMaxSourcePixels 1000", 1, 'every other directive' ],
    [ "TofuStorage file://$store", 1, 'tofu directives without SetHandler tofu: nothing to check' ],
    # S3 and the storage guards: parsed at startup, nothing connects (an unreachable endpoint is fine).
    [ "SetHandler tofu\nTofuStorage s3://tofu-originals/photos\nTofuS3Endpoint http://127.0.0.1:1\nTofuS3Region eu-west-1\nTofuFallbackStorage file://$store\nTofuStorageTimeout 2.5\nTofuStorageBreaker 3 10\nTofuSecret tofu-test-secret-2024", 1, 'S3 with fallback, timeout, breaker' ],
    [ "SetHandler tofu\nTofuStorage s3://Not_A_Bucket\nTofuSecret tofu-test-secret-2024", 0, 'invalid bucket name', qr/bucket/ ],
    [ "SetHandler tofu\nTofuStorage s3://b-ok/x\nTofuS3Endpoint 127.0.0.1:9000\nTofuSecret tofu-test-secret-2024", 0, 'endpoint without scheme', qr/TofuS3Endpoint/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuFallbackStorage file:///nonexistent/tofu\nTofuSecret tofu-test-secret-2024", 0, 'missing fallback root', qr/TofuFallbackStorage/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuStorageTimeout 0\nTofuSecret tofu-test-secret-2024", 0, 'TofuStorageTimeout 0' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuStorageBreaker 5\nTofuSecret tofu-test-secret-2024", 0, 'TofuStorageBreaker needs two arguments' ],
    # TofuCacheTag: a header name that is no token, one of ours, a character no CDN takes.
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuCacheTag Edge-Cache-Tag photo-{id}\nTofuCacheTag Surrogate-Key \"photo-{id} store-{key}\"", 0, 'TofuCacheTag with a space in the template', qr/TofuCacheTag: .*may not be in a tag/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuCacheTag \"Edge Cache Tag\" photo-{id}", 0, 'TofuCacheTag with a header name that is no token', qr/line \d+.*TofuCacheTag: .*not a header name/s ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuCacheTag ETag photo-{id}", 0, 'TofuCacheTag on a header mod_tofu sets', qr/ETag is set by mod_tofu/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret tofu-test-secret-2024\nTofuCacheTag Edge-Cache-Tag photo-{id}\nTofuCacheTag Surrogate-Key store-{key}\nTofuCacheTag Cache-Tag all-images", 1, 'TofuCacheTag for three CDNs' ],
);

# Key files: private, group-readable (a warning), world-readable (refused), a short key, and one
# named relative to ServerRoot (resolved as httpd resolves its own file names).
my %keyfiles = (private => 0600, group => 0640, public => 0644, short => 0600);
for my $name (keys %keyfiles) {
    my $f = "$dir/keys-$name";
    open my $kh, '>', $f or die "$f: $!";
    print $kh $name eq 'short' ? "a-long-enough-first-key\nshort\n" : "a-long-enough-key-\xff\xfe-of-bytes\n";
    close $kh;
    chmod $keyfiles{$name}, $f;
}
my $key = 'tofu-test-secret-2024';
push @configs,
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $dir/keys-private", 1, 'key file of bytes, mode 600' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile keys-private", 1, 'key file relative to ServerRoot' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $dir/keys-group", 1, 'group-readable key file: a warning', qr/readable by its group/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $dir/keys-public", 0, 'world-readable key file', qr/world-readable/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $dir/keys-short", 0, 'a key file with a short key', qr/key 2 is 5 bytes/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret short-key", 0, 'a short TofuSecret', qr/at least 16/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuSourceKey ../{id}", 0, 'TofuSourceKey escaping the root', qr/TofuSourceKey/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuSourceKey /x/{id}", 0, 'absolute TofuSourceKey', qr/TofuSourceKey/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuMaxSourceBytes 18446744073709551615", 0, 'TofuMaxSourceBytes that overflows', qr/TofuMaxSourceBytes/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuMaxOutputDimension 500\nTofuPreset big 1000x", 0, 'a preset above the location\'s TofuMaxOutputDimension', qr/\Q$dir\E.*:\d+: SetHandler tofu: TofuPreset big/ ],
    [ "</Location>\nTofuStorage file://$store\nTofuSecret $key\nTofuMaxOutputDimension 500\n<Location /img>\nSetHandler tofu\nTofuPreset big 1000x", 0, 'a server-level limit the location\'s preset exceeds', qr/TofuPreset big/ ],
    [ "</Location>\nTofuStorage file://$store\nTofuSecret $key\n<Location /img>\nSetHandler tofu", 1, 'directives at server level, SetHandler in the location' ],
    # TofuAutoFormat: a list of formats in order of preference, or On / Off alone.
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat avif webp", 1, 'TofuAutoFormat avif webp' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat On", 1, 'TofuAutoFormat On' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat off", 1, 'TofuAutoFormat off' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat", 0, 'TofuAutoFormat with no format', qr/TofuAutoFormat: name the formats/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat avif jpg", 0, 'TofuAutoFormat jpg', qr/TofuAutoFormat: "jpg" is not a format to offer/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat avif avif", 0, 'TofuAutoFormat listing avif twice', qr/TofuAutoFormat: avif is listed twice/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat On avif", 0, 'TofuAutoFormat On with a format', qr/TofuAutoFormat: "On" is not a format/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret $key\nTofuAutoFormat avif,webp", 0, 'TofuAutoFormat with a comma', qr/TofuAutoFormat: "avif,webp"/ ];

# The example shipped for Debian's a2enmod layout: as shipped (all commented out) and with its
# first level of comments removed (the lines an operator uncomments first), pointed at our data.
my $shipped = do {
    my $f = Apache::Test::vars('tofu_repo') . '/apache-conf/tofu.conf';
    open my $fh, '<', $f or die "$f: $!";
    local $/;
    <$fh>;
};
(my $uncommented = $shipped) =~ s{^#(?=</?Location|    )}{}mg;
$uncommented =~ s{/srv/images}{$store}g;
$uncommented =~ s{/etc/apache2/tofu-secrets}{$secrets}g;
push @configs, [ "</Location>\n$shipped\n<Location /other>", 1, 'apache-conf/tofu.conf as shipped' ],
               [ "</Location>\n$uncommented\n<Location /other>", 1, 'apache-conf/tofu.conf uncommented' ];

plan tests => 2 * @configs + grep { $_->[1] && $_->[3] } @configs;

my $n = 0;
for my $case (@configs) {
    my ($body, $pass, $what, $says) = @$case;
    $n++;
    my $conf = "$dir/httpd-$n.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh <<"EOF";
ServerRoot "$dir"
LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule tofu_module "$module"
Listen 127.0.0.1:1
ServerName localhost
ErrorLog "$dir/error_log"
PidFile "$dir/httpd.pid"
DefaultRunTimeDir "$dir"
<Location /img>
$body
</Location>
EOF
    close $fh;
    my $out = qx{'$httpd' -t -f '$conf' 2>&1};
    my $ok = $? == 0 ? 1 : 0;
    (my $one = $out) =~ s/\n+/ | /g;
    ok t_cmp($ok, $pass, "$what: httpd -t " . ($pass ? 'passes' : 'fails') . " ($one)");
    if ($pass) {
        ok t_cmp($out =~ /Syntax OK/ ? 1 : 0, 1, "$what: Syntax OK");
        ok t_cmp($out =~ $says ? 1 : 0, 1, "$what: says $says") if $says;
    }
    else {
        # Directive values are refused by the setter (Apache adds file and line); a location
        # lacking a directive can only be found after the whole file is read: named in words.
        $says //= qr/\Q$conf\E|line \d+/;
        ok t_cmp($out =~ $says ? 1 : 0, 1, "$what: the message says where or what ($says)");
    }
}
