/*
 * guard/fk_actions.c — a table owner's code inside a foreign key's check or action.
 *
 * PostgreSQL runs the queries of a foreign key (ri_triggers.c: the check that a referenced
 * row exists, the ON DELETE/UPDATE actions) as the owner of a table of the constraint, with
 * SECURITY_NOFORCE_RLS: there a table's owner is not held to FORCE ROW LEVEL SECURITY, so that
 * the key's check sees every row.  Every query started inside inherits that mode — from the
 * triggers, defaults, CHECKs and index expressions of the rows an action changes, the
 * functions they call, a rule's actions.  A DBA who owns a protected table and two ordinary
 * tables with an ON DELETE CASCADE between them had its own trigger read every row of the
 * protected table, unrecorded (attack round 24).
 *
 * The key's own queries are PostgreSQL's, started by its built-in trigger functions.  A table
 * owner's code reaches that mode only through a function of its own (a trigger function, a
 * function a default, CHECK or index expression calls; a DBA's expressions call no volatile
 * function of a superuser's, expressions.c) or through a rule.  So:
 *
 *   - every function whose owner is not a superuser, looked up in that mode, is counted while
 *     it runs (the fmgr hook, objects.c);
 *   - while one runs, a query in that mode by a role that is not a superuser that reads a
 *     protected table the role owns is refused (42501, recorded);
 *   - a query planned in that mode that a rule produced is refused (a rule's action, or a DO
 *     INSTEAD query in place of the key's own, would stand where the key's query stands);
 *   - the read audit and the export duty skip only queries in that mode with none of those
 *     functions running — the key's own, and the extension's triggers they fire
 *     (guard_fk_key_query) — no longer everything started in that mode.
 *
 * Must never: refuse the key's own check or action (a key check of a protected table by its
 * owner is the key's); leave a count behind after an error (an abort resets it).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "executor/execdesc.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "core/mynumber_ledger.h"
#include "guard/guard.h"

/* Functions of roles that are not superusers now running, of those the hook sees. */
static int	untrusted_running = 0;
static bool callback_registered = false;

static void
fk_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		untrusted_running = 0;
}

static Oid
function_owner(Oid fn)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	Oid			owner = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
		ReleaseSysCache(tup);
	}
	return owner;
}

static Oid
relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}
	return owner;
}

/* needs_fmgr_hook: a function of a role that is not a superuser, looked up in that mode? */
bool
guard_fk_untrusted_function(Oid fn)
{
	Oid			owner;

	if (!InNoForceRLSOperation() || !IsTransactionState())
		return false;
	owner = function_owner(fn);
	return OidIsValid(owner) && !superuser_arg(owner);
}

/* fmgr_hook: such a function starts, ends or is unwound by an error. */
void
guard_fk_function_event(FmgrHookEventType event, Oid fn)
{
	Oid			owner;

	if (!IsTransactionState())
		return;
	owner = function_owner(fn);
	if (!OidIsValid(owner) || superuser_arg(owner))
		return;
	if (!callback_registered)
	{
		RegisterXactCallback(fk_xact_callback, NULL);
		callback_registered = true;
	}
	if (event == FHET_START)
		untrusted_running++;
	else if ((event == FHET_END || event == FHET_ABORT) && untrusted_running > 0)
		untrusted_running--;
}

/* Is a query started now one of the key's own (or the extension's, within it)? */
bool
guard_fk_key_query(void)
{
	return InNoForceRLSOperation() && untrusted_running == 0;
}

/* ExecutorStart: refuse a table owner's code reading its protected tables in that mode. */
void
guard_fk_query_starts(const QueryDesc *qd)
{
	ListCell   *lc;
	Oid			user;

	if (!InNoForceRLSOperation() || untrusted_running == 0 || mnl_guard_bypass || superuser())
		return;
	user = GetUserId();
	foreach(lc, qd->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind != RTE_RELATION || !OidIsValid(rte->relid))
			continue;
		if (relation_owner(rte->relid) == user && mnl_is_protected_relid(rte->relid))
			guard_refuse(rte->relid, "a protected table is not read by its owner's code inside a foreign key's check or action",
						 "There PostgreSQL lifts FORCE ROW LEVEL SECURITY for the table's owner, for the key's own query only: the owner's triggers and functions run there read nothing of its protected tables.");
	}
}

/* planner: in that mode, no query a rule produced. */
void
guard_fk_planning(const Query *parse)
{
	if (!InNoForceRLSOperation() || parse->querySource == QSRC_ORIGINAL || mnl_guard_bypass ||
		superuser())
		return;
	guard_refuse(InvalidOid, "a rule's action does not run inside a foreign key's check or action",
				 "There PostgreSQL lifts FORCE ROW LEVEL SECURITY for a table's owner: a rule on a table a foreign key's action changes would run the rule owner's query in its place. Drop the rule, or have a superuser own the table.");
}
