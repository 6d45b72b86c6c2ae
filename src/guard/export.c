/*
 * export.c — the export duty (抽出): COPY ... TO of a protected table, or of a query that
 * reads one (COPY (SELECT ...) TO STDOUT, which is what psql's \copy sends), needs a duty
 * with the export action for the table's affair.  Row-level security still decides which
 * rows; the export duty decides whether rows may leave in bulk at all.  A refusal is
 * recorded; an allowed export is recorded by the read audit with its row count.
 *
 * Called by the utility hook (COPY with a table) and the executor hook (the query of a COPY
 * TO, or any read while a utility statement that stores rows runs — export_copy_depth says
 * one is running; and every statement that copies rows into another table, the road around
 * COPY through a temporary table).
 *
 * Must never: name a row or its values in a message.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/execdesc.h"
#include "parser/parsetree.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "audit/audit.h"
#include "guard/guard.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"

int			export_copy_depth = 0;
QueryDesc  *export_copying_query = NULL;	/* the innermost copying statement running, if any */

/*
 * Every copying statement running, outermost first: a copying statement nested in another
 * (an INSERT in a function the outer one calls) ends first, and the outer one's watch goes on
 * (attack round 25: one pointer, cleared by the nested statement's end, let the outer
 * statement's next reads by).
 */
static QueryDesc **copying_stack = NULL;
static int	ncopying = 0;
static int	maxcopying = 0;

/* The affair a protected table is guarded for (its write gate's argument), or NULL. */
static char *
protected_affair(Oid relid)
{
	Relation	rel;
	char	   *affair = NULL;
	int			i;

	if (get_rel_relkind(relid) != RELKIND_RELATION)
		return NULL;
	rel = RelationIdGetRelation(relid);
	if (rel == NULL)
		return NULL;
	if (mnl_is_protected(rel) && rel->trigdesc != NULL)
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *t = &rel->trigdesc->triggers[i];

			if (strcmp(t->tgname, PROTECT_TRIGGER_NAME) == 0 && t->tgnargs > 0)
				affair = pstrdup(t->tgargs[0]);
		}
	RelationClose(rel);
	return affair;
}

/* Refuse (42501, recorded) a COPY TO of relid by a role without the export duty. */
void
export_check_relation(Oid relid)
{
	char	   *affair = protected_affair(relid);

	if (affair == NULL || perm_may_any("export", affair))
		return;
	audit_refuse(relid, "copy to refused: no export duty", AUDIT_MUST_RECORD,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("permission denied: COPY ... TO of protected data needs the export duty"),
				  errhint("A duty with the export action for this affair is needed to copy rows out in bulk.")));
}

/* A copying statement that failed never reaches ExecutorEnd: forget it when its
 * (sub)transaction ends. */
static void
export_xact_callback(XactEvent event, void *arg)
{
	export_copying_query = NULL;
	ncopying = 0;
}

static void
export_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		export_copying_query = NULL;
		ncopying = 0;
	}
}

/*
 * A statement that copies rows into another table — CREATE TABLE AS, SELECT INTO, a
 * materialized view, INSERT/UPDATE/MERGE into a table that is not protected, as the statement
 * or as a data-modifying WITH of one — is a bulk
 * export too (a temporary table, then \copy of it): every protected table it reads needs the
 * export duty.  Writes into a protected table stay under that table's own policies.
 */
void
export_check_copying(QueryDesc *qd)
{
	PlannedStmt *ps = qd->plannedstmt;
	bool		copying = false;
	List	   *reads = NIL;
	ListCell   *lc;
	Index		rti = 0;
	static bool callbacks = false;

	if (qd->dest != NULL && (qd->dest->mydest == DestIntoRel || qd->dest->mydest == DestTransientRel))
		copying = true;
	else
	{
		/* every table the statement writes, a data-modifying WITH of a SELECT's included */
		foreach(lc, ps->resultRelations)
		{
			RangeTblEntry *rte = rt_fetch(lfirst_int(lc), ps->rtable);

			if (protected_affair(rte->relid) == NULL)
				copying = true;
		}
	}
	if (!copying)
		return;
	/* its functions' own reads are checked too (until its ExecutorEnd) */
	if (!callbacks)
	{
		RegisterXactCallback(export_xact_callback, NULL);
		RegisterSubXactCallback(export_subxact_callback, NULL);
		callbacks = true;
	}
	if (ncopying == maxcopying)
	{
		maxcopying = Max(8, maxcopying * 2);
		copying_stack = copying_stack == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(QueryDesc *) * maxcopying) :
			repalloc(copying_stack, sizeof(QueryDesc *) * maxcopying);
	}
	copying_stack[ncopying++] = qd;
	export_copying_query = qd;
	foreach(lc, ps->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		rti++;
		if (rte->rtekind == RTE_RELATION && OidIsValid(rte->relid) &&
			!list_member_int(ps->resultRelations, (int) rti))
			reads = lappend(reads, rte);
	}
	export_check_query(reads);
}

/*
 * A utility statement that stores what it computes in a table or an index, evaluating
 * expressions the caller may have written (a function that reads protected rows): the
 * executor's reads while it runs are a bulk export too.  CREATE TABLE AS (EXECUTE
 * included), REFRESH MATERIALIZED VIEW, COPY ... FROM (defaults), ALTER TABLE (a default or
 * USING expression filled into every row), CREATE INDEX, REINDEX, CLUSTER, VACUUM and
 * ANALYZE (index and statistics expressions), CREATE TABLE (a partition bound is evaluated
 * and kept in pg_class, which every role reads).
 */
bool
export_stores_rows(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateTableAsStmt:
		case T_CreateStmt:
		case T_RefreshMatViewStmt:
		case T_AlterTableStmt:
		case T_IndexStmt:
		case T_ReindexStmt:
		case T_ClusterStmt:
		case T_VacuumStmt:
			return true;
		case T_CopyStmt:
			return ((CopyStmt *) stmt)->is_from;
		default:
			return false;
	}
}

/* The query of a COPY TO: every protected table it reads needs the export duty. */
void
export_check_query(List *rtable)
{
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (rte->rtekind == RTE_RELATION && OidIsValid(rte->relid))
			export_check_relation(rte->relid);
	}
}

/* A statement ends (ExecutorEnd): if it was copying, the one it was nested in is watched again. */
void
export_statement_ended(QueryDesc *qd)
{
	int			i;

	for (i = ncopying - 1; i >= 0; i--)
		if (copying_stack[i] == qd)
		{
			memmove(&copying_stack[i], &copying_stack[i + 1], sizeof(QueryDesc *) * (ncopying - i - 1));
			ncopying--;
			break;
		}
	export_copying_query = ncopying > 0 ? copying_stack[ncopying - 1] : NULL;
}
