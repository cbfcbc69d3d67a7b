# The counters add up across child processes (issue 13): after N distinct image requests from
# forked clients released at once (served by several children: prefork processes, or event
# children whose 20 threads each cannot take them all), SetHandler tofu-metrics says exactly N,
# and its histograms count N; the exposition parses with prometheus_client's parser; mod_status's
# /server-status shows the same totals (HTML and ?auto); graceful and full restarts keep them.
# Locations: t/conf/metrics.conf.in (/counted is asked for by this test alone).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest ();
use TofuTest;

plan tests => 32;

sub GET { Apache::TestRequest::user_agent(reset => 1, keep_alive => 0); Apache::TestRequest::GET(@_) }

# The exposition, parsed: its samples (undef when it does not parse).
sub scrape {
    my $r = GET('/tofu-metrics');
    die "/tofu-metrics: " . $r->code unless $r->code == 200;
    my $parsed = prometheus_parse($r->content) or die "parse: $@";
    return ($parsed, $r);
}

sub value { my ($p, $key) = @_; $p->{samples}{$key} // 'absent' }

my ($before, $first) = scrape();
ok t_cmp($first->header('Content-Type'), qr{^text/plain; version=0\.0\.4},
         'the Prometheus text format, version 0.0.4');
ok t_cmp($first->header('Cache-Control') // '-', 'no-store', 'never cached');
my %types = %{ $before->{types} };
ok t_cmp(join(' ', map { "$_=" . ($types{$_} // '?') } qw(tofu_requests tofu_transforms
         tofu_request_duration_seconds tofu_transforms_in_flight tofu_storage_faults)),
         'tofu_requests=counter tofu_transforms=counter tofu_request_duration_seconds=histogram '
         . 'tofu_transforms_in_flight=gauge tofu_storage_faults=counter',
         'prometheus_client parses it, with the families typed');
my @stages = qw(fetch queue decode resize encode request);
ok t_cmp(scalar(grep { ($types{"tofu_${_}_duration_seconds"} // '') eq 'histogram' } @stages),
         scalar @stages, 'a histogram per stage: ' . join(', ', @stages));

# --- N distinct transforms from forked clients, all at once -----------------------------------
my $n = 40;
my @ext = ('jpg', 'png', 'webp', 'jpg');
my $notes = notes_log_mark();
my @paths = map {
    signed_url(prefix => '/counted', id => 'exif-orientation/Landscape_' . (1 + $_ % 8) . '.jpg',
               ops => (120 + $_) . 'x', ext => $ext[$_ % @ext])
} 0 .. $n - 1;
my ($ok, $bytes, %per_format) = (0, 0);
for (concurrent_gets(undef, \@paths)) {
    my ($code, $etag, $type, $length) = @$_;
    next unless $code == 200;
    $ok++;
    $bytes += $length;
    $per_format{ $type =~ s{^image/}{}r }++;
}
ok t_cmp($ok, $n, "$n distinct image requests from $n clients at once: all 200");
my %served_by;
for my $path (@paths) {
    $served_by{ $_->{pid} }++ for notes_since($notes, $path, 1);
}
ok t_cmp(scalar(keys %served_by) >= 2 ? 1 : 0, 1,
         'served by several child processes: ' . join(', ', map { "pid $_: $served_by{$_}" } sort keys %served_by));

my ($after) = scrape();
sub delta { my $key = shift; value($after, $key) - value($before, $key) }
ok t_cmp(delta('tofu_requests_total{class=2xx}'), $n, "tofu_requests_total{class=\"2xx\"} grew by exactly $n");
ok t_cmp(delta('tofu_responses_total{code=200}'), $n, "tofu_responses_total{code=\"200\"}: +$n");
ok t_cmp(delta('tofu_transforms_total{}'), $n, "tofu_transforms_total: +$n");
ok t_cmp(delta('tofu_response_bytes_total{}'), $bytes, "tofu_response_bytes_total: + the $bytes body bytes received");
ok t_cmp(join(' ', map { "$_+" . delta("tofu_images_total{format=$_}") } qw(jpeg png webp)),
         join(' ', map { "$_+" . ($per_format{$_} // 0) } qw(jpeg png webp)),
         'tofu_images_total by format');
for my $stage (@stages) {
    ok t_cmp(delta("tofu_${stage}_duration_seconds_count{}"), $n,
             "tofu_${stage}_duration_seconds_count: +$n");
}
ok t_cmp(delta('tofu_request_duration_seconds_bucket{le=+Inf}'), $n, 'the +Inf bucket agrees');
ok t_cmp(delta('tofu_request_duration_seconds_sum{}') > 0 ? 1 : 0, 1,
         'the request duration sum grew (' . delta('tofu_request_duration_seconds_sum{}') . ' s)');
ok t_cmp(value($after, 'tofu_transforms_in_flight{}'), 0, 'nothing in flight once all answered');
ok t_cmp(value($after, 'tofu_processes{}') >= 2 ? 1 : 0, 1,
         'tofu_processes counts the live children: ' . value($after, 'tofu_processes{}'));

# --- a 304 and a 404 -------------------------------------------------------------------------
my $etag = GET($paths[0])->header('ETag');
my $not_modified = GET($paths[0], 'If-None-Match' => $etag);
ok t_cmp($not_modified->code, 304, 'a revalidation: 304');
GET(signed_url(prefix => '/counted', id => 'no/such.jpg', ops => '100x', ext => 'jpg'));
my ($later) = scrape();
ok t_cmp(value($later, 'tofu_not_modified_total{}') - value($after, 'tofu_not_modified_total{}'), 1,
         'tofu_not_modified_total: +1');
ok t_cmp(value($later, 'tofu_requests_total{class=4xx}') - value($after, 'tofu_requests_total{class=4xx}'), 1,
         'the 404: tofu_requests_total{class="4xx"} +1');
ok t_cmp(value($later, 'tofu_transforms_total{}') - value($after, 'tofu_transforms_total{}'), 1,
         'one more transform (the 200 before the 304), none for the 304 and the 404');

# --- mod_status ------------------------------------------------------------------------------
my $auto = GET('/server-status?auto');
ok t_cmp($auto->code, 200, '/server-status?auto');
my ($auto2xx) = ($auto->content =~ /^TofuRequests2xx: (\d+)$/m);
ok t_cmp($auto2xx // 'absent', value($later, 'tofu_requests_total{class=2xx}'),
         '?auto: TofuRequests2xx is the exposition\'s total');
ok t_cmp($auto->content =~ /^TofuTransformsInFlight: 0$/m ? 1 : 0, 1, '?auto: TofuTransformsInFlight');
my $html = GET('/server-status');
ok t_cmp($html->content =~ m{<h2>mod_tofu</h2>.*Transforms: \d+}s ? 1 : 0, 1,
         '/server-status has the mod_tofu section');

# --- restarts keep the totals ----------------------------------------------------------------
for my $signal ('USR1', 'HUP') {
    my $resumed = restart_server($signal);
    my $current;
    for (1 .. 20) {
        $current = eval { (scrape())[0] } and last;
        select undef, undef, undef, 0.2;
    }
    ok t_cmp($resumed && value($current, 'tofu_requests_total{class=2xx}') == value($later, 'tofu_requests_total{class=2xx}')
             && value($current, 'tofu_metrics_start_timestamp_seconds{}') == value($before, 'tofu_metrics_start_timestamp_seconds{}') ? 1 : 0,
             1, "$signal: the totals and their start time are kept ("
             . value($current, 'tofu_requests_total{class=2xx}') . ')');
}
my $one_more = GET(signed_url(prefix => '/counted', id => 'jpeg/baseline.jpg', ops => '77x', ext => 'jpg'));
my ($final) = scrape();
ok t_cmp($one_more->code . ' +' . (value($final, 'tofu_requests_total{class=2xx}') - value($later, 'tofu_requests_total{class=2xx}')),
         '200 +1', 'the new generation adds to the same totals');
