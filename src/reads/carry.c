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
 * (A plan is not covered: an IMMUTABLE function that reads a protected table is run by the
 * planner and its result folded into the plan, which a cursor or a cached plan answers
 * later.  Refusing reads while planning also refused STABLE functions the planner runs to
 * estimate a condition, ordinary staff work; that road is open, see docs/permissions.md.)
 *
 * So: a portal whose run read a protected table, at any depth, answers only the role that
 * read (a FETCH or Execute under another role is refused; for a portal answering from its
 * store, no statement may end under another role while it is open, and no FETCH of it runs
 * under one); and no protected table is read inside the run of a cursor WITH HOLD.  reads/hooks.c
 * calls these from its executor and utility hooks.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "tcop/pquery.h"
#include "utils/memutils.h"
#include "utils/portal.h"

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
