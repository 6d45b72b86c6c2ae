/*
 * audit_hooks.c — what the server tells the audit trail without being asked: reads of
 * audited tables, denied attempts on them, sessions, and DDL aimed at the audit itself.
 *
 *   ExecutorStart   denied pre-check (the executor's privilege rules) for every audited
 *                   relation the statement touches, recorded before the server refuses it;
 *                   refuses early when a read cannot be recorded (writer down)
 *   ExecutorRun     counts rows of statements that read audited relations
 *   ExecutorEnd     a "select" event per audited relation read, with the row count and
 *                   query id (never the query text, which may hold literals)
 *   ProcessUtility  COPY ... TO of an audited table (read), the guard (below)
 *   ClientAuthentication  login / login_failed; logout at backend exit
 *
 * The guard refuses, for every role and whatever the session settings, any statement that
 * would drop, rename, disable or replace the audit triggers of an audited table, or alter,
 * drop, truncate, rename, move or re-own a table of the trail.  Only the extension's own C
 * code (audit_guard_bypass) and ledger.unaudit_table() may; DROP EXTENSION, a superuser's
 * act, removes everything.
 *
 * Every hook saves the previous one and calls it (pgaudit and others keep working).
 * Events that must outlive the transaction go through audit_queue.c.
 *
 * Must never: record statement text or parameter values; skip the chain of hooks.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/copy.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "storage/ipc.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "audit.h"
#include "explain_guard.h"
#include "export.h"
#include "guard.h"
#include "mynumber_ledger.h"
#include "protect.h"
#include "staff_session.h"

PG_FUNCTION_INFO_V1(audit_trail_guard);

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static ClientAuthentication_hook_type prev_ClientAuthentication = NULL;

/* A running statement that reads audited relations. */
typedef struct TrackedRead
{
	QueryDesc  *qd;
	SubTransactionId subid;
	MemoryContext cxt;			/* this, the lists and the key sets */
	List	   *relids;
	List	   *keysets;		/* aligned with relids: ReadKeySet * of a protected table, or NULL */
	List	   *relnames;		/* aligned with relids: their names (char *) */
	List	   *scans;			/* the wrapped scan nodes that fill them (audit_readscan.c) */
	uint64		rows;
	uint64		query_id;
	bool		copy;			/* the query of a COPY ... TO of a protected table */
	AuditActor	actor;			/* who read (recorded even if the statement fails) */
	Oid			reader;			/* the role that started a read of a protected table */
} TrackedRead;

static List *tracked = NIL;		/* of TrackedRead *, in TopMemoryContext */
static Oid	copy_relid = InvalidOid;	/* COPY TO in progress: its own event ... */
static bool copy_by_executor = false;	/* ... unless its query records it (row-level security) */
static Oid	row_trigger_fn = InvalidOid;
static Oid	transition_trigger_fn = InvalidOid;
static bool row_trigger_fn_valid = false;
static bool xact_callback_registered = false;

static void
reset_trigger_fn(Datum arg, int cacheid, uint32 hashvalue)
{
	row_trigger_fn_valid = false;
}

/*
 * The oid of ledger.audit_row_trigger() in this database, or InvalidOid when the extension
 * is not installed here; also looks up ledger.audit_transition_trigger().
 */
static Oid
audit_trigger_function(void)
{
	if (!row_trigger_fn_valid)
	{
		row_trigger_fn = LookupFuncName(list_make2(makeString("ledger"), makeString("audit_row_trigger")),
										0, NULL, true);
		transition_trigger_fn = LookupFuncName(list_make2(makeString("ledger"),
														  makeString("audit_transition_trigger")),
											   0, NULL, true);
		row_trigger_fn_valid = true;
	}
	return row_trigger_fn;
}

bool
audit_is_audited_relation(Relation rel)
{
	Oid			fn;
	int			i;

	if (rel->trigdesc == NULL)
		return false;
	fn = audit_trigger_function();
	if (!OidIsValid(fn))
		return false;
	for (i = 0; i < rel->trigdesc->numtriggers; i++)
	{
		Oid			tgfoid = rel->trigdesc->triggers[i].tgfoid;

		if (tgfoid == fn || (OidIsValid(transition_trigger_fn) && tgfoid == transition_trigger_fn))
			return true;
	}
	return false;
}

/* Does test hold for relid, a table or partitioned table? */
bool
guard_table_test(Oid relid, bool (*test) (Relation rel))
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

static bool
audited_relid(Oid relid)
{
	return guard_table_test(relid, audit_is_audited_relation);
}

/* A table of the audit trail itself. */
static bool
is_trail_relation(Oid relid)
{
	Oid			nsp;
	char	   *name;

	if (!OidIsValid(relid))
		return false;
	nsp = get_rel_namespace(relid);
	if (!OidIsValid(nsp) || nsp != get_namespace_oid("ledger", true))
		return false;
	name = get_rel_name(relid);
	return name != NULL && strncmp(name, "audit_", 6) == 0;
}

/* A function or procedure in schema ledger (the extension's own). */
static bool
is_ledger_function(Oid fn)
{
	Oid			nsp;

	if (!OidIsValid(fn))
		return false;
	nsp = get_func_namespace(fn);
	return OidIsValid(nsp) && nsp == get_namespace_oid("ledger", true);
}

/* Trigger names beginning mnl_ are the extension's (audit triggers, the write gate). */
static bool
is_audit_trigger_name(const char *name)
{
	return strncmp(name, RESERVED_PREFIX, strlen(RESERVED_PREFIX)) == 0;
}

/* Refuse a statement (42501) and record the refusal; every guard of the extension uses it. */
void
guard_refuse(Oid relid, const char *what, const char *hint)
{
	char		detail[256];

	snprintf(detail, sizeof(detail), "refused: %s", what);
	audit_refuse(relid, detail, AUDIT_MAY_DROP,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("%s", what),
				  errhint("%s", hint)));
}

/* ---------------------------------------------------------------------------------------
 * Reads and denials through the executor
 * ---------------------------------------------------------------------------------------
 */

static TrackedRead *
find_tracked(QueryDesc *qd)
{
	ListCell   *lc;

	foreach(lc, tracked)
	{
		TrackedRead *t = lfirst(lc);

		if (t->qd == qd)
			return t;
	}
	return NULL;
}

/*
 * The "select" record of one relation a statement read: with the keys of the rows it
 * returned when the relation is protected, over as many events as the keys need (the row
 * count on the first).
 */
static void
emit_read(Oid relid, ReadKeySet *ks, uint64 rows, uint64 query_id, const char *detail,
		  const AuditActor *actor, bool must_log)
{
	List	   *elems;
	Size		max = audit_emit_max_keys();
	const char **keys;
	int		   *starts;			/* the first element of each part */
	int			nparts = 0;
	int			part;
	int			i;
	Size		len = 0;

	if (ks == NULL || read_keys_empty(ks))
	{
		audit_emit_keys(AUDIT_KIND_SELECT, relid, (int64) rows, true, query_id, detail, NULL, 0,
						actor, must_log);
		return;
	}
	/* parts: as many whole elements each as fit in one event (an element is half of that) */
	elems = read_keys_encode(ks, max / 2);
	keys = palloc(sizeof(char *) * list_length(elems));
	starts = palloc(sizeof(int) * (list_length(elems) + 1));
	for (i = 0; i < list_length(elems); i++)
	{
		keys[i] = list_nth(elems, i);
		if (i == 0 || len + strlen(keys[i]) + 1 > max)
		{
			starts[nparts++] = i;
			len = 0;
		}
		len += strlen(keys[i]) + 1;
	}
	starts[nparts] = list_length(elems);
	for (part = 0; part < nparts; part++)
	{
		char		d[256];

		if (nparts == 1)
			snprintf(d, sizeof(d), "%s", detail ? detail : "");
		else
			snprintf(d, sizeof(d), "%s%srow keys, part %d of %d", detail ? detail : "",
					 detail ? "; " : "", part + 1, nparts);
		audit_emit_keys(AUDIT_KIND_SELECT, relid, (int64) rows, part == 0, query_id, d,
						keys + starts[part], starts[part + 1] - starts[part], actor, must_log);
	}
}

/* The records of a statement's reads; must_log: an ERROR when one cannot be recorded. */
static void
emit_reads(TrackedRead *t, const char *detail, bool must_log)
{
	MemoryContext old = MemoryContextSwitchTo(t->cxt);
	int			i;

	for (i = 0; i < list_length(t->relids); i++)
	{
		t->actor.relation_name = list_nth(t->relnames, i);
		emit_read(list_nth_oid(t->relids, i), list_nth(t->keysets, i), t->rows, t->query_id,
				  detail ? detail : t->copy ? "copy to" : NULL, &t->actor, must_log);
	}
	MemoryContextSwitchTo(old);
}

/* Free a tracked statement: its wrapped scans first (the executor may free their nodes). */
static void
free_tracked(TrackedRead *t)
{
	read_scan_detach(t->scans);
	MemoryContextDelete(t->cxt);
}

static void
forget_tracked(TrackedRead *t)
{
	tracked = list_delete_ptr(tracked, t);
	free_tracked(t);
}

/*
 * A statement that failed after it started reading: recorded, with what it had returned.
 * Called while a transaction aborts: nothing may raise an error here.
 */
static void
emit_failed_reads(TrackedRead *t)
{
	emit_reads(t, "statement failed", false);
}

/* A subtransaction that fails ends its statements without ExecutorEnd: record what they read. */
static void
hooks_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	ListCell   *lc;

	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	foreach(lc, tracked)
	{
		TrackedRead *t = lfirst(lc);

		if (t->subid >= mySubid)
		{
			emit_failed_reads(t);
			free_tracked(t);
			tracked = foreach_delete_current(tracked, lc);
		}
	}
}

static void
hooks_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
	{
		/*
		 * Normally empty.  A cursor whose portal failed in a rolled-back savepoint never
		 * reaches ExecutorEnd: record what it read, and let nothing outlive the transaction.
		 */
		while (tracked != NIL)
		{
			TrackedRead *t = linitial(tracked);

			emit_failed_reads(t);
			forget_tracked(t);
		}
	}
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		/* Statements that read audited rows and then failed: what was seen was seen. */
		while (tracked != NIL)
		{
			TrackedRead *t = linitial(tracked);

			emit_failed_reads(t);
			forget_tracked(t);
		}
		copy_relid = InvalidOid;
	}
}

/* Are the column-level privileges of cols enough for mode (used when table-level is not)? */
static bool
columns_permitted(Oid relid, Oid userid, Bitmapset *cols, AclMode mode)
{
	int			col = -1;

	if (bms_is_empty(cols))
		return pg_attribute_aclcheck_all(relid, userid, mode, ACLMASK_ANY) == ACLCHECK_OK;
	while ((col = bms_next_member(cols, col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

		if (attno == InvalidAttrNumber)
		{
			if (pg_attribute_aclcheck_all(relid, userid, mode, ACLMASK_ALL) != ACLCHECK_OK)
				return false;
		}
		else if (pg_attribute_aclcheck(relid, attno, userid, mode) != ACLCHECK_OK)
			return false;
	}
	return true;
}

/*
 * Would the server's permission check on this range table entry pass?  The same rules as
 * the executor's own check (table privileges, else column privileges), without calling
 * ExecutorCheckPerms_hook: other extensions (pgaudit) expect that hook only from inside
 * their own executor start.
 */
static bool
rte_permitted(RangeTblEntry *rte)
{
	Oid			userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	AclMode		required = rte->requiredPerms;
	AclMode		have = pg_class_aclmask(rte->relid, userid, required, ACLMASK_ALL);
	AclMode		missing = required & ~have;

	if (missing == 0)
		return true;
	if (missing & ~(ACL_SELECT | ACL_INSERT | ACL_UPDATE))
		return false;			/* DELETE, TRUNCATE, ...: no column-level grant helps */
	if ((missing & ACL_SELECT) && !columns_permitted(rte->relid, userid, rte->selectedCols, ACL_SELECT))
		return false;
	if ((missing & ACL_INSERT) && !columns_permitted(rte->relid, userid, rte->insertedCols, ACL_INSERT))
		return false;
	if ((missing & ACL_UPDATE) && !columns_permitted(rte->relid, userid, rte->updatedCols, ACL_UPDATE))
		return false;
	return true;
}

static void
mnl_ExecutorStart(QueryDesc *qd, int eflags)
{
	List	   *reads = NIL;
	ListCell   *lc;
	Index		rti = 0;

	if (explain_depth > 0 && mnl_internal_depth == 0 && !IsParallelWorker())
		explain_check(qd->plannedstmt->rtable);
	if (!(eflags & EXEC_FLAG_EXPLAIN_ONLY))
	{
		staff_session_check(NULL);
		/* the query of a COPY (query) TO: bulk export of protected rows needs the export duty */
		if ((export_copy_depth > 0 || export_copying_query != NULL) && mnl_internal_depth == 0 &&
			!IsParallelWorker() && !InNoForceRLSOperation())
			export_check_query(qd->plannedstmt->rtable);
		if (mnl_internal_depth == 0 && !IsParallelWorker() && MyBackendType == B_BACKEND)
			export_check_copying(qd);
	}
	/* InNoForceRLSOperation: a foreign-key check, not a read by the user. */
	if (!IsParallelWorker() && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) && mnl_internal_depth == 0 &&
		!InNoForceRLSOperation() &&
		OidIsValid(audit_trigger_function()))
	{
		List	   *results = qd->plannedstmt->resultRelations;
		bool		returns_rows = qd->operation == CMD_SELECT || qd->plannedstmt->hasReturning;

		foreach(lc, qd->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);

			rti++;
			if (rte->rtekind != RTE_RELATION || rte->requiredPerms == 0 ||
				!audited_relid(rte->relid))
				continue;
			if (!rte_permitted(rte))
			{
				char		detail[128];

				snprintf(detail, sizeof(detail), "permission denied (%s)",
						 qd->operation == CMD_SELECT ? "select" :
						 qd->operation == CMD_INSERT ? "insert" :
						 qd->operation == CMD_UPDATE ? "update" :
						 qd->operation == CMD_DELETE ? "delete" : "other");
				audit_emit(AUDIT_KIND_DENIED, rte->relid, 0, false,
						   qd->plannedstmt->queryId, detail, true);
				continue;		/* the server raises the error below */
			}
			/*
			 * A statement reads a table it selects from, or one it changes when it returns
			 * rows; a protected table it changes is read whenever the statement reads its
			 * columns (a WHERE, SET or ON CONFLICT over them: side effects there see the row).
			 */
			if ((rte->requiredPerms & ACL_SELECT) &&
				(returns_rows || !list_member_int(results, (int) rti) ||
				 (read_rel_info(rte->relid) != NULL && read_rel_info(rte->relid)->protected)))
				reads = list_append_unique_oid(reads, rte->relid);
		}
	}

	/*
	 * A cursor WITH HOLD outlives its transaction and is read from a store that no executor
	 * sees: over protected rows it could be fetched by another identity of the session (a
	 * pooled connection's next staff member) with no record naming them.
	 */
	if (reads != NIL && ActivePortal != NULL && (ActivePortal->cursorOptions & CURSOR_OPT_HOLD) &&
		!superuser())
	{
		foreach(lc, reads)
			if (read_rel_info(lfirst_oid(lc)) != NULL && read_rel_info(lfirst_oid(lc))->protected)
				guard_refuse(lfirst_oid(lc), "a cursor WITH HOLD cannot read a protected table",
							 "Fetch the rows within the transaction (a cursor without HOLD); bulk export needs the export duty.");
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(qd, eflags);
	else
		standard_ExecutorStart(qd, eflags);

	if (reads != NIL)
	{
		MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "mynumber_ledger read",
												  ALLOCSET_SMALL_SIZES);
		MemoryContext old = MemoryContextSwitchTo(cxt);
		TrackedRead *t = palloc0(sizeof(TrackedRead));

		t->qd = qd;
		t->subid = GetCurrentSubTransactionId();
		t->cxt = cxt;
		t->relids = list_copy(reads);
		t->query_id = qd->plannedstmt->queryId;
		audit_actor_current(&t->actor);
		foreach(lc, reads)
		{
			Oid			relid = lfirst_oid(lc);
			const ReadRelInfo *info = read_rel_info(relid);
			ReadKeySet *ks = NULL;

			if (info != NULL && info->protected)
			{
				ks = read_keys_create(info, cxt);
				if (ks != NULL)
					t->scans = list_concat(t->scans, read_scan_attach(qd->planstate, info, ks, cxt));
				t->reader = GetUserId();
			}
			t->keysets = lappend(t->keysets, ks);
			t->relnames = lappend(t->relnames,
								  info != NULL ? pstrdup(info->relname) : audit_relation_name(relid));
			if (relid == copy_relid)
			{
				t->copy = true;
				copy_by_executor = true;
			}
		}
		MemoryContextSwitchTo(TopMemoryContext);
		tracked = lappend(tracked, t);
		MemoryContextSwitchTo(old);
		if (!xact_callback_registered)
		{
			RegisterXactCallback(hooks_xact_callback, NULL);
			RegisterSubXactCallback(hooks_subxact_callback, NULL);
			xact_callback_registered = true;
		}
		/* Fail closed: no audited row leaves the server unless its read can be recorded. */
		if (!audit_emit_possible())
			audit_emit(AUDIT_KIND_SELECT, linitial_oid(reads), 0, true, 0, NULL, true);
	}
}

static void
mnl_ExecutorRun(QueryDesc *qd, ScanDirection direction, uint64 count, bool execute_once)
{
	TrackedRead *t = tracked != NIL ? find_tracked(qd) : NULL;

	/* a portal bound earlier and executed now (protocol Execute): the identity is checked again */
	staff_session_check(NULL);

	/*
	 * A cursor over protected rows is fetched by the role that opened it: its record names
	 * that role (a SET ROLE between DECLARE and FETCH would have the rows read under the
	 * other role's sight and recorded under the first's).
	 */
	if (t != NULL && OidIsValid(t->reader) && GetUserId() != t->reader && mnl_internal_depth == 0)
		guard_refuse(InvalidOid, "a cursor over a protected table is read only by the role that opened it",
					 "Open the cursor again as this role.");
	if (prev_ExecutorRun)
		prev_ExecutorRun(qd, direction, count, execute_once);
	else
		standard_ExecutorRun(qd, direction, count, execute_once);
	if (t != NULL)
		t->rows += qd->estate->es_processed;
}

static void
mnl_ExecutorEnd(QueryDesc *qd)
{
	TrackedRead *t = tracked != NIL ? find_tracked(qd) : NULL;

	if (t != NULL)
	{
		/* the wrapped scan nodes go with the plan state; the key sets stay till recorded */
		tracked = list_delete_ptr(tracked, t);
		read_scan_detach(t->scans);
		t->scans = NIL;
	}
	if (qd == export_copying_query)
		export_copying_query = NULL;
	PG_TRY();
	{
		if (prev_ExecutorEnd)
			prev_ExecutorEnd(qd);
		else
			standard_ExecutorEnd(qd);
		if (t != NULL)
			emit_reads(t, NULL, true);
	}
	PG_FINALLY();
	{
		if (t != NULL)
			MemoryContextDelete(t->cxt);
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------------------------
 * Utility statements: COPY TO, and the guard
 * ---------------------------------------------------------------------------------------
 */

static Oid
rangevar_relid(RangeVar *rv)
{
	return rv ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

static void
guard_alter_table(AlterTableStmt *stmt)
{
	Oid			relid = rangevar_relid(stmt->relation);
	ListCell   *lc;

	if (!OidIsValid(relid))
		return;
	if (is_trail_relation(relid))
		guard_refuse(relid, "the audit trail cannot be altered",
			   "The trail is append-only; the retention procedure removes whole expired partitions.");
	if (!audited_relid(relid))
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);

		switch (cmd->subtype)
		{
			case AT_EnableTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
				if (cmd->name && is_audit_trigger_name(cmd->name))
					guard_refuse(relid, "the audit triggers of an audited table cannot be disabled",
						   "Only ledger.unaudit_table(), run by a superuser, removes them.");
				break;
			case AT_DetachPartition:
			case AT_DetachPartitionFinalize:
				guard_refuse(relid, "a partition of an audited table cannot be detached",
					   "Detaching removes the partition's audit triggers; a superuser can run ledger.unaudit_table() first.");
				break;
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				guard_refuse(relid, "the audit triggers of an audited table cannot be disabled",
					   "Name the other triggers one by one; the audit triggers stay enabled.");
				break;
			default:
				break;
		}
	}
}

static void
guard_drop(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		Node	   *obj = lfirst(lc);

		if (stmt->removeType == OBJECT_TRIGGER)
		{
			List	   *names = castNode(List, obj);
			char	   *trigname = strVal(llast(names));
			RangeVar   *rv = makeRangeVarFromNameList(list_truncate(list_copy(names),
																	list_length(names) - 1));
			Oid			relid = rangevar_relid(rv);

			if (is_audit_trigger_name(trigname))
				guard_refuse(relid, "the audit triggers of an audited table cannot be dropped",
					   "Only ledger.unaudit_table(), run by a superuser, removes them.");
			if (is_trail_relation(relid))
				guard_refuse(relid, "the audit trail's guard triggers cannot be dropped",
					   "The trail is append-only for every role.");
		}
		else if (stmt->removeType == OBJECT_FUNCTION || stmt->removeType == OBJECT_PROCEDURE ||
				 stmt->removeType == OBJECT_ROUTINE || stmt->removeType == OBJECT_AGGREGATE)
		{
			Oid			fn = LookupFuncWithArgs(stmt->removeType, castNode(ObjectWithArgs, obj), true);

			if (is_ledger_function(fn))
				guard_refuse(InvalidOid, "the extension's functions cannot be dropped on their own",
					   "DROP EXTENSION mynumber_ledger removes the extension as a whole.");
		}
		else if (stmt->removeType == OBJECT_TABLE || stmt->removeType == OBJECT_SEQUENCE ||
				 stmt->removeType == OBJECT_INDEX)
		{
			RangeVar   *rv = makeRangeVarFromNameList(castNode(List, obj));
			Oid			relid = rangevar_relid(rv);

			if (is_trail_relation(relid))
				guard_refuse(relid, "the audit trail cannot be dropped",
					   "The trail is append-only; the retention procedure removes whole expired partitions.");
		}
		else if (stmt->removeType == OBJECT_SCHEMA && strcmp(strVal(obj), "ledger") == 0)
			guard_refuse(InvalidOid, "the ledger schema cannot be dropped on its own",
				   "DROP EXTENSION mynumber_ledger removes the extension with its schema objects.");
	}
}

static void
guard_utility(Node *stmt)
{
	/* The extension's own code, and its install and upgrade scripts, build the trail. */
	if (audit_guard_bypass)
		return;
	if (creating_extension &&
		CurrentExtensionObject == get_extension_oid("mynumber_ledger", true))
		return;
	protect_guard_utility(stmt);
	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			guard_alter_table((AlterTableStmt *) stmt);
			break;
		case T_DropStmt:
			guard_drop((DropStmt *) stmt);
			break;
		case T_RenameStmt:
			{
				RenameStmt *r = (RenameStmt *) stmt;

				if (r->renameType == OBJECT_TRIGGER && r->subname &&
					(is_audit_trigger_name(r->subname) || is_trail_relation(rangevar_relid(r->relation))))
					guard_refuse(rangevar_relid(r->relation), "the audit triggers cannot be renamed",
						   "They are found by name; leave them as they are.");
				if ((r->renameType == OBJECT_FUNCTION || r->renameType == OBJECT_PROCEDURE ||
					 r->renameType == OBJECT_ROUTINE) &&
					is_ledger_function(LookupFuncWithArgs(r->renameType, castNode(ObjectWithArgs, r->object), true)))
					guard_refuse(InvalidOid, "the extension's functions cannot be renamed",
						   "They are called by name.");
				if (r->relation && is_trail_relation(rangevar_relid(r->relation)))
					guard_refuse(rangevar_relid(r->relation), "the audit trail cannot be renamed",
						   "The trail's tables keep their names.");
				break;
			}
		case T_CreateFunctionStmt:
			{
				CreateFunctionStmt *c = (CreateFunctionStmt *) stmt;
				char	   *schema;
				char	   *name;

				DeconstructQualifiedName(c->funcname, &schema, &name);
				if (c->replace && schema != NULL && strcmp(schema, "ledger") == 0)
					guard_refuse(InvalidOid, "the extension's functions cannot be replaced",
						   "Upgrade the extension with ALTER EXTENSION mynumber_ledger UPDATE.");
				break;
			}
		case T_AlterFunctionStmt:
			{
				AlterFunctionStmt *a = (AlterFunctionStmt *) stmt;

				if (is_ledger_function(LookupFuncWithArgs(a->objtype, a->func, true)))
					guard_refuse(InvalidOid, "the extension's functions cannot be altered",
						   "Upgrade the extension with ALTER EXTENSION mynumber_ledger UPDATE.");
				break;
			}
		case T_CreateTrigStmt:
			{
				CreateTrigStmt *c = (CreateTrigStmt *) stmt;

				/* A superuser may: pg_restore recreates the triggers of audited tables. */
				if (is_audit_trigger_name(c->trigname) && !superuser())
					guard_refuse(rangevar_relid(c->relation), "audit trigger names are reserved",
						   "Use ledger.audit_table() to audit a table; name your own triggers differently.");
				break;
			}
		case T_TruncateStmt:
			{
				ListCell   *lc;

				foreach(lc, ((TruncateStmt *) stmt)->relations)
				{
					Oid			relid = rangevar_relid(lfirst(lc));

					if (is_trail_relation(relid))
						guard_refuse(relid, "the audit trail cannot be truncated",
							   "The trail is append-only; the retention procedure removes whole expired partitions.");
				}
				break;
			}
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *a = (AlterObjectSchemaStmt *) stmt;

				if (a->relation && is_trail_relation(rangevar_relid(a->relation)))
					guard_refuse(rangevar_relid(a->relation), "the audit trail cannot be moved",
						   "The trail stays in schema ledger.");
				break;
			}
		case T_AlterOwnerStmt:
			{
				AlterOwnerStmt *a = (AlterOwnerStmt *) stmt;

				if (a->relation && is_trail_relation(rangevar_relid(a->relation)))
					guard_refuse(rangevar_relid(a->relation), "the owner of the audit trail cannot be changed",
						   "The trail belongs to the extension's owner.");
				break;
			}
		default:
			break;
	}
}

static void
mnl_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	Oid			copy_read = InvalidOid;
	bool		is_copy_query = false;
	bool		is_explain = IsA(stmt, ExplainStmt);

	if (!IsParallelWorker())
	{
		staff_session_check(stmt);
		guard_utility(stmt);
		if (IsA(stmt, CopyStmt) && !((CopyStmt *) stmt)->is_from && mnl_internal_depth == 0)
		{
			if (((CopyStmt *) stmt)->relation != NULL)
			{
				Oid			relid = rangevar_relid(((CopyStmt *) stmt)->relation);

				if (OidIsValid(relid))
					export_check_relation(relid);
			}
			else
				is_copy_query = true;
		}
		/* a utility that stores what it evaluates: its reads are copies (export.c) */
		if (mnl_internal_depth == 0 && export_stores_rows(stmt))
			is_copy_query = true;
		if (IsA(stmt, CopyStmt) && !((CopyStmt *) stmt)->is_from &&
			((CopyStmt *) stmt)->relation != NULL &&
			OidIsValid(audit_trigger_function()))
		{
			Oid			relid = rangevar_relid(((CopyStmt *) stmt)->relation);

			if (OidIsValid(relid) && audited_relid(relid))
			{
				if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
					pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
					audit_emit(AUDIT_KIND_DENIED, relid, 0, false, 0, "permission denied (copy to)", true);
				else
				{
					copy_read = relid;
					if (!audit_emit_possible())
						audit_emit(AUDIT_KIND_SELECT, relid, 0, true, 0, NULL, true);
				}
			}
		}
	}

	copy_relid = copy_read;
	copy_by_executor = false;
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
		copy_relid = InvalidOid;
		if (is_copy_query)
			export_copy_depth--;
		if (is_explain)
			explain_depth--;
	}
	PG_END_TRY();

	/* a COPY read through a query (row-level security) was recorded with its rows' keys */
	if (OidIsValid(copy_read) && !copy_by_executor)
		audit_emit(AUDIT_KIND_SELECT, copy_read, qc ? (int64) qc->nprocessed : 0, qc != NULL,
				   pstmt->queryId, "copy to", true);
	copy_by_executor = false;
}

/* ---------------------------------------------------------------------------------------
 * Sessions
 * ---------------------------------------------------------------------------------------
 */

static void
record_logout(int code, Datum arg)
{
	char		detail[64];
	long		secs;
	int			usecs;

	TimestampDifference(MyStartTimestamp, GetCurrentTimestamp(), &secs, &usecs);
	snprintf(detail, sizeof(detail), "session lasted %ld.%03d s", secs, usecs / 1000);
	audit_emit(AUDIT_KIND_LOGOUT, InvalidOid, 0, false, 0, detail, false);
}

static void
mnl_ClientAuthentication(Port *port, int status)
{
	if (prev_ClientAuthentication)
		prev_ClientAuthentication(port, status);
	if (!mnl_audit_sessions)
		return;
	if (status == STATUS_OK)
	{
		audit_emit(AUDIT_KIND_LOGIN, InvalidOid, 0, false, 0, NULL, false);
		before_shmem_exit(record_logout, (Datum) 0);
	}
	else
		audit_emit(AUDIT_KIND_LOGIN_FAILED, InvalidOid, 0, false, 0, "authentication failed", false);
}

/* ---------------------------------------------------------------------------------------
 * The trail's own guard trigger
 * ---------------------------------------------------------------------------------------
 */

Datum
audit_trail_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ledger.audit_trail_guard must be called as a trigger"),
				 errhint("It guards the audit trail's tables.")));
	/* Only the extension's own code inserts (sealed blocks); nothing ever updates or deletes. */
	if (audit_guard_bypass && TRIGGER_FIRED_BY_INSERT(td->tg_event))
		return TRIGGER_FIRED_FOR_ROW(td->tg_event) ? PointerGetDatum(td->tg_trigtuple) : PointerGetDatum(NULL);
	guard_refuse(RelationGetRelid(td->tg_relation), "the audit trail is append-only",
		   "Nobody can change or remove audit records through SQL; the retention procedure removes whole expired partitions.");
	return PointerGetDatum(NULL);
}

void
audit_hooks_install(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = mnl_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = mnl_ExecutorRun;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = mnl_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = mnl_ProcessUtility;
	prev_ClientAuthentication = ClientAuthentication_hook;
	ClientAuthentication_hook = mnl_ClientAuthentication;
	read_scan_install();
	CacheRegisterSyscacheCallback(PROCOID, reset_trigger_fn, (Datum) 0);
}
