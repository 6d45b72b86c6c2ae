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
 *   - a plan: an immutable function is run by the planner and its result folded into the
 *     plan as a constant, which a cached plan or a cursor answers later.
 *
 * So: a portal whose run read a protected table, at any depth, answers only the role that
 * read (a FETCH or Execute under another role is refused); no protected table is read inside
 * the run of a cursor WITH HOLD; and none while a statement is planned.  reads/hooks.c
 * calls the run and read functions from its executor hooks; the planner hook is ours.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
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
} Run;

/* A portal's query that carries rows a read of a protected table returned. */
typedef struct Carrier
{
	QueryDesc  *qd;
	Portal		portal;
	TimestampTz portal_created; /* with the pointers: not a later portal at the same address */
	Oid			reader;
} Carrier;

static Run *runs = NULL;
static int	nruns = 0;
static int	maxruns = 0;
static List *carriers = NIL;	/* of Carrier *, in TopMemoryContext */
static int	planning = 0;		/* depth of the planner */
static planner_hook_type prev_planner = NULL;
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
		nruns = 0;
		planning = 0;
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

/*
 * A run starts (ExecutorRun): refuse it when it answers rows a protected read of another
 * role carried; then push it.  Returns the depth to give back to read_carry_run_end.
 */
int
read_carry_run_begin(QueryDesc *qd, bool internal)
{
	Carrier    *c;
	int			depth = nruns;

	if (carriers != NIL && !internal && (c = find_carrier(qd)) != NULL && c->reader != GetUserId())
		guard_refuse(InvalidOid, "a cursor over a protected table is read only by the role that opened it",
					 "Open the cursor again as this role.");
	if (nruns == maxruns)
	{
		int			n = maxruns == 0 ? 16 : maxruns * 2;

		runs = runs == NULL ? MemoryContextAlloc(TopMemoryContext, n * sizeof(Run))
			: repalloc(runs, n * sizeof(Run));
		maxruns = n;
	}
	runs[nruns].qd = qd;
	runs[nruns].portal = (ActivePortal != NULL && ActivePortal->queryDesc == qd) ? ActivePortal : NULL;
	runs[nruns].hold = runs[nruns].portal != NULL &&
		(ActivePortal->cursorOptions & CURSOR_OPT_HOLD) != 0;
	nruns++;
	if (!callback_registered)
	{
		RegisterXactCallback(carry_xact_callback, NULL);
		callback_registered = true;
	}
	return depth;
}

/* The run ended, normally or by an error (the depth read_carry_run_begin gave). */
void
read_carry_run_end(int depth)
{
	if (depth <= nruns)
		nruns = depth;
}

/*
 * A read of an audited table starts (ExecutorStart), by the current role: refused inside a
 * held cursor's run, and for a protected table while planning; otherwise every portal whose
 * run a protected read is inside now carries its rows, bound to this role.
 */
void
read_carry_read(Oid relid, bool protected)
{
	int			i;

	if (protected && planning > 0)
		guard_refuse(relid, "a protected table cannot be read while a statement is planned",
					 "An IMMUTABLE function that reads a protected table is run by the planner and its rows kept in the plan: declare it STABLE or VOLATILE, or call it in a subquery.");
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

static PlannedStmt *
carry_planner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	PlannedStmt *result;
	int			depth = planning;

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
		planning = depth;
	}
	PG_END_TRY();
	return result;
}

void
read_carry_install(void)
{
	prev_planner = planner_hook;
	planner_hook = carry_planner;
}
