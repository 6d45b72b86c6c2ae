#!/usr/bin/env bash
# scripts/roots.sh — the other PostgreSQL versions, each in a root of the Debian release that
# packages it (debootstrap): 15 bookworm, 17 trixie, 18 sid.  Sourced by test.sh
# (--postgres N).  The roots are cached between runs under $MNL_ROOTS (default
# /var/cache/mynumber_ledger/roots), with the packages the suite needs already installed; each
# run copies the project's files (tracked and new, not ignored) into the root afresh.
# (sourced: sets no shell options of its caller)

MNL_ROOTS=${MNL_ROOTS:-/var/cache/mynumber_ledger/roots}
MNL_MIRROR=${MNL_MIRROR:-http://deb.debian.org/debian}

mnl_release_of() {
    case $1 in
        15) echo bookworm ;;
        17) echo trixie ;;
        18) echo sid ;;
        *) return 1 ;;
    esac
}

mnl_root_mount() {
    local r=$1
    mountpoint -q "$r/proc" || mount -t proc proc "$r/proc"
    mountpoint -q "$r/sys" || mount -t sysfs sys "$r/sys"
    if ! mountpoint -q "$r/dev"; then
        mount --rbind /dev "$r/dev" && mount --make-rslave "$r/dev"
    fi
}

mnl_root_umount() {
    local r=$1
    umount -R -l "$r/dev" 2>/dev/null
    umount -l "$r/sys" "$r/proc" 2>/dev/null
    return 0
}

# mnl_root_prepare N: the cached root for PostgreSQL N, made once (debootstrap, then the
# suite's packages through scripts/deps.sh inside it).  Prints its path.
mnl_root_prepare() {
    local v=$1 release root tmp
    release=$(mnl_release_of "$v") || { echo "no Debian release packages PostgreSQL $v" >&2; return 1; }
    root=$MNL_ROOTS/$release
    if [ ! -f "$root/.mnl-ready-$v" ]; then
        command -v debootstrap >/dev/null || mnl_apt_install debootstrap >&2 || return 1
        tmp=$root.tmp
        mnl_root_umount "$tmp"
        rm -rf "$tmp"
        mkdir -p "$MNL_ROOTS"
        echo "making the $release root for PostgreSQL $v (debootstrap; cached in $root)" >&2
        if ! debootstrap --variant=minbase --include=ca-certificates "$release" "$tmp" "$MNL_MIRROR" \
                >"$MNL_ROOTS/$release.debootstrap.log" 2>&1; then
            tail -20 "$MNL_ROOTS/$release.debootstrap.log" >&2
            return 1
        fi
        # no service starts inside; no packaged cluster; a mirror that froze sid keeps working
        printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
        chmod +x "$tmp/usr/sbin/policy-rc.d"
        echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/99mnl-frozen-mirror"
        cp /etc/resolv.conf "$tmp/etc/resolv.conf"
        mkdir -p "$tmp/mnl"
        cp "$MNL_ROOT_DIR/scripts/deps.sh" "$tmp/mnl/deps.sh"
        mnl_root_mount "$tmp"
        if ! chroot "$tmp" bash -c ". /mnl/deps.sh && mnl_install_deps" >&2; then
            mnl_root_umount "$tmp"
            return 1
        fi
        mnl_root_umount "$tmp"
        touch "$tmp/.mnl-ready-$v"
        rm -rf "$root"
        mv "$tmp" "$root"
    fi
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    echo "$root"
}

# mnl_root_suite N ARGS...: the whole suite (scripts/test.sh ARGS) inside the root of
# PostgreSQL N, on a copy of the project's files.  Its output goes to stdout.
mnl_root_suite() {
    local v=$1 root status
    shift
    root=$(mnl_root_prepare "$v") || return 1
    rm -rf "$root/src"
    mkdir -p "$root/src"
    (cd "$MNL_ROOT_DIR" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$root/src/")
    mnl_root_mount "$root"
    chroot "$root" env MNL_PG_VERSION="$v" bash /src/scripts/test.sh "$@"
    status=$?
    mnl_root_umount "$root"
    rm -rf "$MNL_ROOT_DIR/test/results/postgres-$v"
    cp -r "$root/src/test/results" "$MNL_ROOT_DIR/test/results/postgres-$v" 2>/dev/null
    return $status
}
