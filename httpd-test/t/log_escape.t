# Log lines cannot be forged: a signed id may decode to a newline (%0A is canonical), and a store
# may name things as it likes; what reaches the error log has its control characters written as
# %XX, one line per answer.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use Apache::TestRequest qw(GET);
use TofuTest;

plan tests => 5;

my $forged = '[Mon Jan 01 00:00:00.000000 2024] [tofu:error] [pid 1] forged line';
my $id = 'nope' . enc_segment("\n$forged") . '/x' . enc_segment("\e[31mred");
my $mark = error_log_mark();
my $r = GET signed_url(prefix => '/jpg', id => $id, ops => '100x', ext => 'jpg');
ok t_cmp($r->code, 404, 'a signed id with a newline: 404 (no such original)');
my $log = error_log_since($mark);
my @lines = grep { /forged line/ } split /\n/, $log;
ok t_cmp(scalar @lines, 1, 'the answer logged one line') or print STDERR $log;
ok t_cmp($lines[0] // '', qr/^\[[^\]]+\] \[tofu:info\]/, 'the line is the module\'s own info line');
ok t_cmp($lines[0] // '', qr/nope%0A\[Mon Jan/, 'the newline is written as %0A');
ok t_cmp(($log =~ /\e/) ? 1 : 0, 0, 'no escape character reaches the log');
