/*
 * calls.c — a call of one of the extension's functions that PostgreSQL will refuse (no
 * EXECUTE privilege) is an attempt like any other: recorded in the trail (kind denied)
 * before PostgreSQL raises its error.
 *
 * PostgreSQL checks EXECUTE when it builds the call (or runs a CALL), and no hook runs
 * before that check; the query is looked at once it is analysed.  A statement planned again
 * from a plan cache (a prepared statement executed again, a PL/pgSQL function's statement in
 * the same session) is not analysed again: its later refusals are not recorded.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"

#include "audit/audit.h"
#include "core/compat.h"
#include "guard/guard.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

typedef struct CallWalk
{
	Oid			ledger;			/* the extension's schema */
	Oid			user;
} CallWalk;

static void
check_call(Oid fn, CallWalk *w)
{
	char		detail[NAMEDATALEN + 48];
	char	   *name;

	if (fn < FirstNormalObjectId || get_func_namespace(fn) != w->ledger ||
		mnl_proc_aclcheck(fn, w->user, ACL_EXECUTE) == ACLCHECK_OK)
		return;
	name = get_func_name(fn);
	snprintf(detail, sizeof(detail), "refused: permission denied (execute ledger.%s)",
			 name ? name : "?");
	audit_emit(AUDIT_KIND_DENIED, InvalidOid, 0, false, 0, detail, false);
}

static bool
find_calls(Node *node, CallWalk *w)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
		check_call(((FuncExpr *) node)->funcid, w);
	else if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		if (q->utilityStmt != NULL && IsA(q->utilityStmt, CallStmt))
			return find_calls((Node *) ((CallStmt *) q->utilityStmt)->funcexpr, w);
		return query_tree_walker(q, find_calls, w, 0);
	}
	return expression_tree_walker(node, find_calls, w);
}

static void
calls_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	/* a failed transaction's ROLLBACK reads no catalog */
	if (!IsNormalProcessingMode() || !IsTransactionState() || superuser() || !audit_trail_installed())
		return;
	{
		CallWalk	w;

		w.ledger = get_namespace_oid("ledger", true);
		w.user = GetUserId();
		if (OidIsValid(w.ledger))
			(void) find_calls((Node *) query, &w);
	}
}

void
guard_calls_install(void)
{
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = calls_post_parse_analyze;
}
