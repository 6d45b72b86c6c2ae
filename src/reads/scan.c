/*
 * reads/scan.c — which rows of a protected table a statement read: the scan nodes of
 * those tables report the key of every row they return (audit/readkeys.c keeps them), and
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
 *                          row it returned, from the node's own scan tuple; where the
 *                          node's conditions or output could act on a row and drop it (a
 *                          non-LEAKPROOF function: a side effect, an error), the policy's
 *                          ledger.may('read', ...) call names each row it lets through
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

#include "catalog/pg_type.h"
#include "executor/execExpr.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "optimizer/paths.h"
#include "optimizer/plancat.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "audit/audit.h"
#include "guard/guard.h"
#include "staff/perm.h"
#include "reads/reads.h"

/*
 * One wrapped scan node, or one upsert's conflict check (kind READ_CONFLICT: the existing
 * row an INSERT ... ON CONFLICT DO UPDATE found, which no scan node returns).
 */
typedef enum ReadKind
{
	READ_SCAN,
	READ_CONFLICT
} ReadKind;

typedef struct ReadScan
{
	ReadKind	kind;
	PlanState  *ps;
	ExecProcNodeMtd real;		/* the node's own ExecProcNodeReal (READ_SCAN) */
	bool		watched;		/* the policy's condition names its rows (not the return) */
	Oid			reader;			/* the role the statement started as */
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

/*
 * An index of a protected table that lacks a key column returns no column: the planner
 * never reads it alone (index-only), since the row's key would not be at hand.
 */
static void
read_scan_get_relation_info(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	const ReadRelInfo *info;

	if (prev_get_relation_info)
		prev_get_relation_info(root, relid, inhparent, rel);
	if (rel->indexlist != NIL && (info = read_rel_info(relid)) != NULL && info->protected)
	{
		ListCell   *lc;

		foreach(lc, rel->indexlist)
		{
			IndexOptInfo *idx = lfirst(lc);

			if (info->nkeys > 0 && !index_has_keys(idx, info->attnos, info->nkeys))
				memset(idx->canreturn, 0, sizeof(bool) * idx->ncolumns);
		}
	}
}

/* A protected table is scanned by the leader only: no partial path, nothing parallel-safe. */
static void
read_scan_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	const ReadRelInfo *info;

	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_RELATION &&
		rel->reloptkind == RELOPT_BASEREL &&
		(info = read_rel_info(rte->relid)) != NULL && info->protected)
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

static void
reset_may_function(Datum arg, int cacheid, uint32 hashvalue)
{
	*(Oid *) DatumGetPointer(arg) = InvalidOid;
}

static ReadScan *
find_scan(PlanState *ps)
{
	int			i;

	if (last_scan != NULL && last_scan->ps == ps)
		return last_scan;
	for (i = nscans - 1; i >= 0; i--)
		if (scans[i]->ps == ps && scans[i]->kind == READ_SCAN)
			return last_scan = scans[i];
	elog(ERROR, "a wrapped scan node is not registered");
	return NULL;				/* keep the compiler quiet */
}

/*
 * A row is read under the identity the statement started with: a role switched in the middle
 * of a statement (set_config('role', ...) in its select list) would see rows under another
 * identity's policies, recorded under the first's.
 */
static inline void
check_reader(ReadScan *s)
{
	if (unlikely(GetUserId() != s->reader))
		guard_refuse(InvalidOid, "a statement reading a protected table cannot change its role",
					 "Change the role between statements (SET ROLE), not inside one.");
}

/* The row a watched policy condition just let through: name it. */
static void
read_scan_visible(void *arg)
{
	ReadScan   *s = arg;
	TupleTableSlot *slot;

	check_reader(s);
	if (s->kind == READ_SCAN)
		slot = s->ps->ps_ExprContext->ecxt_scantuple;
	else
		slot = GetPerTupleExprContext(s->ps->state)->ecxt_scantuple;
	if (!TupIsNull(slot))
		read_keys_add(s->keys, slot, s->attnos);
}

static TupleTableSlot *
read_scan_exec(PlanState *ps)
{
	ReadScan   *s = find_scan(ps);
	TupleTableSlot *slot = s->real(ps);

	/* without a watched policy condition (a superuser reads past the policies), the rows returned */
	if (!s->watched && !TupIsNull(slot))
	{
		check_reader(s);
		read_keys_add(s->keys, ((ScanState *) ps)->ss_ScanTupleSlot, s->attnos);
	}
	return slot;
}

/* The oid of ledger.may(text, text, integer), the condition of every protected table's policies. */
static Oid
may_function(void)
{
	static Oid	may_oid = InvalidOid;
	static bool registered = false;

	if (!registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, reset_may_function, PointerGetDatum(&may_oid));
		registered = true;
	}
	if (!OidIsValid(may_oid))
		may_oid = LookupFuncName(list_make2(makeString("ledger"), makeString("may")), 3,
								 (Oid[]) {TEXTOID, TEXTOID, INT4OID}, true);
	return may_oid;
}

/*
 * Watch every call of ledger.may in state whose action is one of actions (a policy's
 * condition over this node's row): s is told of each row it lets through.  Returns whether
 * one was found.
 */
static bool
watch_policy(ExprState *state, ReadScan *s, const char *const *actions, int nactions)
{
	Oid			may = may_function();
	bool		found = false;
	int			i;

	if (state == NULL || !OidIsValid(may))
		return false;
	for (i = 0; i < state->steps_len; i++)
	{
		ExprEvalStep *op = &state->steps[i];
		ExprEvalOp	opcode = ExecEvalStepOp(state, op);
		FuncExpr   *fe;
		Const	   *action;
		int			a;

		if (opcode != EEOP_FUNCEXPR && opcode != EEOP_FUNCEXPR_STRICT &&
			opcode != EEOP_FUNCEXPR_FUSAGE && opcode != EEOP_FUNCEXPR_STRICT_FUSAGE)
			continue;
		if (op->d.func.finfo->fn_oid != may || op->d.func.finfo->fn_expr == NULL ||
			!IsA(op->d.func.finfo->fn_expr, FuncExpr))
			continue;
		fe = (FuncExpr *) op->d.func.finfo->fn_expr;
		if (list_length(fe->args) != 3 || !IsA(linitial(fe->args), Const) ||
			!IsA(lthird(fe->args), Var))
			continue;
		action = linitial(fe->args);
		if (action->constisnull)
			continue;
		for (a = 0; a < nactions; a++)
			if (strcmp(TextDatumGetCString(action->constvalue), actions[a]) == 0)
			{
				perm_watch_site(op->d.func.finfo, read_scan_visible, s);
				found = true;
			}
	}
	return found;
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

static ReadScan *
new_read(AttachContext *ctx, ReadKind kind, PlanState *ps)
{
	ReadScan   *s = MemoryContextAllocZero(ctx->cxt, sizeof(ReadScan));
	MemoryContext old = MemoryContextSwitchTo(ctx->cxt);

	s->kind = kind;
	s->ps = ps;
	s->keys = ctx->keys;
	s->reader = GetUserId();
	memcpy(s->attnos, ctx->table_keys, sizeof(AttrNumber) * ctx->nkeys);
	ctx->attached = lappend(ctx->attached, s);
	MemoryContextSwitchTo(old);
	return s;
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
					ReadScan   *s = new_read(ctx, READ_SCAN, ps);
					static const char *const read[] = {"read"};

					if (IsA(ps, IndexOnlyScanState))
					{
						if (!index_only_positions((IndexOnlyScan *) ps->plan, ctx, s->attnos))
							elog(ERROR, "an index-only scan of a protected table lacks its key");
					}
					/*
					 * Name each row where the policy lets it through when something of the
					 * statement's own could act on it there (a side effect, an error) and
					 * then drop it; otherwise, where the node returns it.
					 */
					if (!qual_is_strictly_leakproof((Node *) ps->plan->qual) ||
						!qual_is_strictly_leakproof((Node *) ps->plan->targetlist))
						s->watched = watch_policy(ps->qual, s, read, lengthof(read));
					else
						s->watched = false;
					s->real = ps->ExecProcNodeReal;
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
		case T_ModifyTableState:
			{
				/*
				 * INSERT ... ON CONFLICT DO UPDATE reads the existing row of the conflict (its
				 * SET and WHERE see it, RETURNING returns it) without a scan: the policies'
				 * check of that row (WCO_RLS_CONFLICT_CHECK) names it.
				 */
				ModifyTableState *mt = (ModifyTableState *) ps;
				int			r;

				for (r = 0; r < mt->mt_nrels; r++)
				{
					ResultRelInfo *rri = &mt->resultRelInfo[r];
					ListCell   *wc,
							   *ec;

					if (RelationGetRelid(rri->ri_RelationDesc) != ctx->relid)
						continue;
					forboth(wc, rri->ri_WithCheckOptions, ec, rri->ri_WithCheckOptionExprs)
					{
						static const char *const any[] = {"read", "write"};

						if (((WithCheckOption *) lfirst(wc))->kind == WCO_RLS_CONFLICT_CHECK)
							(void) watch_policy(lfirst(ec), new_read(ctx, READ_CONFLICT, ps), any, lengthof(any));
					}
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
read_scan_attach(PlanState *root, const ReadRelInfo *info, ReadKeySet *ks, MemoryContext cxt)
{
	AttachContext ctx;

	ctx.relid = info->relid;
	ctx.keys = ks;
	ctx.nkeys = info->nkeys;
	memcpy(ctx.table_keys, info->attnos, sizeof(AttrNumber) * info->nkeys);
	ctx.cxt = cxt;
	ctx.attached = NIL;
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
