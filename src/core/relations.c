/*
 * relations.c — what the extension calls a protected table, and a test on a relation given
 * by oid.  Every room that asks "is this table protected?" (the guard, the read audit, the
 * trail's audit_table) asks here, so the answer cannot differ between them.
 *
 * A protected table is one that carries a row-level security policy whose name begins with
 * PROTECT_POLICY_PREFIX: only ledger.protect_table() creates such policies (the guard
 * reserves the prefix).
 *
 * Must never: open a relation the caller has not named by oid, or hold it open.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "nodes/pg_list.h"
#include "rewrite/rowsecurity.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "core/mynumber_ledger.h"

/* Does test hold for relid, a table or partitioned table?  False when there is none. */
bool
mnl_relation_test(Oid relid, bool (*test) (Relation rel))
{
	Relation	rel;
	bool		result;
	char		kind;

	if (!OidIsValid(relid))
		return false;
	kind = get_rel_relkind(relid);
	if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
		return false;
	rel = RelationIdGetRelation(relid);
	if (!RelationIsValid(rel))
		return false;
	result = test(rel);
	RelationClose(rel);
	return result;
}

/* Does rel carry the extension's policies? */
bool
mnl_is_protected(Relation rel)
{
	ListCell   *lc;

	if (rel->rd_rsdesc == NULL)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *p = lfirst(lc);

		if (strncmp(p->policy_name, PROTECT_POLICY_PREFIX, strlen(PROTECT_POLICY_PREFIX)) == 0)
			return true;
	}
	return false;
}

bool
mnl_is_protected_relid(Oid relid)
{
	return mnl_relation_test(relid, mnl_is_protected);
}
