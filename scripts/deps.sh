#!/usr/bin/env bash
# scripts/deps.sh — install, with apt-get, what building, running and testing mynumber_ledger
# needs on Debian 12.  Sourced by run.sh and test.sh; installs only what is missing.
# (sourced: sets no shell options of its caller)

MNL_PACKAGES=(
    postgresql-15 postgresql-server-dev-15 postgresql-contrib
    postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
    postgresql-15-cron postgresql-15-pgaudit
    libssl-dev libkrb5-dev make gcc clang-14 libclang-rt-14-dev
    python3 libpq5   # test/process/fastpath.py: a libpq fast-path client
)

mnl_install_deps() {
    local missing=()
    local p
    for p in "${MNL_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    # The packaged cluster (15/main) is not ours; do not let the package start it.
    mkdir -p /etc/postgresql-common
    if [ ! -e /etc/postgresql-common/createcluster.conf ] || ! grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
        echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Re-run the calling script as root when it was not started as root.
mnl_require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        exec sudo -E bash "$0" "$@"
    fi
}
