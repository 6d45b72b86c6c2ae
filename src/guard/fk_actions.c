/*
 * guard/fk_actions.c — queries inside a foreign key's check or action.
 *
 * PostgreSQL runs the queries of a foreign key (ri_triggers.c: the check that a referencing or
 * referenced row exists, the ON DELETE/UPDATE actions) as the owner of a table of the
 * constraint, with SECURITY_NOFORCE_RLS: there a table's owner — any role with its owner's
 * privileges — is not held to FORCE ROW LEVEL SECURITY, so that the key sees every row.
 * Every query parsed, planned or run inside inherits that mode: those of the triggers,
 * defaults, CHECKs and index expressions of the rows an action changes, of any function they
 * call (a lookup PostgreSQL cached before is called without asking anyone), of a rule; a
 * statement prepared there keeps a plan made without the table's policies for later.  A DBA
 * who owns a protected table and two ordinary tables with an ON DELETE CASCADE between them
 * had its own trigger read every row of the protected table (attack rounds 24 and 25).
 *
 * What the key itself needs of a protected table in that mode has one shape, and the guard
 * allows only that shape, whoever wrote the query:
 *
 *   the table alone (ONLY), its condition the columns of one of the foreign keys it takes part
 *   in (its own referencing columns, or the referenced ones of a key that references it), each
 *   equal to a parameter, returning nothing of it: SELECT of constants ... FOR KEY SHARE (a NO ACTION or
 *   RESTRICT check), DELETE (ON DELETE CASCADE), UPDATE setting values that read no column
 *   (SET NULL, SET DEFAULT, ON UPDATE CASCADE).
 *
 * Any other query in that mode by a role that is not a superuser that names a protected table
 * — whoever owns it (PostgreSQL lifts FORCE for the role a table is read as, the view's owner
 * through a view), directly, in a subquery, through a view — or the planner's statistics
 * (pg_stats shows a table's values to its owner when row-level security is not active for it)
 * is refused when it is parsed and again when it is planned (42501, recorded), so that nothing
 * of it is prepared either.  A query a rule produced in that mode is refused.
 *
 * A query of the key's shape that is parsed in that mode is marked (its query id): such a plan
 * has no policies, and the plan cache would keep it for a later EXECUTE, a PL/pgSQL function's
 * next call, outside the mode (it replans for another role, not for the end of the mode).  A
 * marked plan runs only as PostgreSQL's key runs its queries — through SPI without firing
 * triggers (EXEC_FLAG_SKIP_TRIGGERS), which no SQL, PL/pgSQL or SQL function can ask for — and
 * is refused otherwise, in the mode or after it.  Only such a run skips the read audit and the
 * export duty (guard_fk_key_query).
 *
 * Must never: refuse the key's own check or action; let a plan made without the policies
 * outlive the mode.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_statistic_ext_data.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "core/mynumber_ledger.h"
#include "guard/guard.h"

#define MAX_VIEW_DEPTH 16

/* The query id a query of the key's shape parsed in the mode carries (see the header). */
#define KEY_QUERY_ID	UINT64CONST(0x6d6e6c2d666b6579)	/* "mnl-fkey" */

typedef struct ReachWalk
{
	Oid			found;			/* the first protected table (or statistics catalog) named */
	int			depth;
} ReachWalk;

static bool reach_walker(Node *node, ReachWalk *w);

/*
 * A relation named by the query: a protected table, whoever owns it (PostgreSQL lifts FORCE
 * for the role a table is read as, which through a view is the view's owner), a view over
 * one, or the planner's statistics (pg_stats hides a protected table's values only while
 * row-level security is active for the reader, which in that mode it is not for the owner)?
 */
static bool
relation_reaches_protected(Oid relid, ReachWalk *w)
{
	char		kind = get_rel_relkind(relid);

	/* the planner's statistics: their views hide a table's values only while its policies apply */
	if (relid == StatisticRelationId || relid == StatisticExtDataRelationId)
	{
		w->found = relid;
		return true;
	}
	if (kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE)
	{
		if (mnl_is_protected_relid(relid))
		{
			w->found = relid;
			return true;
		}
		return false;
	}
	if (kind == RELKIND_VIEW && w->depth < MAX_VIEW_DEPTH)
	{
		Relation	view = table_open(relid, AccessShareLock);
		Query	   *def = copyObject(get_view_query(view));
		bool		found;

		table_close(view, AccessShareLock);
		w->depth++;
		found = reach_walker((Node *) def, w);
		w->depth--;
		return found;
	}
	return false;
}

static bool
reach_walker(Node *node, ReachWalk *w)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && OidIsValid(rte->relid))
			return relation_reaches_protected(rte->relid, w);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, reach_walker, w, QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, reach_walker, w);
}

/* A column of the table (varno 1) or a parameter, under casts and a COLLATE clause. */
static Node *
strip_casts(Node *n)
{
	for (;;)
	{
		if (n == NULL)
			return NULL;
		if (IsA(n, RelabelType))
			n = (Node *) ((RelabelType *) n)->arg;
		else if (IsA(n, CollateExpr))	/* the key's own COLLATE, for a nondeterministic collation */
			n = (Node *) ((CollateExpr *) n)->arg;
		else if (IsA(n, CoerceViaIO))
			n = (Node *) ((CoerceViaIO *) n)->arg;
		else if (IsA(n, FuncExpr) && list_length(((FuncExpr *) n)->args) == 1 &&
				 ((FuncExpr *) n)->funcformat != COERCE_EXPLICIT_CALL)
			n = linitial(((FuncExpr *) n)->args);
		else
			return n;
	}
}

/* The condition: an AND of "column = parameter"; the columns it compares, in *cols. */
static bool
key_condition(Node *qual, Bitmapset **cols)
{
	if (qual == NULL)
		return false;
	if (IsA(qual, BoolExpr) && ((BoolExpr *) qual)->boolop == AND_EXPR)
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) qual)->args)
			if (!key_condition(lfirst(lc), cols))
				return false;
		return true;
	}
	if (IsA(qual, List))
	{
		ListCell   *lc;

		foreach(lc, (List *) qual)
			if (!key_condition(lfirst(lc), cols))
				return false;
		return true;
	}
	if (IsA(qual, OpExpr) && list_length(((OpExpr *) qual)->args) == 2)
	{
		Node	   *a = strip_casts(linitial(((OpExpr *) qual)->args));
		Node	   *b = strip_casts(lsecond(((OpExpr *) qual)->args));
		Var		   *v;

		if (IsA(b, Var))
		{
			Node	   *t = a;

			a = b;
			b = t;
		}
		if (!IsA(a, Var) || !IsA(b, Param) || ((Param *) b)->paramkind != PARAM_EXTERN)
			return false;
		v = (Var *) a;
		if (v->varno != 1 || v->varlevelsup != 0 || v->varattno <= 0)
			return false;
		*cols = bms_add_member(*cols, v->varattno);
		return true;
	}
	return false;
}

/* The columns of a constraint's key array (conkey or confkey) */
static Bitmapset *
key_columns(HeapTuple tup, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum, desc, &isnull);
	ArrayType  *arr;
	int16	   *keys;
	int			n;
	int			i;
	Bitmapset  *cols = NULL;

	if (isnull)
		return NULL;
	arr = DatumGetArrayTypeP(d);
	n = ARR_DIMS(arr)[0];
	keys = (int16 *) ARR_DATA_PTR(arr);
	for (i = 0; i < n; i++)
		cols = bms_add_member(cols, keys[i]);
	return cols;
}

/*
 * Are cols exactly the columns of relid in one of the foreign keys it takes part in: the
 * referencing columns of its own keys, or the referenced columns of a key that references it
 * (a self-reference: the check that the referenced row exists)?
 */
static bool
foreign_key_columns(Oid relid, Bitmapset *cols)
{
	Relation	cat = table_open(ConstraintRelationId, AccessShareLock);
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	/* few constraints, and no index on confrelid: one pass over them */
	scan = systable_beginscan(cat, InvalidOid, false, NULL, 0, NULL);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		if (con->contype != CONSTRAINT_FOREIGN)
			continue;
		if (con->conrelid == relid &&
			bms_equal(key_columns(tup, RelationGetDescr(cat), Anum_pg_constraint_conkey), cols))
			found = true;
		else if (con->confrelid == relid &&
				 bms_equal(key_columns(tup, RelationGetDescr(cat), Anum_pg_constraint_confkey), cols))
			found = true;
	}
	systable_endscan(scan);
	table_close(cat, AccessShareLock);
	return found;
}

/* Has the query the key's own shape over relid (see the header)? */
static bool
key_shaped(Query *q, Oid relid)
{
	RangeTblEntry *rte;
	Bitmapset  *cols = NULL;
	ListCell   *lc;

	if (list_length(q->rtable) != 1 || q->cteList != NIL || q->hasSubLinks ||
		q->setOperations != NULL || q->groupClause != NIL || q->havingQual != NULL ||
		q->windowClause != NIL || q->distinctClause != NIL || q->limitCount != NULL ||
		q->limitOffset != NULL || q->returningList != NIL || q->hasTargetSRFs || q->hasAggs ||
		q->jointree == NULL || list_length(q->jointree->fromlist) > 1)
		return false;
	rte = linitial(q->rtable);
	if (rte->rtekind != RTE_RELATION || rte->relid != relid || rte->inh)
		return false;
	if (!key_condition(q->jointree->quals, &cols) || !foreign_key_columns(relid, cols))
		return false;
	switch (q->commandType)
	{
		case CMD_SELECT:
			{
				RowMarkClause *rm;

				foreach(lc, q->targetList)
					if (!IsA(((TargetEntry *) lfirst(lc))->expr, Const))
						return false;
				if (list_length(q->rowMarks) != 1)
					return false;
				rm = linitial(q->rowMarks);
				return rm->rti == 1 && rm->strength == LCS_FORKEYSHARE;
			}
		case CMD_DELETE:
			return q->resultRelation == 1 && q->targetList == NIL;
		case CMD_UPDATE:
			if (q->resultRelation != 1)
				return false;
			foreach(lc, q->targetList)
			{
				Node	   *e = (Node *) ((TargetEntry *) lfirst(lc))->expr;

				if (contain_var_clause(e) || contain_subplans(e))
					return false;
			}
			return true;
		default:
			return false;
	}
}

/*
 * A query parsed (post_parse_analyze) or about to be planned (rewritten, views expanded): in
 * a foreign key's mode, refused unless it names none of the role's protected tables or has
 * the key's shape (then marked).
 */
void
guard_fk_query(Query *q, bool rewritten)
{
	ReachWalk	w;

	if (!InNoForceRLSOperation() || q == NULL || q->commandType == CMD_UTILITY ||
		mnl_guard_bypass || superuser())
		return;
	if (rewritten && q->querySource != QSRC_ORIGINAL)
		guard_refuse(InvalidOid, "a rule's action does not run inside a foreign key's check or action",
					 "There PostgreSQL lifts FORCE ROW LEVEL SECURITY for a table's owner: a rule on a table a foreign key's action changes would run the rule owner's query in its place. Drop the rule, or have a superuser own the table.");
	w.found = InvalidOid;
	w.depth = 0;
	if (!reach_walker((Node *) q, &w))
		return;
	if (key_shaped(q, w.found))
	{
		q->queryId = KEY_QUERY_ID;
		return;
	}
	guard_refuse(w.found, "a protected table is not read by its owner's code inside a foreign key's check or action",
				 "There PostgreSQL lifts FORCE ROW LEVEL SECURITY for the table's owner, for the key's own query only: the owner's triggers and functions run there read nothing of its protected tables.");
}

/* Is this run (ExecutorStart) PostgreSQL's key running its query? */
bool
guard_fk_key_query(int eflags)
{
	return InNoForceRLSOperation() && (eflags & EXEC_FLAG_SKIP_TRIGGERS) != 0;
}

/* ExecutorStart: a marked plan runs only as the key's own query. */
void
guard_fk_query_starts(const QueryDesc *qd, int eflags)
{
	if (qd->plannedstmt->queryId == KEY_QUERY_ID && !guard_fk_key_query(eflags))
		guard_refuse(InvalidOid, "a protected table is not read by its owner's code inside a foreign key's check or action",
					 "There PostgreSQL lifts FORCE ROW LEVEL SECURITY for the table's owner, for the key's own query only: the owner's triggers and functions run there read nothing of its protected tables.");
}
