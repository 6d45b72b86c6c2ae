#!/usr/bin/env bash
# scripts/deps.sh — install, with apt-get, what building, running and testing mynumber_ledger
# needs, for the PostgreSQL the machine's Debian release has: 15 on Debian 12 (bookworm), 17
# on Debian 13 (trixie), 18 on unstable (sid) and testing.  MNL_PG_VERSION overrides it.
# Sourced by run.sh and test.sh; installs only what is missing, and a failed install stops
# the caller with apt-get's own error.  (sourced: sets no shell options of its caller)

# The PostgreSQL major version of this machine's Debian release.
mnl_pg_version() {
    if [ -n "${MNL_PG_VERSION:-}" ]; then
        echo "$MNL_PG_VERSION"
        return
    fi
    local codename=""
    [ -r /etc/os-release ] && codename=$(. /etc/os-release; echo "${VERSION_CODENAME:-}")
    case $codename in
        bookworm) echo 15 ;;
        trixie) echo 17 ;;
        *) echo 18 ;;             # sid, forky: the newest
    esac
}

MNL_PG=$(mnl_pg_version)
MNL_PACKAGES=(
    "postgresql-$MNL_PG" "postgresql-server-dev-$MNL_PG" postgresql-contrib
    "postgresql-$MNL_PG-pgtap" libtap-parser-sourcehandler-pgtap-perl
    "postgresql-$MNL_PG-cron" "postgresql-$MNL_PG-pgaudit"
    "postgresql-$MNL_PG-auto-failover" pg-auto-failover-cli   # test/process/auto_failover.sh
    libssl-dev libkrb5-dev make gcc
    gettext locales   # the message catalog (po/, msgfmt) and the ja_JP.UTF-8 locale it is read in
    python3 libpq5   # test/process/fastpath.py: a libpq fast-path client
)

# The clang that PGXS compiles JIT bitcode with (Makefile.global's CLANG), e.g. clang-19.
mnl_clang() {
    local global
    global=$(dirname "$(pg_config --pgxs 2>/dev/null)")/../Makefile.global
    sed -n 's|^CLANG *= *.*/\(clang-[0-9]*\)$|\1|p' "$global" 2>/dev/null | head -1
}

mnl_apt_install() {
    mkdir -p /etc/postgresql-common
    # The packaged cluster (N/main) is not ours; do not let the package create it.
    if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
        echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "installing: $*" >&2
    if ! { apt-get update -qq >/tmp/mnl-apt.log 2>&1 &&
           apt-get install -y -qq --no-install-recommends "$@" >>/tmp/mnl-apt.log 2>&1; }; then
        cat /tmp/mnl-apt.log >&2
        echo "scripts/deps.sh: apt-get could not install: $*" >&2
        return 1
    fi
}

mnl_missing() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

# Install what is missing; non-zero (apt-get's error shown) when that fails.
mnl_install_deps() {
    local missing clang
    missing=$(mnl_missing "${MNL_PACKAGES[@]}")
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        mnl_apt_install $missing || return 1
    fi
    clang=$(mnl_clang)
    if [ -n "$clang" ]; then
        missing=$(mnl_missing "$clang" "libclang-rt-${clang#clang-}-dev")
    else
        clang=clang
        missing=$(mnl_missing clang)
    fi
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        mnl_apt_install $missing || return 1
    fi
    export FUZZ_CC=$clang
    mnl_japanese_locale || return 1
    PATH=$(pg_config --bindir):$PATH
    export PATH
}

# ja_JP.UTF-8, the locale lc_messages names for the Japanese catalog (Debian's locales).
mnl_japanese_locale() {
    locale -a 2>/dev/null | grep -qi '^ja_JP\.utf-\?8$' && return 0
    echo "generating the ja_JP.UTF-8 locale" >&2
    if grep -q '^# *ja_JP.UTF-8 UTF-8' /etc/locale.gen 2>/dev/null; then
        sed -i 's/^# *ja_JP.UTF-8 UTF-8/ja_JP.UTF-8 UTF-8/' /etc/locale.gen
    else
        echo 'ja_JP.UTF-8 UTF-8' >>/etc/locale.gen
    fi
    locale-gen >/tmp/mnl-locale.log 2>&1 || { cat /tmp/mnl-locale.log >&2; return 1; }
}

# The suite's major-version upgrade test (test/process/pg_upgrade.sh) needs the release before
# this one beside it: on Debian 13 (PostgreSQL 17), PostgreSQL 15 from Debian 12's packages,
# pinned so that nothing else comes from there.  Only the suite asks for it (scripts/test.sh);
# elsewhere it does nothing.
mnl_install_upgrade_deps() {
    [ "$MNL_PG" = 17 ] || return 0
    [ -z "$(mnl_missing postgresql-15 postgresql-server-dev-15)" ] && return 0
    echo "deb ${MNL_MIRROR:-http://deb.debian.org/debian} bookworm main" >/etc/apt/sources.list.d/mnl-bookworm.list
    printf 'Package: *\nPin: release n=bookworm\nPin-Priority: 100\n' >/etc/apt/preferences.d/mnl-bookworm
    export DEBIAN_FRONTEND=noninteractive
    echo "installing: postgresql-15 postgresql-server-dev-15 (bookworm, for the upgrade test)" >&2
    if ! { apt-get update -qq >/tmp/mnl-apt.log 2>&1 &&
           apt-get install -y -qq --no-install-recommends -t bookworm postgresql-15 postgresql-server-dev-15 \
               >>/tmp/mnl-apt.log 2>&1; }; then
        cat /tmp/mnl-apt.log >&2
        echo "scripts/deps.sh: apt-get could not install PostgreSQL 15 for the upgrade test" >&2
        return 1
    fi
}

# What the suite's client tests need (test/process/examples.sh, pgbouncer.sh): a JDK and pgJDBC,
# psycopg 3 with its pool, PgBouncer, and node-postgres — Debian's node-pg beside Debian's
# nodejs; where another Node.js is installed (NodeSource's, which Debian's node-pg cannot sit
# beside), pg from the npm registry into examples/node (the version examples/node/package.json
# pins).  Only the suite asks for it (scripts/test.sh).
MNL_EXAMPLE_PACKAGES=(default-jdk-headless libpostgresql-jdbc-java python3-psycopg python3-psycopg-pool pgbouncer)
mnl_install_example_deps() {
    local missing root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    missing=$(mnl_missing "${MNL_EXAMPLE_PACKAGES[@]}")
    if [ -z "$(command -v node)" ]; then
        missing="$missing nodejs $(mnl_missing node-pg)"
    fi
    if [ -n "${missing// /}" ]; then
        # shellcheck disable=SC2086
        mnl_apt_install $missing || return 1
    fi
    if ! NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs node -e "require('pg')" 2>/dev/null &&
       [ ! -d "$root/examples/node/node_modules/pg" ]; then
        if ! mnl_apt_install node-pg 2>/dev/null; then
            echo "installing: pg from the npm registry into examples/node (Debian's node-pg needs Debian's nodejs)" >&2
            (cd "$root/examples/node" && npm install --no-audit --no-fund --silent) || return 1
        fi
    fi
}

# Re-run the calling script as root when it was not started as root.
mnl_require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        exec sudo -E bash "$0" "$@"
    fi
}
