# Run last (t/TEST.PL orders it so): the whole run's error log has the module's lines and no sign of a crashed child.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Apache::Test qw(plan ok);
use Apache::TestUtil qw(t_cmp);
use TofuTest;

plan tests => 3;
my $crash_re = crash_pattern();

open my $fh, '<', error_log_path() or die error_log_path() . ": $!";
my @log = <$fh>;
close $fh;

my @tofu = grep { /\[tofu:/ } @log;
ok t_cmp(@tofu > 0 ? 1 : 0, 1, 'the error log has tofu lines (' . scalar(@tofu) . ')');
my @crash = grep { /$crash_re/ } @log;
ok t_cmp(scalar @crash, 0, 'no crashed child: ' . join(' | ', map { chomp; $_ } @crash[0 .. ($#crash < 4 ? $#crash : 4)]));
my @emerg = grep { /:(emerg|alert|crit)\]/ } @log;
ok t_cmp(scalar @emerg, 0, 'no emerg/alert/crit lines: ' . join(' | ', map { chomp; $_ } @emerg[0 .. ($#emerg < 4 ? $#emerg : 4)]));
