#!/usr/bin/env bash
# test/check_log.sh LOGDIR — after the suites, prove that no rejected number reached a server
# log (invariant 2 for refused input): neither as typed nor as its bare digits.  The numbers
# are those of test/fixtures/rejected_*.txt, the inputs the suites feed to the types.
#
# So that this check can fail for the right reason, it first asserts that statement logging
# was live: the canary statement of sql/mynumber.sql must be in the main log.  Output is TAP.
set -uo pipefail
LOGDIR=${1:?usage: check_log.sh LOGDIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

exec perl -CSD -Mutf8 -e '
    use strict; use warnings;
    my ($logdir, $root) = @ARGV;
    my @logs = sort glob("$logdir/*.log");
    my $n = 0; my $failed = 0;
    sub check { my ($ok, $what) = @_; $n++; $failed++ unless $ok;
                print(($ok ? "ok" : "not ok"), " $n - $what\n"); }

    check(scalar(@logs) > 0, "server logs were kept in $logdir");
    my %text;
    for my $log (@logs) {
        open(my $fh, "<:encoding(UTF-8)", $log) or die "$log: $!";
        local $/; $text{$log} = <$fh>;
    }
    my $main = "$logdir/main.log";
    check(defined $text{$main} && index($text{$main}, "regress_log_canary") >= 0,
          "statement logging was live (the canary statement is in main.log)");

    for my $fixture (sort glob("$root/test/fixtures/rejected_*.txt")) {
        open(my $fh, "<:encoding(UTF-8)", $fixture) or die "$fixture: $!";
        my ($lines, $leaks) = (0, 0);
        while (my $line = <$fh>) {
            chomp $line;
            (my $digits = $line) =~ tr/\x{FF10}-\x{FF19}/0-9/;
            $digits =~ s/\D//g;
            next if length($digits) < 8;     # too short to tell apart from a pid or a time
            $lines++;
            for my $log (@logs) {
                # The literal as typed, and its digits as a number of their own (not a run
                # inside a longer one, such as a WAL segment name in a recovery message).
                my $found = $text{$log} =~ /(?<!\d)\Q$line\E(?!\d)/ || $text{$log} =~ /(?<!\d)\Q$digits\E(?!\d)/;
                next unless $found;
                $leaks++;
                print "# fixture line $. of $fixture appears in $log\n";
            }
        }
        (my $name = $fixture) =~ s{.*/}{};
        check($lines > 0 && $leaks == 0, "none of the $lines numbers of $name is in any server log");
    }
    print "1..$n\n";
    exit($failed ? 1 : 0);
' "$LOGDIR" "$ROOT"
