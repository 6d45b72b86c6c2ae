/*
 * qual_order.c — no side effect of a caller's condition runs on a row before the row's
 * policy has let it through.
 *
 * PostgreSQL evaluates a table's row-security condition before the caller's conditions,
 * except those it judges leakproof, which may go first (index conditions, cheap
 * comparisons).  It judges a condition leakproof when no non-LEAKPROOF function in it takes a
 * column: a function with no column argument (set_config(...), pg_notify(...), 1 / f(), a
 * function of the caller's) is taken to show nothing of the row.  Combined, they show it:
 * "birth_date < '2013-01-01' AND set_config('x', 'hit', false) = 'hit'" runs the comparison
 * on a hidden row and the side effect (or the error) only when it held, so the caller reads
 * one bit of a row the policy hides, and bisection reads every column.  So does one
 * condition alone: CASE WHEN birth_date < ... THEN pg_notify(...) END.
 *
 *   set_rel_pathlist_hook  on a relation under row security, a condition of the caller
 *                          (security level above the policies') counts as leakproof only
 *                          when every function, operator and cast in it is LEAKPROOF and
 *                          it holds no subquery; the others are evaluated after the
 *                          policy.  Index conditions are unaffected: a function with no
 *                          column is never one, and a comparison on a column keeps its
 *                          place.
 *
 * Must never: make a condition leakproof that PostgreSQL did not (only ever the stricter
 * answer), or touch a query without row security (its conditions have one level).
 */
#include "postgres.h"

#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/paths.h"
#include "utils/lsyscache.h"

#include "qual_order.h"

static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;

static bool
function_not_leakproof(Oid funcid, void *context)
{
	return !get_func_leakproof(funcid);
}

/* Anything in the expression that could act on, or fail for, the row it is evaluated on. */
static bool
has_unsafe_part(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan) ||
		IsA(node, NextValueExpr))
		return true;
	if (check_functions_in_node(node, function_not_leakproof, context))
		return true;
	return expression_tree_walker(node, has_unsafe_part, context);
}

static void
strict_leakproof(List *rinfos)
{
	ListCell   *lc;

	foreach(lc, rinfos)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo->security_level > 0 && rinfo->leakproof &&
			has_unsafe_part((Node *) rinfo->clause, NULL))
			rinfo->leakproof = false;
	}
}

/*
 * The paths are built by now, the plan not yet: order_qual_clauses() (create_plan) reads
 * the flag.  Join conditions a parameterised scan enforces are in joininfo.
 */
static void
qual_order_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	if (root->qual_security_level > 0)
	{
		strict_leakproof(rel->baserestrictinfo);
		strict_leakproof(rel->joininfo);
	}
}

void
qual_order_install(void)
{
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = qual_order_set_rel_pathlist;
}
