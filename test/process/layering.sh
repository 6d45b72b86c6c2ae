# Static test of the rooms (src/README.md): every #include of a project header names its
# room's folder, crosses only the boundaries the README's include graph allows, and that
# graph has no cycle; a header declares only its own room's functions; no function's prefix
# names another room.  Reads the built objects (scripts/test.sh builds first).  TAP output.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
cd "$MNL_ROOT/src" || { echo "Bail out! no src"; exit 1; }

# The graph, from the README block between the layering markers: "room: room room ...".
declare -A allowed
rooms=()
while IFS= read -r line; do
    room=${line%%:*}
    allowed[$room]=" ${line#*:} "
    rooms+=("$room")
done < <(sed -n '/^<!-- layering -->$/,/^<!-- \/layering -->$/p' README.md | grep -E '^[a-z_]+:')
[ ${#rooms[@]} -gt 5 ]
tap_ok $? "layering_graph_readable: src/README.md lists the rooms and what each may include"

# Every folder of src/ is a room of the graph (upgrade/ holds SQL scripts only).
missing=""
for d in */; do
    d=${d%/}
    [ "$d" = upgrade ] && continue
    [ -n "${allowed[$d]+x}" ] || missing="$missing $d"
done
[ -z "$missing" ]
tap_ok $? "every_folder_is_a_room: folders not in the README's graph:${missing:- none}"

# No C or header file outside a room.
loose=$(ls *.c *.h 2>/dev/null | tr '\n' ' ')
[ -z "$loose" ]
tap_ok $? "no_loose_sources: every C file and header is in a room's folder (loose: ${loose:-none})"

# The allowed graph has no cycle (depth-first search).
declare -A state
cycle=""
visit() {
    local r=$1 n
    [ "${state[$r]:-}" = done ] && return 0
    if [ "${state[$r]:-}" = open ]; then cycle="$cycle $r"; return 1; fi
    state[$r]=open
    for n in ${allowed[$r]}; do
        visit "$n" || { cycle="$cycle <- $r"; return 1; }
    done
    state[$r]=done
}
for r in "${rooms[@]}"; do visit "$r" || break; done
[ -z "$cycle" ]
tap_ok $? "include_graph_acyclic: the README's include graph has no cycle${cycle:+ (cycle:$cycle)}"

# Each project #include names a folder, and the folder is the file's room or one it may include.
bad=""
while IFS=: read -r file _ inc; do
    room=${file%%/*}
    target=$(echo "$inc" | sed -n 's/.*#include "\([^"]*\)".*/\1/p')
    case "$target" in
        */*) troom=${target%%/*}
             [ -n "${allowed[$troom]+x}" ] || continue   # a PostgreSQL header (utils/rel.h)
             [ -f "$target" ] || { bad="$bad $file->$target(missing)"; continue; } ;;
        *) # a bare name: PostgreSQL's (postgres.h), or a project header written without its folder
           ls */"$target" >/dev/null 2>&1 && bad="$bad $file->$target(no folder)"
           continue ;;
    esac
    [ "$troom" = "$room" ] && continue
    case "${allowed[$room]:-}" in
        *" $troom "*) ;;
        *) bad="$bad $file->$target" ;;
    esac
done < <(grep -n '^#include "' */*.c */*.h)
[ -z "$bad" ]
tap_ok $? "includes_follow_the_rooms: every #include crosses only an allowed boundary (refused:${bad:- none})"

# Objects: which room defines each function.
objs=$(ls */*.o 2>/dev/null)
[ -n "$objs" ]
tap_ok $? "objects_built: the rooms' objects are built (run make first)" || { tap_done; exit 0; }
declare -A defined_in
for o in $objs; do
    for sym in $(nm --defined-only "$o" | awk '$2 ~ /^[Tt]$/ {print $3}' | sed 's/\..*//'); do
        defined_in[$sym]=${o%%/*}
    done
done

# A header declares only functions its own room defines.
foreign=""
for h in */*.h; do
    room=${h%%/*}
    for fn in $(sed -n 's/^extern[^(]*[ *]\([A-Za-z_][A-Za-z0-9_]*\)[ ]*(.*/\1/p' "$h"); do
        [ -n "${defined_in[$fn]+x}" ] || { foreign="$foreign $h:$fn(undefined)"; continue; }
        [ "${defined_in[$fn]}" = "$room" ] || foreign="$foreign $h:$fn(${defined_in[$fn]})"
    done
done
[ -z "$foreign" ]
tap_ok $? "headers_declare_their_own_room: no header declares another room's functions (found:${foreign:- none})"

# No function whose name begins with another room's name.
misnamed=""
for o in $objs; do
    room=${o%%/*}
    for sym in $(nm --defined-only "$o" | awk '$2 ~ /^[Tt]$/ {print $3}' | sed 's/\..*//' | sort -u); do
        for r in "${rooms[@]}"; do
            [ "$r" = "$room" ] && continue
            case "$sym" in "${r}_"*) misnamed="$misnamed $o:$sym" ;; esac
        done
    done
done
[ -z "$misnamed" ]
tap_ok $? "function_prefixes_name_their_room: no function is named after another room (found:${misnamed:- none})"
tap_done
