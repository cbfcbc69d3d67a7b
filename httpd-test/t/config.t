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
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k", 1, 'storage and secret: fine' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $secrets", 1, 'secret file: fine' ],
    [ "SetHandler tofu\nTofuStorage file://$store", 0, 'no secret', qr/secret/i ],
    [ "SetHandler tofu\nTofuSecret k", 0, 'no storage', qr/storage/i ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuSignatureBytes 7", 0, 'TofuSignatureBytes 7' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuSignatureBytes 33", 0, 'TofuSignatureBytes 33' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuSignatureBytes 32", 1, 'TofuSignatureBytes 32' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuSignatureBytes 8", 1, 'TofuSignatureBytes 8' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuDefaultQuality 0", 0, 'TofuDefaultQuality 0' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuDefaultQuality 101", 0, 'TofuDefaultQuality 101' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuMaxOutputDimension abc", 0, 'TofuMaxOutputDimension abc' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuMaxSourceBytes -1", 0, 'TofuMaxSourceBytes -1' ],
    [ "SetHandler tofu\nTofuStorage ftp://example/x\nTofuSecret k", 0, 'unknown storage scheme' ],
    [ "SetHandler tofu\nTofuStorage file://relative/dir\nTofuSecret k", 0, 'relative storage path' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecretFile $dir/no-such-file", 0, 'missing secret file' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuSecret k\nTofuSourceKey {id}.jpg\nTofuMaxSourcePixels 1000", 1, 'every other directive' ],
    [ "TofuStorage file://$store", 1, 'tofu directives without SetHandler tofu: nothing to check' ],
    # S3 and the storage guards: parsed at startup, nothing connects (an unreachable endpoint is fine).
    [ "SetHandler tofu\nTofuStorage s3://tofu-originals/photos\nTofuS3Endpoint http://127.0.0.1:1\nTofuS3Region eu-west-1\nTofuFallbackStorage file://$store\nTofuStorageTimeout 2.5\nTofuStorageBreaker 3 10\nTofuSecret k", 1, 'S3 with fallback, timeout, breaker' ],
    [ "SetHandler tofu\nTofuStorage s3://Not_A_Bucket\nTofuSecret k", 0, 'invalid bucket name', qr/bucket/ ],
    [ "SetHandler tofu\nTofuStorage s3://b-ok/x\nTofuS3Endpoint 127.0.0.1:9000\nTofuSecret k", 0, 'endpoint without scheme', qr/TofuS3Endpoint/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuFallbackStorage file:///nonexistent/tofu\nTofuSecret k", 0, 'missing fallback root', qr/TofuFallbackStorage/ ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuStorageTimeout 0\nTofuSecret k", 0, 'TofuStorageTimeout 0' ],
    [ "SetHandler tofu\nTofuStorage file://$store\nTofuStorageBreaker 5\nTofuSecret k", 0, 'TofuStorageBreaker needs two arguments' ],
);

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

plan tests => 2 * @configs;

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
    }
    else {
        # Directive values are refused by the setter (Apache adds file and line); a location
        # lacking a directive can only be found after the whole file is read: named in words.
        $says //= qr/\Q$conf\E|line \d+/;
        ok t_cmp($out =~ $says ? 1 : 0, 1, "$what: the message says where or what ($says)");
    }
}
