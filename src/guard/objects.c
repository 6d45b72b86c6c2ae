/*
 * guard/objects.c — the guard's last word on a drop, from PostgreSQL's object-access hook.
 *
 * The utility guard (utility.c) answers for the statement a role writes.  A drop reaches
 * further than the statement names: DROP TYPE, DROP COLLATION, DROP FUNCTION, DROP EXTENSION
 * ... CASCADE drop the columns (or whole tables) that depend on them, and OWNED BY or a
 * dependency made earlier can do the same.  PostgreSQL tells this hook of every relation and
 * column it is about to drop, whatever the statement, with the identity it resolved:
 *
 *   a protected table or column   a non-superuser is refused (recorded, 42501);
 *   an audited table or column    the drop is recorded in the trail, in the dropping
 *                                 transaction (kind "drop"): it is there exactly when the drop
 *                                 committed.
 *
 * The extension's own code and scripts pass (the bypass scope), as does pg_upgrade.
 *
 * The same hook hears of every function an expression is about to call (operators, casts and
 * aggregates included).  In a staff session, a function owned by a role that is neither a
 * superuser nor the role acting is refused (recorded, 42501): a DBA's function — definer or
 * invoker — called in a staff member's query receives the rows that staff member sees, and
 * could keep them (DESIGN.md §4: the DBA's code never runs with a clerk's sight).  So is a
 * view owned by such a role (guard_check_views, from the executor hook): the policies under
 * it see with the staff member's current_user, and its query may call PostgreSQL's own
 * functions that send what they are given elsewhere (pg_notify, set_config).
 *
 * Must never: refuse a drop PostgreSQL makes of its own (internal) sub-objects, or look up a
 * name (the objects are given by identity).
 */
#include "postgres.h"

#include "catalog/dependency.h"
#include "catalog/objectaccess.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "access/genam.h"
#include "access/stratnum.h"
#include "catalog/indexing.h"
#include "utils/fmgroids.h"
#include "nodes/parsenodes.h"
#include "rewrite/rowsecurity.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "access/table.h"
#include "commands/extension.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "access/htup_details.h"
#include "access/xact.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"
#include "guard/guard.h"
#include "staff/session.h"


/* May code owned by owner run in this staff session? */
static bool
owner_trusted(Oid owner)
{
	return superuser_arg(owner) || owner == GetUserId() || owner == GetOuterUserId() ||
		owner == GetSessionUserId();
}

/* PostgreSQL's functions that run SQL given as text, or read whole tables, schemas, databases */
static bool
runs_sql_text(const char *name)
{
	static const char *const names[] = {
		"query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema",
		"cursor_to_xml", "cursor_to_xmlschema",
		"table_to_xml", "table_to_xml_and_xmlschema", "table_to_xmlschema",
		"schema_to_xml", "schema_to_xml_and_xmlschema", "schema_to_xmlschema",
		"database_to_xml", "database_to_xml_and_xmlschema", "database_to_xmlschema",
		"ts_stat"
	};
	int			i;

	for (i = 0; i < lengthof(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/*
 * PostgreSQL's functions whose effect outlives the transaction that called them, in the
 * session or past a rollback: the pooled login's next client would find it (a sequence's
 * value, a session-level advisory lock in pg_locks, the random seed).
 */
static bool
outlives_transaction(const char *name)
{
	static const char *const names[] = {
		"setval", "setseed", "pg_advisory_lock", "pg_advisory_lock_shared",
		"pg_try_advisory_lock", "pg_try_advisory_lock_shared"
	};
	int			i;

	for (i = 0; i < lengthof(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* One of PostgreSQL's functions that run SQL given as text (the list above, ts_rewrite's form)? */
static bool
proc_runs_sql_text(Form_pg_proc proc)
{
	return proc->pronamespace == PG_CATALOG_NAMESPACE &&
		(runs_sql_text(NameStr(proc->proname)) ||
	/* ts_rewrite(query, select text): the form that runs the SELECT it is given */
		 (strcmp(NameStr(proc->proname), "ts_rewrite") == 0 && proc->pronargs == 2 &&
		  proc->proargtypes.values[1] == TEXTOID));
}

/* ... by oid (expressions.c: never in a non-superuser's expression) */
bool
guard_function_runs_sql_text(Oid fn)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	bool		result = false;

	if (HeapTupleIsValid(tup))
	{
		result = proc_runs_sql_text((Form_pg_proc) GETSTRUCT(tup));
		ReleaseSysCache(tup);
	}
	return result;
}

/*
 * Every call of a function (the executor's, a PL/pgSQL expression's, the fast path's): in a
 * staff session, only trusted code, no SQL given as text, no message into the WAL (which
 * backups and archives keep, in clear), no notification (pg_notify: NOTIFY as a function);
 * in a pooled login, nothing that outlives the transaction, no message into the WAL and no
 * notification either.
 */
static void
check_function(Oid fn)
{
	HeapTuple	tup;
	Oid			owner;
	bool		runs_text;
	bool		staff;
	bool		pooled;
	bool		catalog;
	char		name[NAMEDATALEN];

	if (mnl_guard_bypass || mnl_internal_depth > 0)
		return;
	/*
	 * Inside a foreign key's check or action FORCE ROW LEVEL SECURITY is lifted for a table's
	 * owner (fk_actions.c): a default, CHECK or trigger condition there must not run a query
	 * given as text, which no function of the owner's would be counted for.
	 */
	if (InNoForceRLSOperation() && !superuser() && guard_function_runs_sql_text(fn))
		guard_refuse(InvalidOid, "a function that runs SQL given as text does not run inside a foreign key's check or action",
					 "There PostgreSQL lifts FORCE ROW LEVEL SECURITY for a table's owner: query_to_xml, the other *_to_xml functions, ts_stat and ts_rewrite(tsquery, text) would read its protected tables whole.");
	staff = staff_session_acting();
	pooled = !staff && MyBackendType == B_BACKEND && staff_session_pooled();
	if (!staff && !pooled)
		return;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		return;
	catalog = ((Form_pg_proc) GETSTRUCT(tup))->pronamespace == PG_CATALOG_NAMESPACE;
	strlcpy(name, NameStr(((Form_pg_proc) GETSTRUCT(tup))->proname), sizeof(name));
	if (catalog && strcmp(name, "pg_logical_emit_message") == 0)
	{
		ReleaseSysCache(tup);
		guard_refuse(InvalidOid, "a staff or pooled session writes no message into the WAL",
					 "pg_logical_emit_message keeps its text in the WAL, in backups and archives, past any rollback.");
	}
	if (catalog && strcmp(name, "pg_notify") == 0)
	{
		ReleaseSysCache(tup);
		guard_refuse(InvalidOid, "a staff or pooled session sends no notification",
					 "pg_notify, like NOTIFY, hands any text to every listener of the database, whoever it is, past the rows' row-level security.");
	}
	if (catalog && (pooled || staff_session_pooled()) && outlives_transaction(name))
	{
		ReleaseSysCache(tup);
		guard_refuse(InvalidOid, "a pooled login calls no function whose effect outlives its transaction",
					 "setval, setseed and session-level advisory locks stay for the pool's next client; use a transaction-level advisory lock (pg_advisory_xact_lock).");
	}
	if (!staff)
	{
		ReleaseSysCache(tup);
		return;
	}
	owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	runs_text = proc_runs_sql_text((Form_pg_proc) GETSTRUCT(tup));
	ReleaseSysCache(tup);
	if (!owner_trusted(owner))
		guard_refuse(InvalidOid, "a function owned by a role that is not a superuser does not run in a staff session",
					 "In a staff session only code owned by a superuser (PostgreSQL's, the extension's) or by the staff role itself runs: a superuser takes ownership of what staff are to use (ALTER ... OWNER TO).");
	/* a DBA's default, CHECK or view would hand such a function a query to run as the clerk */
	if (runs_text)
		guard_refuse(InvalidOid, "a function that runs SQL given as text does not run in a staff session",
					 "query_to_xml, the other *_to_xml functions, ts_stat and ts_rewrite(tsquery, text) would run a query written by someone else "
					 "(a default, a CHECK, a view) with the staff member's sight.");
}

/*
 * One of the policies protect_table writes: named mnl_rls_..., and each of its conditions a
 * call of ledger.may() or ledger.must() on constants and a column.  The name alone is not
 * enough (the guard reserves it, but a name is only a name): a condition of any other form is
 * its owner's code.
 */
static bool
extension_condition(Node *expr)
{
	FuncExpr   *f;
	ListCell   *lc;
	char	   *name;

	if (expr == NULL)
		return true;
	if (!IsA(expr, FuncExpr))
		return false;
	f = (FuncExpr *) expr;
	if (get_func_namespace(f->funcid) != get_namespace_oid("ledger", true))
		return false;
	name = get_func_name(f->funcid);
	if (name == NULL || (strcmp(name, "may") != 0 && strcmp(name, "must") != 0))
		return false;
	foreach(lc, f->args)
	{
		Node	   *arg = lfirst(lc);

		while (IsA(arg, RelabelType))
			arg = (Node *) ((RelabelType *) arg)->arg;
		if (!IsA(arg, Const) && !IsA(arg, Var))
			return false;
	}
	return true;
}

static bool
extension_policy(RowSecurityPolicy *pol)
{
	return strncmp(pol->policy_name, PROTECT_POLICY_PREFIX, strlen(PROTECT_POLICY_PREFIX)) == 0 &&
		extension_condition((Node *) pol->qual) && extension_condition((Node *) pol->with_check_qual);
}

/*
 * Views of a staff member's query: none may be owned by an untrusted role, nor be one of
 * PostgreSQL's views of the planner's statistics (pg_stats, pg_stats_ext, pg_stats_ext_exprs).  Not only a
 * security_invoker one: the policies of the tables under any view are decided by
 * current_user, which is the staff member, so a view of the DBA's reads exactly the rows the
 * clerk sees and may pass them to PostgreSQL's functions that send text elsewhere
 * (pg_notify, set_config).
 */
void
guard_check_views(List *rtable)
{
	ListCell   *lc;

	if (!staff_session_acting() || mnl_guard_bypass || mnl_internal_depth > 0)
		return;
	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		Relation	rel;
		bool		refuse;
		bool		stats;

		/*
		 * A table with row-level security whose owner is not trusted: its policies' conditions
		 * are the owner's code and run with the staff member's sight (a subquery of the
		 * ledger, a reveal, pg_notify), like a DBA's view.  The extension's own policies
		 * (mnl_rls_*, protect_table's) are not the owner's code.
		 */
		if (rte->rtekind == RTE_RELATION && OidIsValid(rte->relid) &&
			(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_PARTITIONED_TABLE))
		{
			bool		foreign_policy = false;
			bool		foreign_rule;

			rel = table_open(rte->relid, NoLock);
			/*
			 * A table with a rule whose owner is not trusted: the rule's actions are the
			 * owner's queries, run within the staff member's statement with their sight and
			 * rights (a copy of what they read, a reveal), and no function of the owner's is
			 * called for the check below to see.
			 */
			foreign_rule = rel->rd_rel->relhasrules && rel->rd_rules != NULL && !owner_trusted(rel->rd_rel->relowner);
			if (rel->rd_rel->relrowsecurity && rel->rd_rsdesc != NULL && !owner_trusted(rel->rd_rel->relowner))
			{
				ListCell   *pc;

				foreach(pc, rel->rd_rsdesc->policies)
				{
					RowSecurityPolicy *pol = lfirst(pc);

					if (!extension_policy(pol))
						foreign_policy = true;
				}
			}
			table_close(rel, NoLock);
			if (foreign_rule)
				guard_refuse(rte->relid, "a table with a rule of a role that is not a superuser is not used in a staff session",
							 "A rule's actions run with the staff member's sight and rights: a superuser takes ownership of the table (ALTER TABLE ... OWNER TO), or the rule goes.");
			if (foreign_policy)
				guard_refuse(rte->relid, "a table with a policy of a role that is not a superuser is not read in a staff session",
							 "In a staff session only code owned by a superuser (PostgreSQL's, the extension's) or by the staff role itself runs: a superuser takes ownership of what staff are to use (ALTER ... OWNER TO).");
			continue;
		}
		/* a view read: RTE_RELATION, or (PostgreSQL 16 on) the subquery it was expanded to */
		if ((rte->rtekind != RTE_RELATION && rte->rtekind != RTE_SUBQUERY) ||
			rte->relkind != RELKIND_VIEW || !OidIsValid(rte->relid))
			continue;
		rel = table_open(rte->relid, NoLock);
		refuse = !owner_trusted(rel->rd_rel->relowner);
		stats = rel->rd_rel->relnamespace == PG_CATALOG_NAMESPACE &&
			strncmp(NameStr(rel->rd_rel->relname), "pg_stats", 8) == 0;
		table_close(rel, NoLock);
		if (refuse)
			guard_refuse(rte->relid, "a view owned by a role that is not a superuser is not read in a staff session",
						 "In a staff session only code owned by a superuser (PostgreSQL's, the extension's) or by the staff role itself runs: a superuser takes ownership of what staff are to use (ALTER ... OWNER TO).");
		/* the planner's statistics hold values of the rows (most common values, histograms) */
		if (stats)
			guard_refuse(rte->relid, "the planner's statistics are not read in a staff session",
						 "They hold values of audited tables' rows, read with no record; a DBA reads them outside a staff session.");
	}
}

static object_access_hook_type prev_object_access = NULL;

static void record_drop_by_trigger(Oid trigoid);

static void
guard_object_access(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	ObjectAccessDrop *drop = arg;

	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (access == OAT_POST_CREATE || access == OAT_POST_ALTER)
	{
		guard_expression_made(access, classId, objectId, subId);
		return;
	}
	if (access == OAT_FUNCTION_EXECUTE && IsTransactionState())
	{
		check_function(objectId);
		return;
	}
	if (access != OAT_DROP || !IsTransactionState())
		return;
	if (classId != RelationRelationId && classId != TriggerRelationId)
		return;
	if (mnl_guard_bypass || IsBinaryUpgrade)
		return;
	if (creating_extension &&
		CurrentExtensionObject == get_extension_oid(MNL_EXTENSION_NAME, true))
		return;
	if (classId == TriggerRelationId)
	{
		record_drop_by_trigger(objectId);
		return;
	}
	if (drop != NULL && (drop->dropflags & PERFORM_DELETION_INTERNAL))
		return;
	if (!superuser() && mnl_is_protected_relid(objectId))
		guard_refuse(objectId,
					 subId != 0 ? "a column of a protected table cannot be dropped by a non-superuser" :
					 "a protected table can be dropped only by a superuser",
					 "A DROP ... CASCADE of a type, collation, function or extension it depends on would drop it too. "
					 "Only a superuser can change how a protected table is guarded (docs/api.md, ledger.protect_table).");
	if (subId != 0 && !audit_is_trail_relation(objectId) && mnl_relation_test(objectId, audit_is_audited_relation))
		audit_record_drop(objectId, subId);
}

/*
 * A table is dropped after its triggers (they depend on it), so by the time its own drop is
 * heard its audit triggers are gone.  Its drop is recorded when the audit trigger every
 * audited table has goes: mnl_audit_truncate, or on a partition the clone of the parent's
 * mnl_audit_row.  Outside the bypass scope (ledger.unaudit_table), and since nobody may drop
 * an audit trigger by name, that happens only when the table goes.
 */
static void
record_drop_by_trigger(Oid trigoid)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			relid = InvalidOid;

	ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(trigoid));
	scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);

		if (strcmp(NameStr(tg->tgname), "mnl_audit_truncate") == 0 ||
			(strcmp(NameStr(tg->tgname), "mnl_audit_row") == 0 && OidIsValid(tg->tgparentid)))
			relid = tg->tgrelid;
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	if (OidIsValid(relid) && !audit_is_trail_relation(relid))
		audit_record_drop(relid, 0);
}

/*
 * A function PostgreSQL would inline (a LANGUAGE sql function, an operator or a set-returning
 * function in FROM built on one) is never called: its body is copied into the query, and the
 * check above never sees it.  PostgreSQL inlines no function a plugin hooks: in a staff or
 * pooled session, a function owned by a role the staff member may not trust is hooked, so it
 * is called, and refused when it is.  (The hook itself is the function manager's chain; this
 * room adds nothing to it but the need.)
 */
static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;

/* In a staff or pooled session: is fn owned by a role the staff member may not trust? */
static bool
untrusted_in_staff_session(Oid fn)
{
	HeapTuple	tup;
	Oid			owner;

	if (mnl_guard_bypass || mnl_internal_depth > 0 || !IsTransactionState())
		return false;
	if (!staff_session_acting() && !(MyBackendType == B_BACKEND && staff_session_pooled()))
		return false;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		return false;
	owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	ReleaseSysCache(tup);
	return !owner_trusted(owner);
}

static bool
guard_needs_fmgr_hook(Oid fn)
{
	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn))
		return true;
	return untrusted_in_staff_session(fn);
}

/*
 * ... and called where PostgreSQL calls it itself, not from a query: a range type's
 * subtype_diff while the planner estimates or a GiST index is written, a cast to json that
 * to_jsonb looks up, a type's input, output, send or receive function.  Such a function was
 * hooked when it was looked up (above), so every call comes through here first: it is refused
 * like a call from a query.
 */
static fmgr_hook_type prev_fmgr_hook = NULL;

static void
guard_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *arg)
{
	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, arg);
	if (event == FHET_START && untrusted_in_staff_session(flinfo->fn_oid))
		guard_refuse(InvalidOid, "a function owned by a role that is not a superuser does not run in a staff session",
					 "In a staff session only code owned by a superuser (PostgreSQL's, the extension's) or by the staff role itself runs: a superuser takes ownership of what staff are to use (ALTER ... OWNER TO).");
}

void
guard_objects_install(void)
{
	prev_object_access = object_access_hook;
	object_access_hook = guard_object_access;
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = guard_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = guard_fmgr_hook;
}
