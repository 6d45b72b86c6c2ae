# bench/lib.sh — what every bench/*/run.sh does first (sourced): re-run as root, install the
# packages, build and install the extension, and load the cluster harness with a trap that
# tears its clusters down.  The caller then creates its cluster with mnl_cluster_create.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$ROOT/scripts/deps.sh"
mnl_require_root "$@"
cd "$ROOT"
mnl_install_deps
make -s >/dev/null && make -s install >/dev/null
export MNL_RESULTS=$ROOT/bench/work
. "$ROOT/test/harness.sh"
trap mnl_cluster_destroy_all EXIT
