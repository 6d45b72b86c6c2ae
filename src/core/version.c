/*
 * version.c — the library and the SQL objects of the database it serves may be of different
 * releases: a DBA installs a new release's library, restarts, and only then runs
 * ALTER EXTENSION mynumber_ledger UPDATE (src/upgrade/README.md).  Until then the library
 * must work with the older SQL: a code path that needs an object the older SQL lacks asks
 * here and keeps the older release's behaviour (or refuses with SQLSTATE 55000 and a hint to
 * update), never failing with a missing function or table.
 *
 * The version is the one pg_extension records for this database; while CREATE EXTENSION or
 * ALTER EXTENSION ... UPDATE runs a script it is already that script's target version.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"

#include "core/mynumber_ledger.h"

/* "a.b.c" as a number (a * 10000 + b * 100 + c); -1 when it is not such a string */
static int
version_number(const char *v)
{
	int			a,
				b,
				c;
	char		rest;

	if (v == NULL || sscanf(v, "%d.%d.%d%c", &a, &b, &c, &rest) != 3 ||
		a < 0 || b < 0 || b > 99 || c < 0 || c > 99)
		return -1;
	return a * 10000 + b * 100 + c;
}

/* The version of the extension's SQL objects in this database; NULL when it is not installed. */
char *
mnl_sql_version(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *version = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(MNL_EXTENSION_NAME));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/* Are the SQL objects of this database at least of release `release` ("0.2.0")? */
bool
mnl_sql_at_least(const char *release)
{
	char	   *v = mnl_sql_version();
	bool		r = v != NULL && version_number(v) >= version_number(release);

	if (v != NULL)
		pfree(v);
	return r;
}
