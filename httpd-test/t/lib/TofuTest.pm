package TofuTest;

# Helpers shared by the mod_tofu Apache::Test suite: URL signing (done here in Perl, on purpose
# independent of the Rust code and the `tofu` CLI), image header parsing, pixel comparison through
# ImageMagick, and reading the server's error log.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256);
use File::Temp qw(tempfile);
use Exporter 'import';

our @EXPORT = qw(
    SECRET SECRET_OLD SECRET_FILE_FIRST SECRET_FILE_SECOND
    enc_segment enc_id signature signed_url
    image_info im_info rmse write_tmp
    error_log_path error_log_mark error_log_since crash_pattern one_line
    notes_log_mark notes_since concurrent_gets restart_server prometheus_parse
    data_dir original
    DEFAULT_CACHE_CONTROL DEFAULT_ERROR_CACHE_CONTROL
);

use constant DEFAULT_CACHE_CONTROL       => 'public, max-age=31536000, immutable';
use constant DEFAULT_ERROR_CACHE_CONTROL => 'public, max-age=60';

# Keys the test configuration uses (extra.conf.in, the secrets file written by TEST.PL).
use constant SECRET             => 'tofu-test-secret-2024';
use constant SECRET_OLD         => 'tofu-test-secret-2019';
use constant SECRET_FILE_FIRST  => 'file-key-one-of-the-test-suite';
use constant SECRET_FILE_SECOND => 'file-key-two-of-the-test-suite';

# Bytes that stay literal in an id segment (RFC 3986 pchar minus '%'); everything else is %XX,
# uppercase hex, over the UTF-8 bytes of the (character) string.
sub enc_segment {
    my $s = shift;
    utf8::encode($s);
    $s =~ s/([^A-Za-z0-9\-._~!\$&'()*+,;=:@])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}

sub enc_id { join '/', map { enc_segment($_) } split m{/}, shift, -1 }

# Lowercase hex of the first $bytes bytes of HMAC-SHA256($key, $signed).
sub signature {
    my ($key, $signed, $bytes) = @_;
    $bytes //= 16;
    return unpack 'H*', substr(hmac_sha256($signed, $key), 0, $bytes);
}

# signed_url(prefix => '/img', id => 'raw/encoded/id', ops => '280x210', ext => 'jpg',
#            key => SECRET_FILE_FIRST for /img else SECRET, bytes => 16,
#            expires => unix seconds)  ->  '/img/<id>/<ops>[-e<expires>]/<sig>[.<ext>]'
# `id` is used as given (already percent-encoded, so tests can send non-canonical forms); so is
# `expires` (a string such as '0123' is sent as written).
sub signed_url {
    my %a = @_;
    my $prefix = $a{prefix} // '/img';
    my $ext    = $a{ext};
    my $ops    = $a{ops} . (defined $a{expires} ? "-e$a{expires}" : '');
    my $signed = "$a{id}/$ops" . (defined $ext ? ".$ext" : '');
    # /img takes the keys of the secrets file, the other locations the inline SECRET.
    my $key    = $a{key} // ($prefix eq '/img' ? SECRET_FILE_FIRST : SECRET);
    my $sig    = signature($key, $signed, $a{bytes} // 16);
    return "$prefix/$a{id}/$ops/$sig" . (defined $ext ? ".$ext" : '');
}

# Format and dimensions from the header of a JPEG, PNG, GIF or WebP held in memory:
# { format => 'jpeg'|'png'|'gif'|'webp', width => W, height => H }, or undef if not recognised.
sub image_info {
    my $b = shift;
    return undef unless defined $b && length $b >= 12;
    if (substr($b, 0, 8) eq "\x89PNG\r\n\x1a\n") {
        return undef unless length $b >= 24 && substr($b, 12, 4) eq 'IHDR';
        my ($w, $h) = unpack 'NN', substr($b, 16, 8);
        return { format => 'png', width => $w, height => $h };
    }
    if (substr($b, 0, 6) eq 'GIF87a' || substr($b, 0, 6) eq 'GIF89a') {
        my ($w, $h) = unpack 'vv', substr($b, 6, 4);
        return { format => 'gif', width => $w, height => $h };
    }
    if (substr($b, 0, 4) eq 'RIFF' && substr($b, 8, 4) eq 'WEBP') {
        my $chunk = substr($b, 12, 4);
        if ($chunk eq 'VP8 ') {
            my ($w, $h) = unpack 'vv', substr($b, 26, 4);
            return { format => 'webp', width => $w & 0x3fff, height => $h & 0x3fff };
        }
        if ($chunk eq 'VP8L') {
            my $bits = unpack 'V', substr($b, 21, 4);
            return { format => 'webp', width => ($bits & 0x3fff) + 1,
                     height => (($bits >> 14) & 0x3fff) + 1 };
        }
        if ($chunk eq 'VP8X') {
            my @c = unpack 'C6', substr($b, 24, 6);
            return { format => 'webp', width => 1 + ($c[0] | $c[1] << 8 | $c[2] << 16),
                     height => 1 + ($c[3] | $c[4] << 8 | $c[5] << 16) };
        }
        return undef;
    }
    if (substr($b, 0, 2) eq "\xff\xd8") {
        my $i = 2;
        while ($i + 4 <= length $b) {
            return undef unless substr($b, $i, 1) eq "\xff";
            my $m = ord substr($b, $i + 1, 1);
            if ($m == 0xff) { $i++; next }                     # fill byte
            if ($m == 0xd8 || ($m >= 0xd0 && $m <= 0xd7) || $m == 0x01) { $i += 2; next }
            my $len = unpack 'n', substr($b, $i + 2, 2);
            if ($m >= 0xc0 && $m <= 0xcf && $m != 0xc4 && $m != 0xc8 && $m != 0xcc) {
                my ($h, $w) = unpack 'nn', substr($b, $i + 5, 4);
                my $components = ord substr($b, $i + 9, 1);
                return { format => 'jpeg', width => $w, height => $h,
                         components => $components, progressive => ($m == 0xc2 ? 1 : 0) };
            }
            $i += 2 + $len;
        }
        return undef;
    }
    return undef;
}

sub write_tmp {
    my ($bytes, $suffix) = @_;
    my ($fh, $name) = tempfile('tofu-test-XXXXXX', TMPDIR => 1, UNLINK => 1,
                               SUFFIX => $suffix // '');
    binmode $fh;
    print $fh $bytes;
    close $fh;
    return $name;
}

# What ImageMagick makes of the bytes after a full decode: "FORMAT WIDTH HEIGHT CHANNELS
# COLORSPACE", or undef (with ImageMagick's complaint in $@) if it cannot decode them.
sub im_info {
    my $bytes = shift;
    my $file = write_tmp($bytes);
    # -regard-warnings: a truncated or corrupt image is an error, not a warning.
    my $out = qx{convert -regard-warnings '$file' -format '%m %w %h %[channels] %[colorspace]\\n' info: 2>&1};
    if ($? != 0) {
        $@ = $out;
        return undef;
    }
    chomp $out;
    return $out;
}

# Normalised root-mean-square difference (0 = identical, 1 = opposite) of two images of the same
# size, as ImageMagick's `compare -metric RMSE` reports it; each may be bytes or a file name.
# With $size ("WxH") both are first scaled to that size (exactly).
sub rmse {
    my ($a, $b, $size) = @_;
    my @files = map { (length($_) < 4096 && !/[\0\n]/ && -e $_) ? $_ : write_tmp($_) } ($a, $b);
    my $resize = $size ? "-resize '$size!'" : '';
    my @png;
    for my $file (@files) {
        my $png = write_tmp('', '.png');
        # Not an image (an error page, an empty body): as different as can be.
        return 1 if system("convert '$file' -auto-orient -alpha off $resize -colorspace sRGB "
                           . "-type TrueColor '$png' 2>/dev/null") != 0;
        push @png, $png;
    }
    my $out = qx{compare -metric RMSE '$png[0]' '$png[1]' null: 2>&1};
    return $1 if $out =~ /\(([0-9.eE+-]+)\)/;
    return 1;    # different sizes
}

sub data_dir { Apache::Test::vars('tofu_data') }

# Path of an original as the server's storage holds it (for reference renderings).
sub original { join '/', data_dir(), 'store', shift }

sub error_log_path {
    require File::Spec;
    File::Spec->catfile(Apache::Test::vars('t_logs'), 'error_log');
}

# The error-log lines of a crashed child, as a regex: the one ERE of httpd-test/crash-pattern,
# which httpd-test/run greps the log with too.
sub crash_pattern {
    require File::Basename;
    require File::Spec;
    my $file = File::Spec->catfile(File::Basename::dirname(__FILE__), '..', '..', 'crash-pattern');
    open my $fh, '<', $file or die "$file: $!";
    chomp(my $ere = <$fh> // die "$file is empty\n");
    return qr/$ere/;
}

# Byte offset of the end of the error log, to read what a request added with error_log_since.
sub error_log_mark { -s error_log_path() || 0 }

sub error_log_since {
    my $mark = shift;
    # The line is written by the child before the response is sent; give a slow disk a moment.
    select undef, undef, undef, 0.1;
    open my $fh, '<', error_log_path() or die "error_log: $!";
    seek $fh, $mark, 0;
    local $/;
    my $text = <$fh>;
    return $text // '';
}

# The log of the module's notes (LogFormat tofu_notes in extra.conf.in).
sub notes_log_path {
    require File::Spec;
    File::Spec->catfile(Apache::Test::vars('t_logs'), 'tofu_notes_log');
}

sub notes_log_mark { -s notes_log_path() || 0 }

# The tofu_notes_log entries written since $mark for URL paths equal to $path, as hashes
# { pid, start (µs), code, status, coalesced, fetch, transform, total, path, accept, decoder }
# ('-' where a note is unset).
# The access log is written after the response is sent: waits up to 5 s for $want entries.
sub notes_since {
    my ($mark, $path, $want) = @_;
    my @found;
    for my $try (1 .. 50) {
        @found = ();
        if (open my $fh, '<', notes_log_path()) {
            seek $fh, $mark, 0;
            while (my $line = <$fh>) {
                my @f = $line =~ /^(\d+) (\d+) (\d+) (\S+) (\S+) fetch=(\S+) transform=(\S+) total=(\S+) "([^"]*)" "([^"]*)" "([^"]*)"$/
                    or next;
                my %e;
                @e{qw(pid start code status coalesced fetch transform total path accept decoder)} = @f;
                next unless $e{path} eq $path;
                push @found, \%e;
            }
        }
        last if @found >= ($want // 1);
        select undef, undef, undef, 0.1;
    }
    return @found;
}

# GETs $path from $n forked clients released at once (one connection each), with the extra
# headers given; returns their responses' [code, ETag, Content-Type, body length, md5 of body].
# With $n undef and $path a list of paths, client i GETs the i-th path.
sub concurrent_gets {
    my ($n, $path, @headers) = @_;
    my @paths = ref $path ? @$path : ($path) x $n;
    require Apache::TestRequest;
    require Digest::MD5;
    require POSIX;
    pipe my $go_r, my $go_w or die "pipe: $!";
    pipe my $res_r, my $res_w or die "pipe: $!";
    my @pids;
    for my $target (@paths) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $go_w;
            close $res_r;
            <$go_r>;    # EOF when the parent closes its end: every client starts at once
            Apache::TestRequest::user_agent(reset => 1, keep_alive => 0);
            my $res = Apache::TestRequest::GET($target, @headers);
            my $body = $res->content // '';
            syswrite $res_w, join("\t", $res->code, $res->header('ETag') // '-',
                                  $res->header('Content-Type') // '-', length $body,
                                  Digest::MD5::md5_hex($body)) . "\n";
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    close $go_r;
    close $res_w;
    close $go_w;
    my @lines = <$res_r>;
    waitpid $_, 0 for @pids;
    chomp @lines;
    return map { [split /\t/] } @lines;
}

# Sends the test server's parent $signal (USR1: graceful, HUP: full restart) and waits for the
# new generation of children; true when the error log shows it resumed.
sub restart_server {
    my $signal = shift;
    my $pid_file = Apache::Test::vars('t_pid_file');
    open my $fh, '<', $pid_file or die "$pid_file: $!";
    chomp(my $pid = <$fh>);
    my $mark = error_log_mark();
    kill $signal, $pid or die "kill $signal $pid: $!";
    for (1 .. 100) {
        select undef, undef, undef, 0.1;
        return 1 if error_log_since($mark) =~ /resuming normal operations/;
    }
    return 0;
}

# A Prometheus text exposition as prometheus_client's parser reads it (t/lib/prometheus_parse.py,
# through Debian's /usr/bin/python3): { types => { family => type }, samples => { 'name{k=v,…}'
# => value } }, or undef with the parser's complaint in $@.
sub prometheus_parse {
    my $text = shift;
    require File::Basename;
    require File::Spec;
    require IPC::Open3;
    require Symbol;
    my $script = File::Spec->catfile(File::Basename::dirname(__FILE__), 'prometheus_parse.py');
    my $err = Symbol::gensym();
    my $pid = IPC::Open3::open3(my $in, my $out, $err, '/usr/bin/python3', $script);
    print $in $text;
    close $in;
    my @lines = <$out>;
    my $complaint = join '', <$err>;
    waitpid $pid, 0;
    if ($? != 0) {
        $@ = $complaint || "prometheus_parse.py exited with $?";
        return undef;
    }
    my (%types, %samples);
    for (@lines) {
        chomp;
        my @f = split /\t/, $_, -1;
        if ($f[0] eq 'TYPE') { $types{$f[1]} = $f[2] }
        elsif ($f[0] eq 'SAMPLE') { $samples{"$f[1]\{$f[2]\}"} = 0 + $f[3] }
    }
    return { types => \%types, samples => \%samples };
}

# True when the body is a single non-empty line of text (an optional final newline).
sub one_line {
    my $body = shift // '';
    return $body =~ /\A[^\n]*\S[^\n]*\n?\z/ ? 1 : 0;
}

1;
