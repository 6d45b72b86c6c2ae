# Every object of the extension is documented twice over: a COMMENT ON that carries its
# Japanese term, and a mention in docs/api.md.  A new function without either fails here.
# Also a privilege snapshot: every privilege the extension grants on its objects, compared
# with test/fixtures/privileges.txt, so a grant that slips in is seen.  TAP output.
set -uo pipefail
. "$(dirname "$0")/../harness.sh"
trap mnl_cluster_destroy_all EXIT

mnl_cluster_create docs || { echo "Bail out! initdb failed"; exit 1; }
mnl_cluster_start docs || { echo "Bail out! cluster did not start"; exit 1; }
mnl_psql docs -d postgres -c "CREATE EXTENSION mynumber_ledger" || { echo "Bail out! CREATE EXTENSION failed"; exit 1; }

members="
    SELECT d.classid::regclass AS catalog, d.objid, i.type, i.identity, i.name,
           obj_description(d.objid, d.classid::regclass::name) AS comment
    FROM pg_depend d
    JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
    CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) AS i
    WHERE e.extname = 'mynumber_ledger' AND d.deptype = 'e'
      -- a relation's row type and an array type go with their relation or element type
      -- (PostgreSQL 17 records them as members too)
      AND NOT EXISTS (SELECT 1 FROM pg_type t WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid
                      AND (t.typrelid <> 0 OR (t.typelem <> 0 AND t.typsubscript = 'array_subscript_handler'::regproc)))"

count=$(mnl_psql docs -d postgres -Atc "SELECT count(*) FROM ($members) m")
[ "$count" -gt 0 ]
tap_ok $? "the extension has member objects to check ($count)"

# Casts have no obj_description by catalog name alone; pg_description keyed by pg_cast works
# the same way, so one query serves all.
missing=$(mnl_psql docs -d postgres -Atc "SELECT type || ' ' || identity FROM ($members) m
                                          WHERE comment IS NULL OR comment !~ '[^\x01-\x7f]' ORDER BY 1")
tap_is "$missing" "" "every_object_commented: each member has a COMMENT ON with its Japanese term"

# Names that docs/api.md must mention: functions, types, operator classes.
undocumented=""
while IFS= read -r name; do
    grep -qF -- "$name" "$MNL_ROOT/docs/api.md" || undocumented="$undocumented $name"
done < <(mnl_psql docs -d postgres -Atc "
    SELECT DISTINCT CASE WHEN m.catalog = 'pg_proc'::regclass
                         THEN regexp_replace(p.proname, '_(eq|ne|lt|le|gt|ge|cmp|sortsupport|hash|hash_extended)$', '')
                         ELSE regexp_replace(m.identity, ' USING .*', '') END
    FROM ($members) m LEFT JOIN pg_proc p ON m.catalog = 'pg_proc'::regclass AND p.oid = m.objid
    WHERE m.catalog IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_opclass'::regclass)
      AND m.identity NOT LIKE '%[]'
    ORDER BY 1")
undocumented=${undocumented# }
tap_is "$undocumented" "" "every_object_in_api_md: docs/api.md names every function, type and operator class"

# Privilege snapshot: what roles other than the owner may do with the extension's objects.
snapshot=$(mnl_psql docs -d postgres -At -F ' ' -f "$MNL_ROOT/test/fixtures/privileges.sql")
if [ "${MNL_UPDATE_SNAPSHOT:-0}" = 1 ]; then
    echo "$snapshot" >"$MNL_ROOT/test/fixtures/privileges.txt"
fi
diff <(echo "$snapshot") "$MNL_ROOT/test/fixtures/privileges.txt" >/tmp/privdiff.$$ 2>&1
status=$?
tap_ok $status "privilege_snapshot: grants on the extension's objects match test/fixtures/privileges.txt"
[ $status -ne 0 ] && sed 's/^/#   /' /tmp/privdiff.$$
rm -f /tmp/privdiff.$$
tap_done
