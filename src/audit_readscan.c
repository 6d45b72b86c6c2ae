/*
 * audit_readscan.c — which rows of a protected table a statement read: the scan nodes of
 * those tables report the key of every row they return (audit_readkeys.c keeps them), and
 * the planner keeps every such scan where that report is complete.
 *
 *   get_relation_info_hook an index of a protected table without its primary key returns
 *                          no column: it is never read alone (an index-only scan), where
 *                          the row's key would not be at hand
 *   set_rel_pathlist_hook  a protected table is never scanned by a parallel worker (the
 *                          leader would not see the worker's rows): its partial paths are
 *                          dropped, its other paths marked parallel-unsafe
 *   read_scan_attach()     after ExecutorStart, wraps the ExecProcNode of each scan node
 *                          of the table (sequential, index, index-only, bitmap heap, TID,
 *                          sample): the wrapper calls the node and adds the key of the
 *                          row it returned, from the node's own scan tuple
 *   read_scan_detach()     when the statement ends (or fails), forgets the wrappers
 *
 * A scan's rows are those that passed the table's policies and the conditions pushed into
 * the scan: a superset of the rows whose values reached the client (a join or an
 * aggregate above may drop some), never less.
 *
 * Must never: let a wrapped node outlive its registration (the executor frees the plan
 * state at ExecutorEnd), or skip the node it wraps.
 */
#include "postgres.h"

#include "access/relation.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "audit.h"
#include "perm.h"

/* One wrapped scan node. */
typedef struct ReadScan
{
	PlanState  *ps;
	ExecProcNodeMtd real;		/* the node's own ExecProcNodeReal */
	ReadKeySet *keys;
	AttrNumber	attnos[INDEX_MAX_KEYS];	/* key columns in the node's scan tuple */
} ReadScan;

/* Every wrapped node of every running statement (statements nest: functions, cursors). */
static ReadScan **scans = NULL;
static int	nscans = 0;
static int	maxscans = 0;
static ReadScan *last_scan = NULL;	/* the node asked for last: nearly always the next one */

static get_relation_info_hook_type prev_get_relation_info = NULL;
static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;

/* ---------------------------------------------------------------------------------------
 * Planner
 * ---------------------------------------------------------------------------------------
 */

/* Does the index return every key column? */
static bool
index_has_keys(IndexOptInfo *idx, const AttrNumber *keys, int nkeys)
{
	int			k;
	int			i;

	for (k = 0; k < nkeys; k++)
	{
		bool		found = false;

		for (i = 0; i < idx->ncolumns && !found; i++)
			found = idx->indexkeys[i] == keys[k] && idx->canreturn[i];
		if (!found)
			return false;
	}
	return true;
}

/* Is relid a protected table (of the extension's policies)? */
static bool
protected_table(Oid relid)
{
	Relation	r = RelationIdGetRelation(relid);
	bool		protected = false;

	if (RelationIsValid(r))
	{
		protected = protect_is_protected(r);
		RelationClose(r);
	}
	return protected;
}

/*
 * An index of a protected table that lacks a key column returns no column: the planner
 * never reads it alone (index-only), since the row's key would not be at hand.
 */
static void
read_scan_get_relation_info(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	if (prev_get_relation_info)
		prev_get_relation_info(root, relid, inhparent, rel);
	if (rel->indexlist != NIL && protected_table(relid))
	{
		Relation	r = RelationIdGetRelation(relid);
		AttrNumber	keys[INDEX_MAX_KEYS];
		int			nkeys = read_keys_table_keys(r, keys);
		ListCell   *lc;

		RelationClose(r);
		foreach(lc, rel->indexlist)
		{
			IndexOptInfo *idx = lfirst(lc);

			if (nkeys > 0 && !index_has_keys(idx, keys, nkeys))
				memset(idx->canreturn, 0, sizeof(bool) * idx->ncolumns);
		}
	}
}

/* A protected table is scanned by the leader only: no partial path, nothing parallel-safe. */
static void
read_scan_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_RELATION &&
		rel->reloptkind == RELOPT_BASEREL && protected_table(rte->relid))
	{
		ListCell   *lc;

		rel->consider_parallel = false;
		rel->partial_pathlist = NIL;
		foreach(lc, rel->pathlist)
			((Path *) lfirst(lc))->parallel_safe = false;
	}
}

void
read_scan_install(void)
{
	prev_get_relation_info = get_relation_info_hook;
	get_relation_info_hook = read_scan_get_relation_info;
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = read_scan_set_rel_pathlist;
}

/* ---------------------------------------------------------------------------------------
 * Executor
 * ---------------------------------------------------------------------------------------
 */

static ReadScan *
find_scan(PlanState *ps)
{
	int			i;

	if (last_scan != NULL && last_scan->ps == ps)
		return last_scan;
	for (i = nscans - 1; i >= 0; i--)
		if (scans[i]->ps == ps)
			return last_scan = scans[i];
	elog(ERROR, "a wrapped scan node is not registered");
	return NULL;				/* keep the compiler quiet */
}

static TupleTableSlot *
read_scan_exec(PlanState *ps)
{
	ReadScan   *s = find_scan(ps);
	TupleTableSlot *slot = s->real(ps);

	if (!TupIsNull(slot))
		read_keys_add(s->keys, ((ScanState *) ps)->ss_ScanTupleSlot, s->attnos);
	return slot;
}

typedef struct AttachContext
{
	Oid			relid;
	ReadKeySet *keys;
	AttrNumber	table_keys[INDEX_MAX_KEYS];
	int			nkeys;
	MemoryContext cxt;
	List	   *attached;
} AttachContext;

/* Where the key columns are in an index-only scan's tuple (its index's columns). */
static bool
index_only_positions(IndexOnlyScan *plan, AttachContext *ctx, AttrNumber *out)
{
	int			k;

	for (k = 0; k < ctx->nkeys; k++)
	{
		ListCell   *lc;
		AttrNumber	pos = 0;

		foreach(lc, plan->indextlist)
		{
			TargetEntry *tle = lfirst(lc);

			if (IsA(tle->expr, Var) && ((Var *) tle->expr)->varattno == ctx->table_keys[k])
			{
				pos = tle->resno;
				break;
			}
		}
		if (pos == 0)
			return false;
		out[k] = pos;
	}
	return true;
}

static bool
attach_walker(PlanState *ps, AttachContext *ctx)
{
	if (ps == NULL)
		return false;
	switch (nodeTag(ps))
	{
		case T_SeqScanState:
		case T_SampleScanState:
		case T_IndexScanState:
		case T_IndexOnlyScanState:
		case T_BitmapHeapScanState:
		case T_TidScanState:
		case T_TidRangeScanState:
			{
				ScanState  *ss = (ScanState *) ps;

				if (ss->ss_currentRelation != NULL &&
					RelationGetRelid(ss->ss_currentRelation) == ctx->relid)
				{
					MemoryContext old = MemoryContextSwitchTo(ctx->cxt);
					ReadScan   *s = palloc0(sizeof(ReadScan));

					s->ps = ps;
					s->keys = ctx->keys;
					if (IsA(ps, IndexOnlyScanState))
					{
						if (!index_only_positions((IndexOnlyScan *) ps->plan, ctx, s->attnos))
							elog(ERROR, "an index-only scan of a protected table lacks its key");
					}
					else
						memcpy(s->attnos, ctx->table_keys, sizeof(AttrNumber) * ctx->nkeys);
					s->real = ps->ExecProcNodeReal;
					ctx->attached = lappend(ctx->attached, s);
					MemoryContextSwitchTo(old);

					if (nscans == maxscans)
					{
						maxscans = Max(16, maxscans * 2);
						scans = scans ? repalloc(scans, sizeof(ReadScan *) * maxscans)
							: MemoryContextAlloc(TopMemoryContext, sizeof(ReadScan *) * maxscans);
					}
					scans[nscans++] = s;
					/* ExecProcNodeFirst (or the instrumentation) calls ExecProcNodeReal */
					ps->ExecProcNodeReal = read_scan_exec;
				}
				break;
			}
		default:
			break;
	}
	return planstate_tree_walker(ps, attach_walker, ctx);
}

/*
 * Wrap every scan of relid under root so that it adds the keys of its rows to ks.  Returns
 * the wrappers (allocated in cxt), for read_scan_detach().
 */
List *
read_scan_attach(PlanState *root, Oid relid, ReadKeySet *ks, MemoryContext cxt)
{
	AttachContext ctx;
	Relation	rel = relation_open(relid, NoLock);

	ctx.relid = relid;
	ctx.keys = ks;
	ctx.nkeys = read_keys_table_keys(rel, ctx.table_keys);
	ctx.cxt = cxt;
	ctx.attached = NIL;
	relation_close(rel, NoLock);
	if (ctx.nkeys == 0)
		return NIL;
	attach_walker(root, &ctx);
	return ctx.attached;
}

/* The statement of these wrappers ended: forget them (their memory is the caller's). */
void
read_scan_detach(List *attached)
{
	ListCell   *lc;

	foreach(lc, attached)
	{
		ReadScan   *s = lfirst(lc);
		int			i;

		if (last_scan == s)
			last_scan = NULL;
		for (i = nscans - 1; i >= 0; i--)
			if (scans[i] == s)
			{
				memmove(&scans[i], &scans[i + 1], sizeof(ReadScan *) * (nscans - i - 1));
				nscans--;
				break;
			}
	}
}
