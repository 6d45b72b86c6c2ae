/*
 * guard/hooks.c — where the guard meets the server: the utility hook and the executor hooks
 * that run the guard's checks before anything else of the extension sees a statement.
 *
 *   ProcessUtility  the statement gate (staff/session.c), then the dispatch over utility
 *                   statements (guard/utility.c), then the export duty of COPY ... TO; while
 *                   an EXPLAIN or a COPY/statement that stores rows runs, the executor hook
 *                   below knows it (explain_depth, export_copy_depth)
 *   ExecutorStart   EXPLAIN of a protected table; the statement gate; the export duty of a
 *                   COPY (query) TO and of statements copying rows into another table
 *   ExecutorRun     the statement gate again (a portal bound earlier and executed now)
 *   ExecutorEnd     the copying statement being watched (export.c) has ended
 *
 * Installed after the reads room's hooks, so these run first and a refused statement is
 * never recorded as read.  Every hook saves the previous one and calls it.
 *
 * Must never: skip the chain of hooks; check anything for a parallel worker (its leader
 * did).
 */
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "optimizer/planner.h"
#include "rewrite/rowsecurity.h"
#include "tcop/utility.h"

#include "guard/guard.h"
#include "core/mynumber_ledger.h"
#include "staff/session.h"

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static planner_hook_type prev_planner = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
guard_ExecutorStart(QueryDesc *qd, int eflags)
{
	/* a plan of the key's shape made inside a foreign key's check or action (fk_actions.c) */
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		guard_fk_query_starts(qd, eflags);
	if (explain_depth > 0 && mnl_internal_depth == 0 && !IsParallelWorker())
		explain_check(qd->plannedstmt->rtable);
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		staff_session_check(NULL);
		guard_check_views(qd->plannedstmt->rtable);
		/* the query of a COPY (query) TO: bulk export of protected rows needs the export duty */
		if ((export_copy_depth > 0 || export_copying_query != NULL) && mnl_internal_depth == 0 &&
			!IsParallelWorker() && !guard_fk_key_query(eflags))
			export_check_query(qd->plannedstmt->rtable);
		if (mnl_internal_depth == 0 && !IsParallelWorker() && MyBackendType == B_BACKEND)
			export_check_copying(qd);
	}
	if (prev_ExecutorStart)
		prev_ExecutorStart(qd, eflags);
	else
		standard_ExecutorStart(qd, eflags);
}

static void
guard_ExecutorRun(MNL_EXECUTOR_RUN_PARAMS)
{
	/* a portal bound earlier and executed now (protocol Execute): the identity is checked again */
	staff_session_check(NULL);
	if (prev_ExecutorRun)
		prev_ExecutorRun(MNL_EXECUTOR_RUN_ARGS);
	else
		standard_ExecutorRun(MNL_EXECUTOR_RUN_ARGS);
}

/* Inside a foreign key's check or action, no query a rule produced (fk_actions.c) */
static PlannedStmt *
guard_planner(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	guard_fk_query(parse, true);
	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

static void
guard_ExecutorEnd(QueryDesc *qd)
{
	export_statement_ended(qd);
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(qd);
	else
		standard_ExecutorEnd(qd);
}

static void
guard_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		is_copy_query = false;
	bool		is_explain = IsA(stmt, ExplainStmt);

	if (!IsParallelWorker())
	{
		staff_session_check(stmt);
		guard_statement(stmt);
		if (IsA(stmt, CopyStmt) && !((CopyStmt *) stmt)->is_from && mnl_internal_depth == 0)
		{
			if (((CopyStmt *) stmt)->relation != NULL)
			{
				Oid			relid = RangeVarGetRelid(((CopyStmt *) stmt)->relation, NoLock, true);

				if (OidIsValid(relid))
					export_check_relation(relid);
			}
			else
				is_copy_query = true;
		}
		/* a utility that stores what it evaluates: its reads are copies (export.c) */
		if (mnl_internal_depth == 0 && export_stores_rows(stmt))
			is_copy_query = true;
	}

	if (is_copy_query)
		export_copy_depth++;
	if (is_explain)
		explain_depth++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (is_copy_query)
			export_copy_depth--;
		if (is_explain)
			explain_depth--;
	}
	PG_END_TRY();
	/* SET ROLE (or SESSION AUTHORIZATION) to a staff identity: hidden from the next statement on */
	if (IsA(stmt, VariableSetStmt) && ((VariableSetStmt *) stmt)->name != NULL &&
		(strcmp(((VariableSetStmt *) stmt)->name, "role") == 0 ||
		 strcmp(((VariableSetStmt *) stmt)->name, "session_authorization") == 0))
		staff_session_identity_changed();
}

void
guard_install(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = guard_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = guard_ExecutorRun;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = guard_ExecutorEnd;
	prev_planner = planner_hook;
	planner_hook = guard_planner;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = guard_ProcessUtility;
	qual_order_install();
	guard_objects_install();
	guard_calls_install();
}
