/*
 * calls.c — a call of one of the extension's functions that PostgreSQL will refuse (no
 * EXECUTE privilege) is an attempt like any other: recorded in the trail (kind denied)
 * before PostgreSQL raises its error.
 *
 * PostgreSQL checks EXECUTE when it builds the call (or runs a CALL), and no hook runs
 * before that check; the query is looked at once it is analysed.  What analysis does not see
 * — a fast-path call (FunctionCall), a stored function body (BEGIN ATOMIC), a column default
 * the rewriter adds, a statement planned again from a plan cache — is recorded when
 * PostgreSQL's refusal is reported (emit_log_hook): any function's, named as the message
 * names it.  A refusal a PL/pgSQL EXCEPTION block catches is not reported, so only the first
 * road records it.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"

#include "audit/audit.h"
#include "core/compat.h"
#include "core/mynumber_ledger.h"
#include "guard/guard.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;
static TimestampTz walk_recorded_at = 0;	/* the statement whose refusal the walk recorded */
static bool in_log_hook = false;

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
	walk_recorded_at = GetCurrentStatementStartTimestamp();
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
	/* inside a foreign key's check or action, a table owner's protected tables (fk_actions.c) */
	if (IsNormalProcessingMode() && IsTransactionState())
		guard_fk_query(query, false);
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

/*
 * PostgreSQL's refusal of EXECUTE as it is reported: recorded unless the walk above recorded
 * this statement's.  Runs inside error reporting: nothing here may raise an error (the queue
 * is written without waiting, must_log false).
 */
static void
calls_emit_log_hook(ErrorData *edata)
{
	if (!in_log_hook && edata->elevel == ERROR && edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE &&
		edata->message_id != NULL &&
		(strcmp(edata->message_id, "permission denied for function %s") == 0 ||
		 strcmp(edata->message_id, "permission denied for procedure %s") == 0) &&
		MyBackendType == B_BACKEND && !IsParallelWorker() && IsTransactionState() &&
		walk_recorded_at != GetCurrentStatementStartTimestamp())
	{
		char		detail[NAMEDATALEN + 96];
		AuditActor	actor;
		const char *name;

		/*
		 * Who, without the registry (no SPI while an error is reported): the roles' names
		 * from the catalog cache, the database as the client named it; the staff id is
		 * left to the role's name.
		 */
		in_log_hook = true;
		memset(&actor, 0, sizeof(actor));
		name = GetUserNameFromId(mnl_audit_user(), true);
		strlcpy(actor.role, name ? name : "?", NAMEDATALEN);
		name = GetUserNameFromId(GetSessionUserId(), true);
		strlcpy(actor.session_role, name ? name : "?", NAMEDATALEN);
		strlcpy(actor.database, MyProcPort && MyProcPort->database_name ? MyProcPort->database_name : "",
				NAMEDATALEN);
		snprintf(detail, sizeof(detail), "refused: %s", edata->message ? edata->message : "permission denied (execute)");
		(void) audit_emit_keys(AUDIT_KIND_DENIED, InvalidOid, 0, false, 0, detail, NULL, 0, &actor, false);
		in_log_hook = false;
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
guard_calls_install(void)
{
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = calls_post_parse_analyze;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = calls_emit_log_hook;
}
