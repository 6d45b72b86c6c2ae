/*
 * qual_order.c — no condition of the caller's runs on a row before the row's policy has let
 * it through, except the index's own.
 *
 * PostgreSQL evaluates a table's row-security condition before the caller's conditions,
 * except those it judges leakproof, which may go first when cheap.  Both halves of that
 * exception read hidden rows:
 *
 *   side effects    it judges a condition leakproof when no non-LEAKPROOF function in it
 *                   takes a column, so a function with no column (set_config(...),
 *                   pg_notify(...), 1 / f(), the caller's own) after a leakproof comparison
 *                   says whether the comparison held on a hidden row:
 *                   "birth_date < '2013-01-01' AND set_config('x', 'hit', false) = 'hit'";
 *   time            a LEAKPROOF comparison made costly (text against a constant of millions
 *                   of characters) after a cheap one runs only when the cheap one held: the
 *                   statement takes milliseconds longer, and bisection reads the row.
 *
 *   set_rel_pathlist_hook  once the relation's paths are built (index conditions chosen),
 *                          every other condition of the caller's on a relation under row
 *                          security (security level above the policies') is marked not
 *                          leakproof, so create_plan orders it after the policy.  Index
 *                          conditions stay where PostgreSQL put them (leakproof operators on
 *                          an indexed column); what they tell by time is the number of index
 *                          entries they visit (docs/permissions.md).
 *   qual_is_strictly_leakproof()  every function, operator and cast LEAKPROOF, no subquery:
 *                          a condition nothing can be learnt from but its answer (read audit).
 *   post_parse_analyze_hook  INSERT ... ON CONFLICT DO UPDATE ... WHERE on a protected table
 *                          is refused (its WHERE reads the conflicting row, hidden or not).
 *
 * Must never: mark a condition leakproof that PostgreSQL did not (only ever the stricter
 * answer), or change the plan of a query without row security (one level of conditions).
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/paths.h"
#include "parser/analyze.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteHandler.h"
#include "utils/lsyscache.h"

#include "core/mynumber_ledger.h"
#include "guard/guard.h"

static set_rel_pathlist_hook_type prev_set_rel_pathlist = NULL;
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

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

bool
qual_is_strictly_leakproof(Node *qual)
{
	return !has_unsafe_part(qual, NULL);
}

static void
after_the_policy(List *rinfos)
{
	ListCell   *lc;

	foreach(lc, rinfos)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo->security_level > 0)
			rinfo->leakproof = false;
	}
}

/*
 * The paths are built by now (index conditions were matched while they were), the plan
 * not yet: order_qual_clauses() (create_plan) reads the flag.  Join conditions a
 * parameterised scan enforces are in joininfo.
 */
static void
qual_order_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti, RangeTblEntry *rte)
{
	if (prev_set_rel_pathlist)
		prev_set_rel_pathlist(root, rel, rti, rte);
	if (root->qual_security_level > 0)
	{
		after_the_policy(rel->baserestrictinfo);
		after_the_policy(rel->joininfo);
	}
}

/*
 * The table an INSERT into an automatically updatable view writes: the view's one base
 * relation, through views over views (a caller's own temporary view over a protected
 * table writes that table, with its policies).
 */
static Oid
view_base_relation(Oid relid)
{
	int			depth;

	for (depth = 0; depth < 64 && get_rel_relkind(relid) == RELKIND_VIEW; depth++)
	{
		Relation	view = relation_open(relid, AccessShareLock);
		Query	   *vq = get_view_query(view);
		Oid			next = InvalidOid;

		if (vq != NULL && vq->jointree != NULL && list_length(vq->jointree->fromlist) == 1 &&
			IsA(linitial(vq->jointree->fromlist), RangeTblRef))
		{
			RangeTblEntry *base = rt_fetch(((RangeTblRef *) linitial(vq->jointree->fromlist))->rtindex,
										   vq->rtable);

			if (base->rtekind == RTE_RELATION)
				next = base->relid;
		}
		relation_close(view, AccessShareLock);
		if (!OidIsValid(next))
			break;
		relid = next;
	}
	return relid;
}

/*
 * INSERT ... ON CONFLICT DO UPDATE ... WHERE: the WHERE is evaluated on the existing row of
 * the conflict, which the caller's policies may hide — before the policies' check of that row
 * on PostgreSQL 18 (15 and 17 check first) — and its outcome ("INSERT 0 0", or a policy
 * error) or a side effect in it tells the hidden row.  On a protected table it is refused to
 * every role under its policies; an UPDATE states the same condition under them.
 */
static void
refuse_upsert_where(Query *query)
{
	RangeTblEntry *rte;
	Oid			target;

	if (query->onConflict == NULL || query->onConflict->action != ONCONFLICT_UPDATE ||
		query->onConflict->onConflictWhere == NULL || query->resultRelation <= 0)
		return;
	rte = rt_fetch(query->resultRelation, query->rtable);
	if (rte->rtekind != RTE_RELATION)
		return;
	target = view_base_relation(rte->relid);
	if (mnl_is_protected_relid(target) && !superuser())
		guard_refuse(target, "INSERT ... ON CONFLICT DO UPDATE ... WHERE is refused on a protected table",
					 "Its condition would be evaluated on an existing row the policies may hide; "
					 "use ON CONFLICT DO UPDATE without WHERE, or an UPDATE with the condition.");
}

static void
qual_order_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (IsNormalProcessingMode() && IsTransactionState() && query->commandType == CMD_INSERT)
		refuse_upsert_where(query);
}

void
qual_order_install(void)
{
	prev_set_rel_pathlist = set_rel_pathlist_hook;
	set_rel_pathlist_hook = qual_order_set_rel_pathlist;
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = qual_order_post_parse_analyze;
}
