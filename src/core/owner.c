/*
 * owner.c — running a piece of work with the rights of the extension's owner.
 *
 * Callers need no privilege on the extension's internal tables (data keys, staff registry):
 * the C function that needs them checks its caller first, then runs its SPI work as the
 * owner of schema ledger, with search_path pinned to pg_catalog, pg_temp so that nothing the
 * caller defined can be resolved with the owner's rights.  The user id is restored on the
 * way out, on error too.
 *
 * Must never: run anything the caller chose (SQL text, a function name) with these rights.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "core/mynumber_ledger.h"

/* Owner of schema ledger (the role that created the extension). */
Oid
mnl_extension_owner(void)
{
	Oid			nsp = get_namespace_oid("ledger", false);
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

/* The guard's bypass scope (GUARD_BYPASS_BEGIN): the extension's own DDL and trail writes. */
bool		mnl_guard_bypass = false;

/* The ledger's own work is under way (MNL_OWNER_INTERNAL): not the caller's reads. */
int			mnl_internal_depth = 0;

/* The role a gated function acts for while it runs as the owner (gate.c sets it). */
Oid			mnl_acting_for = InvalidOid;

/* The role the audit trail names as acting: the caller of a gated function, else current_user. */
Oid
mnl_audit_user(void)
{
	return OidIsValid(mnl_acting_for) ? mnl_acting_for : GetUserId();
}

/*
 * Run work(arg) inside SPI as the extension's owner (flags: mynumber_ledger.h).
 * MNL_OWNER_RESTRICTED adds SECURITY_RESTRICTED_OPERATION (no SET ROLE, no temporary
 * objects) for work that only reads and writes the extension's tables; MNL_OWNER_INTERNAL
 * counts it as the ledger's own work for its duration, whatever it raises.
 */
void
mnl_as_owner(void (*work) (void *arg), void *arg, int flags)
{
	Oid			saved_user;
	int			saved_sec;
	int			guc_level;
	int			sec;

	SPI_connect();
	GetUserIdAndSecContext(&saved_user, &saved_sec);
	sec = saved_sec | SECURITY_LOCAL_USERID_CHANGE;
	if (flags & MNL_OWNER_RESTRICTED)
		sec |= SECURITY_RESTRICTED_OPERATION;
	SetUserIdAndSecContext(mnl_extension_owner(), sec);
	guc_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (flags & MNL_OWNER_INTERNAL)
		mnl_internal_depth++;
	PG_TRY();
	{
		work(arg);
	}
	PG_CATCH();
	{
		/* The abort restores the settings; the user id and the depth are ours to restore. */
		SetUserIdAndSecContext(saved_user, saved_sec);
		if (flags & MNL_OWNER_INTERNAL)
			mnl_internal_depth--;
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (flags & MNL_OWNER_INTERNAL)
		mnl_internal_depth--;
	AtEOXact_GUC(false, guc_level);
	SetUserIdAndSecContext(saved_user, saved_sec);
	SPI_finish();
}
