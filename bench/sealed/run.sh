#!/usr/bin/env bash
# bench/sealed/run.sh [N] — seal/open/HMAC of N numbers (default 100000) against pgcrypto, and
# lookup of one person among 1M by the blind index; writes bench/results/sealed.md.
# Targets (DESIGN.md §6): seal <= 2 µs, open <= 2 µs without audit, >= 50x faster than
# pgp_sym_encrypt with defaults, lookup among 1M < 1 ms.
N=${1:-100000}
. "$(dirname "$0")/../lib.sh"
mnl_cluster_create bench "ledger.database = 'bench'" "shared_buffers = 512MB" "jit = off"
mnl_cluster_start bench
mnl_psql bench -d postgres -c "CREATE DATABASE bench"
mnl_psql bench -d bench -c "CREATE EXTENSION mynumber_ledger" -c "GRANT ledger_revealer TO postgres" >/dev/null
mnl_wait_writer bench bench
raw=$(mnl_psql bench -d bench -v n="$N" -f bench/sealed/bench.sql)
look=$(mnl_psql bench -d bench -v n=1000000 -f bench/sealed/lookup.sql 2>/dev/null)

out=$ROOT/bench/results/sealed.md
{
    echo "# bench/sealed — sealed numbers"
    echo
    echo "Command: \`bench/sealed/run.sh $N\`. Recorded $(date -u +%Y-%m-%dT%H:%MZ) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') (SHA-NI/AES-NI), $("$MNL_PGBIN/postgres" --version). One backend, no parallel workers; best of 3 runs (1 for pgp and reveal)."
    echo
    echo "| operation | values | total ms | µs per value | µs net of the scan |"
    echo "|---|---:|---:|---:|---:|"
    echo "$raw" | awk -F'|' '
        $1 == "scan only" { scan = $3 / $2 }
        $1 == "scan only (sealed)" { sscan = $3 / $2 }
        { name[NR] = $1; rows[NR] = $2; ms[NR] = $3 }
        END {
            for (i = 1; i <= NR; i++) {
                per = ms[i] * 1000 / rows[i];
                base = (name[i] ~ /open|decrypt|reveal|scan only \(sealed\)/) ? sscan : scan;
                printf "| %s | %d | %.1f | %.3f | %.3f |\n", name[i], rows[i], ms[i], per, per - base * 1000;
                us[name[i]] = per; net[name[i]] = per - base * 1000;
            }
            print "";
            print "| target (DESIGN.md §6) | measured | met |";
            print "|---|---:|:-:|";
            printf "| seal <= 2 µs per value (net) | %.2f µs | %s |\n", net["ledger.seal"], (net["ledger.seal"] <= 2 ? "yes" : "NO");
            printf "| open <= 2 µs per value without audit (net) | %.2f µs | %s |\n", net["open without audit (ledger.mask)"], (net["open without audit (ledger.mask)"] <= 2 ? "yes" : "NO");
            r = us["pgp_sym_encrypt (defaults)"] / us["ledger.seal"];
            printf "| >= 50x faster than pgp_sym_encrypt with defaults | %.0fx | %s |\n", r, (r >= 50 ? "yes" : "NO");
        }'
    echo "$look" | awk -F'|' '{ printf "| lookup of one person among %d by blind index | %.3f ms | %s |\n", $3, $2, ($2 < 1 ? "yes" : "NO") }'
    echo
    echo "An audited reveal costs more than an open: its event is queued and written by the audit writer (the figure above includes waiting for room in the queue when 2000 reveals arrive at once)."
} >"$out"
cat "$out"
