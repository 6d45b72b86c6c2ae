/*
 * explain.c — what EXPLAIN may show about protected tables.  EXPLAIN ANALYZE counts the rows
 * a policy removed ("Rows Removed by Filter"): with a condition on a hidden row's columns
 * it tells a clerk whether such a row exists (ATTACKS.md §5).  A plain EXPLAIN's estimates
 * come from statistics over every row, hidden ones included.  So for anyone but a superuser,
 * EXPLAIN of a statement that reads a protected table is refused (42501, recorded); the
 * superuser, and auto_explain, which a superuser configures, still see plans.
 *
 * Called by the utility hook (an EXPLAIN begins and ends) and the executor hook (the plan
 * the EXPLAIN starts, with its range table after the rewriter: views are expanded).
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/parsenodes.h"

#include "audit/audit.h"
#include "guard/guard.h"
#include "core/mynumber_ledger.h"

int			explain_depth = 0;

void
explain_check(List *rtable)
{
	ListCell   *lc;

	if (explain_depth == 0 || superuser())
		return;
	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION && OidIsValid(rte->relid) && mnl_is_protected_relid(rte->relid))
		{
			audit_refuse(rte->relid, "explain refused: a protected table", AUDIT_MUST_RECORD,
						 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						  errmsg("permission denied: EXPLAIN of a statement that reads a protected table"),
						  errhint("A plan's row counts and estimates describe rows the policies hide; a superuser can EXPLAIN it.")));
		}
	}
}
