/*
 * reads/carry.c — rows of a protected table that are carried to a later answer
 *
 * A read of a protected table is recorded under the role that read, and its rows go to that
 * role.  Some rows are read now and answered later, from a store no executor scan of the
 * table sees again:
 *
 *   - a cursor or a named portal whose query calls a function that reads the table (a
 *     PL/pgSQL loop, RETURN QUERY, an SQL function): the function's rows wait in the
 *     cursor's plan (a function scan's store, a sort, a material node) for the next FETCH;
 *   - a cursor WITH HOLD: at COMMIT its rows go to a store that outlives the transaction and
 *     is fetched with no executor at all;
 *   - a protocol-level portal that is not a plain SELECT (EXECUTE of a prepared statement,
 *     FETCH, INSERT/UPDATE ... RETURNING, a data-modifying WITH): its first Execute runs it
 *     whole into the portal's store, and later Executes (or an SQL FETCH of it) answer from
 *     there, again with no executor;
 *
 *   - a plan: an IMMUTABLE function that reads a protected table is run by the planner and
 *     its result folded into the plan as a constant, which a cursor or a cached plan answers
 *     later, with no read at all.
 *
 * So: a portal whose run read a protected table, at any depth, answers only the role that
 * read (a FETCH or Execute under another role is refused); no protected table is read inside
 * the run of a cursor WITH HOLD; a plan whose planning read a protected table depends on the
 * planning role (a cached plan is planned again for another role, a portal over it runs for
 * that role only).  A portal answering from its store is never reached under another role:
 * the identity may not change away from its reader while it is open — not by a statement
 * (SET ROLE, SET SESSION AUTHORIZATION, RESET, at any depth), not by set_config('role') (a
 * query's, a PL/pgSQL expression's or a fast-path call's), not by a SECURITY DEFINER function
 * or one with SET role (but the extension's own) — and a row it sends under another role, by
 * whatever road, is refused as it leaves (reads/messages.c).  reads/hooks.c calls these from
 * its executor and utility hooks; the function manager and planner hooks are here.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "tcop/pquery.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/syscache.h"

#include "core/mynumber_ledger.h"
#include "guard/guard.h"
#include "reads/reads.h"

/* A run in progress: the portal's query it is (if it is one) and whether it is held. */
typedef struct Run
{
	QueryDesc  *qd;
	Portal		portal;			/* the portal whose query this is, or NULL */
	bool		hold;			/* that portal is a cursor WITH HOLD */
	Portal		active;			/* the portal running when this run started */
} Run;

/* A portal's query that carries rows a read of a protected table returned. */
typedef struct Carrier
{
	QueryDesc  *qd;
	Portal		portal;
	TimestampTz portal_created; /* with the pointers: not a later portal at the same address */
	Oid			reader;
} Carrier;

/* A portal that answers from its store rows a read of a protected table returned. */
typedef struct StoreCarrier
{
	char	   *name;			/* found again by name: it may be dropped at any time */
	TimestampTz created;
	Oid			reader;
} StoreCarrier;

static List *store_carriers = NIL;	/* of StoreCarrier *, in TopMemoryContext */
static Run *runs = NULL;
static int	nruns = 0;
static int	maxruns = 0;
static List *carriers = NIL;	/* of Carrier *, in TopMemoryContext */
static bool callback_registered = false;
static int	planning = 0;		/* the planner's depth */
static bool planning_read = false;	/* a protected table was read while it planned */

static void
carry_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		/* portals of the transaction are gone (a held one was run to its end at commit) */
		list_free_deep(carriers);
		carriers = NIL;
		while (store_carriers != NIL)
		{
			StoreCarrier *c = linitial(store_carriers);

			store_carriers = list_delete_first(store_carriers);
			pfree(c->name);
			pfree(c);
		}
		nruns = 0;
	}
}

static Carrier *
find_carrier(QueryDesc *qd)
{
	ListCell   *lc;

	foreach(lc, carriers)
	{
		Carrier    *c = lfirst(lc);

		if (c->qd == qd && c->portal == ActivePortal && ActivePortal != NULL &&
			c->portal_created == ActivePortal->creation_time)
			return c;
	}
	return NULL;
}

static void mark_store_portal(Portal portal);
static void check_plan_role(PlannedStmt *ps);

/*
 * A run starts (ExecutorRun, or a utility statement's: qd NULL): refuse it when it answers
 * rows a protected read of another role carried; then push it.  reads_protected: the query
 * itself reads a protected table.  A query that reads protected rows, or carries them, fills
 * the store of every portal it runs inside.  Returns the depth to give back to
 * read_carry_run_end.
 */
int
read_carry_run_begin(QueryDesc *qd, bool internal, bool reads_protected)
{
	Carrier    *c = NULL;
	int			depth = nruns;
	int			i;

	if (!callback_registered)
	{
		RegisterXactCallback(carry_xact_callback, NULL);
		callback_registered = true;
	}
	if (qd != NULL && !internal && qd->plannedstmt != NULL && qd->plannedstmt->invalItems != NIL)
		check_plan_role(qd->plannedstmt);
	if (carriers != NIL && qd != NULL && !internal && (c = find_carrier(qd)) != NULL &&
		c->reader != GetUserId())
		guard_refuse(InvalidOid, "a cursor over a protected table is read only by the role that opened it",
					 "Open the cursor again as this role.");
	if ((reads_protected || c != NULL) && !internal)
	{
		mark_store_portal(ActivePortal);
		for (i = 0; i < nruns; i++)
			mark_store_portal(runs[i].active);
	}
	if (nruns == maxruns)
	{
		int			n = maxruns == 0 ? 16 : maxruns * 2;

		runs = runs == NULL ? MemoryContextAlloc(TopMemoryContext, n * sizeof(Run))
			: repalloc(runs, n * sizeof(Run));
		maxruns = n;
	}
	runs[nruns].qd = qd;
	runs[nruns].portal = (qd != NULL && ActivePortal != NULL && ActivePortal->queryDesc == qd) ? ActivePortal : NULL;
	runs[nruns].hold = runs[nruns].portal != NULL &&
		(ActivePortal->cursorOptions & CURSOR_OPT_HOLD) != 0;
	runs[nruns].active = ActivePortal;
	nruns++;
	return depth;
}

/* The run ended, normally or by an error (the depth read_carry_run_begin gave). */
void
read_carry_run_end(int depth)
{
	if (depth <= nruns)
		nruns = depth;
}

/* A portal that answers from its store now carries rows the current role read. */
static void
mark_store_portal(Portal portal)
{
	ListCell   *lc;
	MemoryContext old;
	StoreCarrier *c;

	/* the strategies whose first run fills the store later runs answer from */
	if (portal == NULL || portal->name == NULL ||
		(portal->strategy != PORTAL_ONE_RETURNING && portal->strategy != PORTAL_ONE_MOD_WITH &&
		 portal->strategy != PORTAL_UTIL_SELECT))
		return;
	foreach(lc, store_carriers)
	{
		c = lfirst(lc);
		if (strcmp(c->name, portal->name) == 0 && c->created == portal->creation_time &&
			c->reader == GetUserId())
			return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	c = palloc(sizeof(StoreCarrier));
	c->name = pstrdup(portal->name);
	c->created = portal->creation_time;
	c->reader = GetUserId();
	store_carriers = lappend(store_carriers, c);
	MemoryContextSwitchTo(old);
}

/*
 * The role now differs from the reader of a portal that answers from its store (a statement
 * changed it: SET ROLE, RESET ROLE, set_config): refused, at the end of that statement, so
 * that its transaction, and the portal with it, ends.  portal_name: only that portal (an SQL
 * FETCH of it), or NULL for any.  Portals gone since are forgotten.
 */
void
read_carry_check_stores(const char *portal_name)
{
	ListCell   *lc;

	foreach(lc, store_carriers)
	{
		StoreCarrier *c = lfirst(lc);
		Portal		portal = GetPortalByName(c->name);

		if (!PortalIsValid(portal) || portal->creation_time != c->created)
		{
			store_carriers = foreach_delete_current(store_carriers, lc);
			pfree(c->name);
			pfree(c);
			continue;
		}
		if (portal_name != NULL && strcmp(portal_name, c->name) != 0)
			continue;
		if (c->reader != GetUserId())
			guard_refuse(InvalidOid, "a portal holding rows of a protected table is read only by the role that read them",
						 "Close the portal (or end the transaction) before changing the role.");
	}
}

/*
 * A read of an audited table starts (ExecutorStart), by the current role: refused inside a
 * held cursor's run; otherwise every cursor whose run a protected read is inside now carries
 * its rows, bound to this role (the stores of the portals it runs inside are marked when it
 * runs: read_carry_run_begin).
 */
void
read_carry_read(Oid relid, bool protected)
{
	int			i;

	if (protected && planning > 0)
		planning_read = true;	/* folded into the plan being made, perhaps */
	for (i = 0; i < nruns; i++)
	{
		Run		   *r = &runs[i];
		ListCell   *lc;
		bool		known = false;
		MemoryContext old;
		Carrier    *c;

		if (r->hold)
			guard_refuse(relid, "a cursor WITH HOLD cannot read an audited or protected table",
						 "Fetch the rows within the transaction (a cursor without HOLD); bulk export needs the export duty.");
		if (!protected || r->portal == NULL)
			continue;
		foreach(lc, carriers)
		{
			c = lfirst(lc);
			if (c->qd == r->qd && c->portal == r->portal)
			{
				known = true;
				break;
			}
		}
		if (known)
			continue;
		old = MemoryContextSwitchTo(TopMemoryContext);
		c = palloc(sizeof(Carrier));
		c->qd = r->qd;
		c->portal = r->portal;
		c->portal_created = r->portal->creation_time;
		c->reader = GetUserId();
		carriers = lappend(carriers, c);
		MemoryContextSwitchTo(old);
	}
}

/* A query ended (ExecutorEnd): it carries nothing any more. */
void
read_carry_end(QueryDesc *qd)
{
	ListCell   *lc;

	foreach(lc, carriers)
	{
		Carrier    *c = lfirst(lc);

		if (c->qd == qd)
		{
			carriers = foreach_delete_current(carriers, lc);
			pfree(c);
		}
	}
}

/*
 * A row leaves for the client (reads/messages.c): refused when the portal sending it answers
 * from a store rows another role read (the identity changed by a road the checks above did
 * not see).
 */
void
read_carry_check_active(void)
{
	ListCell   *lc;

	if (ActivePortal == NULL || ActivePortal->name == NULL)
		return;
	foreach(lc, store_carriers)
	{
		StoreCarrier *c = lfirst(lc);

		if (c->created == ActivePortal->creation_time && c->reader != GetUserId() &&
			strcmp(c->name, ActivePortal->name) == 0)
			guard_refuse(InvalidOid, "a portal holding rows of a protected table is read only by the role that read them",
						 "Close the portal (or end the transaction) before changing the role.");
	}
}

/* ---------------------------------------------------------------------------------------
 * The identity changes inside a statement
 * ---------------------------------------------------------------------------------------
 */

static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;

/* set_config (which sets role as SET ROLE does) goes through the hook below. */
static bool
carry_needs_fmgr_hook(Oid fn_oid)
{
	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	return fn_oid == F_SET_CONFIG;
}

/*
 * A function that runs under an identity of its own (SECURITY DEFINER, SET role) starts, or
 * set_config has returned: while a portal answering from its store holds rows of a protected
 * table, the identity is the role that read them.  The extension's own functions (the gated
 * API, SECURITY DEFINER) are exempt: they answer from their own queries, never a portal.
 */
static void
carry_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *arg)
{
	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, arg);
	if (store_carriers == NIL || mnl_internal_depth > 0)
		return;
	if (event == FHET_END && flinfo->fn_oid == F_SET_CONFIG)
		read_carry_check_stores(NULL);
	else if (event == FHET_START && flinfo->fn_oid != F_SET_CONFIG &&
			 !OidIsValid(getExtensionOfObject(ProcedureRelationId, flinfo->fn_oid)))
		read_carry_check_stores(NULL);
}

/* ---------------------------------------------------------------------------------------
 * Plans: an IMMUTABLE function's read, folded in while planning
 * ---------------------------------------------------------------------------------------
 */

static planner_hook_type prev_planner = NULL;

static uint32
role_hash(Oid role)
{
	return GetSysCacheHashValue1(AUTHOID, ObjectIdGetDatum(role));
}

/*
 * A plan whose planning read a protected table depends on the planning role: the plan cache
 * plans it again for another role (dependsOnRole), and it names that role (an item of its
 * dependencies on pg_authid, which no plan of the server's own has).
 */
static PlannedStmt *
carry_planner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	bool		outer_read = planning_read;
	bool		read;
	PlannedStmt *result;

	planning_read = false;
	planning++;
	PG_TRY();
	{
		if (prev_planner)
			result = prev_planner(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		planning--;
		read = planning_read;
		planning_read = outer_read || read; /* the plan being made around this one too */
	}
	PG_END_TRY();
	if (read)
	{
		PlanInvalItem *item = makeNode(PlanInvalItem);

		item->cacheId = AUTHOID;
		item->hashValue = role_hash(GetUserId());
		result->invalItems = lappend(result->invalItems, item);
		result->dependsOnRole = true;
	}
	return result;
}

/* A plan that names its planning role runs for that role only (a cursor over it, fetched). */
static void
check_plan_role(PlannedStmt *ps)
{
	ListCell   *lc;

	foreach(lc, ps->invalItems)
	{
		PlanInvalItem *item = lfirst(lc);

		if (item->cacheId == AUTHOID && item->hashValue != role_hash(GetUserId()))
			guard_refuse(InvalidOid, "a plan holding rows of a protected table read while planning runs only for the role that planned it",
						 "Declare the function that reads the table STABLE, not IMMUTABLE, or open the cursor again as this role.");
	}
}

/* The function manager and planner hooks (reads_install). */
void
read_carry_install(void)
{
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = carry_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = carry_fmgr_hook;
	prev_planner = planner_hook;
	planner_hook = carry_planner;
}
