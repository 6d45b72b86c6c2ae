/*
 * reads/hooks.c — what the server tells the audit trail without being asked: reads of
 * audited tables, denied attempts on them, and sessions.
 *
 *   ExecutorStart   denied pre-check (the executor's privilege rules) for every audited
 *                   relation the statement touches, recorded before the server refuses it;
 *                   refuses early when a read cannot be recorded (writer down); a cursor
 *                   WITH HOLD over a protected table is refused (no executor sees its reads)
 *   ExecutorRun     counts rows of statements that read audited relations; a cursor over a
 *                   protected table is fetched only by the role that opened it
 *   ExecutorEnd     a "select" event per audited relation read, with the row count, the
 *                   keys of the rows a protected table returned (reads/scan.c) and the
 *                   query id (never the query text, which may hold literals)
 *   ProcessUtility  COPY ... TO of an audited table (a read)
 *   ClientAuthentication  login / login_failed; logout at backend exit
 *
 * The guard's hooks (guard/hooks.c) run before these.  Every hook saves the previous one
 * and calls it (pgaudit and others keep working).  Events that must outlive the
 * transaction go through the audit room's queue.
 *
 * Must never: record statement text or parameter values; skip the chain of hooks.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
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
#include "tcop/tcopprot.h"
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

#include "audit/audit.h"
#include "guard/guard.h"
#include "core/mynumber_ledger.h"
#include "reads/reads.h"
#include "staff/session.h"

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
	List	   *scans;			/* the wrapped scan nodes that fill them (reads/scan.c) */
	uint64		rows;
	uint64		query_id;
	bool		copy;			/* the query of a COPY ... TO of a protected table */
	AuditActor	actor;			/* who read (recorded even if the statement fails) */
	bool		failed_recorded;	/* its failure was recorded before the error was sent */
	bool		announced;		/* a keyless read recorded before a message to the client */
	bool		ran;			/* the executor has run it: it may have read rows */
	Oid			reader;			/* the role that started a read of a protected table */
} TrackedRead;

static List *tracked = NIL;		/* of TrackedRead *, in TopMemoryContext */
/*
 * Reads of statements that failed inside a subtransaction whose "statement failed" record
 * could not be queued then (the queue full; an abort may not wait or raise): the function
 * that caught the error may still answer what they read, so the record is owed, and made
 * (waiting for room, or failing the statement) before the next statement runs or ends and
 * before anything is answered.
 */
static List *owed = NIL;		/* of TrackedRead *, scans detached */
static Oid	copy_relid = InvalidOid;	/* COPY TO in progress: its own event ... */
static bool copy_by_executor = false;	/* ... unless its query records it (row-level security) */
static bool copy_announced = false;	/* ... recorded before its first rows left (messages.c) */
static bool xact_callback_registered = false;
static QueryDesc *client_fetch = NULL;	/* the cursor the client's own FETCH statement runs */
static bool worker_part_started = false;	/* a parallel worker: its part of the leader's plan started */

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
static bool
emit_read(Oid relid, ReadKeySet *ks, uint64 rows, bool has_rows, uint64 query_id,
		  const char *detail, const AuditActor *actor, bool must_log)
{
	List	   *elems;
	Size		max = audit_emit_max_keys();
	const char **keys;
	int		   *starts;			/* the first element of each part */
	int			nparts = 0;
	int			part;
	int			i;
	Size		len = 0;
	bool		ok = true;

	if (ks == NULL || read_keys_empty(ks))
		return audit_emit_read(relid, (int64) rows, has_rows, query_id, detail, NULL, 0, actor,
							   must_log);
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
		ok &= audit_emit_read(relid, (int64) rows, has_rows && part == 0, query_id, d,
							  keys + starts[part], starts[part + 1] - starts[part], actor, must_log);
	}
	return ok;
}

/*
 * The records of a statement's reads; must_log: an ERROR when one cannot be recorded.
 * has_rows: the statement has ended, its row count is known.  False when one was not queued.
 */
static bool
emit_reads(TrackedRead *t, const char *detail, bool has_rows, bool must_log)
{
	MemoryContext old = MemoryContextSwitchTo(t->cxt);
	bool		ok = true;
	int			i;

	for (i = 0; i < list_length(t->relids); i++)
	{
		t->actor.relation_name = list_nth(t->relnames, i);
		ok &= emit_read(list_nth_oid(t->relids, i), list_nth(t->keysets, i), t->rows, has_rows,
						t->query_id, detail ? detail : t->copy ? "copy to" : NULL, &t->actor,
						must_log);
	}
	MemoryContextSwitchTo(old);
	return ok;
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
static bool
emit_failed_reads(TrackedRead *t)
{
	if (!t->failed_recorded)
		t->failed_recorded = emit_reads(t, "statement failed", true, false);
	return t->failed_recorded;
}

/* The owed records, made now: must_log, waiting for room (or an ERROR); else without waiting. */
static bool
pay_owed(bool must_log)
{
	bool		ok = true;

	while (owed != NIL)
	{
		TrackedRead *t = linitial(owed);

		if (!emit_reads(t, "statement failed", true, must_log))
		{
			ok = false;
			break;
		}
		owed = list_delete_first(owed);
		MemoryContextDelete(t->cxt);
	}
	return ok;
}

/*
 * A statement that failed after it read: its "statement failed" record now, or, when the
 * full queue has no room (an abort may not wait), owed (pay_owed) with its scans detached.
 */
static void
record_failed_or_owe(TrackedRead *t)
{
	MemoryContext old;

	if (emit_failed_reads(t))
	{
		free_tracked(t);
		return;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	read_scan_detach(t->scans);
	t->scans = NIL;
	owed = lappend(owed, t);
	MemoryContextSwitchTo(old);
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
			tracked = foreach_delete_current(tracked, lc);
			record_failed_or_owe(t);
		}
	}
}

static void
hooks_xact_callback(XactEvent event, void *arg)
{
	/* the reads of statements that ended inside others (a cursor closed at commit): durable now */
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		(void) pay_owed(true);
		audit_reads_wait();
	}
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
		/*
		 * Statements that read audited rows and then failed: what was seen was seen (a
		 * sequence's value, an advisory lock, a message outlive the transaction).  A record
		 * the full queue has no room for now is owed: the session's next statement makes it,
		 * waiting for room, before it runs (or fails), and its end makes it patiently.
		 */
		while (tracked != NIL)
		{
			TrackedRead *t = linitial(tracked);

			tracked = list_delete_first(tracked);
			record_failed_or_owe(t);
		}
		copy_relid = InvalidOid;
		audit_reads_forget();
		(void) pay_owed(false);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE)
	{
		/* a committed transaction paid before it committed */
		(void) pay_owed(false);
		while (owed != NIL)
		{
			TrackedRead *t = linitial(owed);

			owed = list_delete_first(owed);
			MemoryContextDelete(t->cxt);
		}
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
rte_permitted(RangeTblEntry *rte, const MnlRtePerms *perms)
{
	Oid			userid = OidIsValid(perms->checkAsUser) ? perms->checkAsUser : GetUserId();
	AclMode		required = perms->requiredPerms;
	AclMode		have = pg_class_aclmask(rte->relid, userid, required, ACLMASK_ALL);
	AclMode		missing = required & ~have;

	if (missing == 0)
		return true;
	if (missing & ~(ACL_SELECT | ACL_INSERT | ACL_UPDATE))
		return false;			/* DELETE, TRUNCATE, ...: no column-level grant helps */
	if ((missing & ACL_SELECT) && !columns_permitted(rte->relid, userid, perms->selectedCols, ACL_SELECT))
		return false;
	if ((missing & ACL_INSERT) && !columns_permitted(rte->relid, userid, perms->insertedCols, ACL_INSERT))
		return false;
	if ((missing & ACL_UPDATE) && !columns_permitted(rte->relid, userid, perms->updatedCols, ACL_UPDATE))
		return false;
	return true;
}

/*
 * A parallel worker runs one part of the leader's plan (its first executor start: the leader
 * tracks that read), and may run a PARALLEL SAFE function of the query, whose own queries
 * start after it.  Their reads could not be recorded (nor waited for): a query of such a
 * function that reads an audited table is refused.
 */
static void
refuse_read_in_worker(QueryDesc *qd)
{
	ListCell   *lc;

	foreach(lc, qd->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst(lc);
		MnlRtePerms perms;

		if (rte->rtekind != RTE_RELATION)
			continue;
		mnl_rte_perms(qd->plannedstmt, rte, &perms);
		if (perms.requiredPerms == 0)
			continue;
		if (mnl_relation_test(rte->relid, audit_is_audited_relation) || audit_is_trail_relation(rte->relid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("an audited table is not read by a function running in a parallel worker"),
					 errdetail("The read could not be recorded."),
					 errhint("Mark the function PARALLEL RESTRICTED (or UNSAFE), or run the query without parallel workers.")));
	}
}

static void
mnl_ExecutorStart(QueryDesc *qd, int eflags)
{
	List	   *reads = NIL;
	ListCell   *lc;
	Index		rti = 0;

	if (owed != NIL)
		(void) pay_owed(true);
	if (IsParallelWorker() && !worker_part_started)
		worker_part_started = true;
	else if (IsParallelWorker() && mnl_internal_depth == 0 &&
			 !(eflags & EXEC_FLAG_EXPLAIN_ONLY) && audit_trail_installed())
		refuse_read_in_worker(qd);

	/* a foreign key's own check or action query, not a read by the user (guard/fk_actions.c) */
	if (!IsParallelWorker() && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) && mnl_internal_depth == 0 &&
		!guard_fk_key_query(eflags) &&
		audit_trail_installed())
	{
		List	   *results = qd->plannedstmt->resultRelations;
		bool		returns_rows = qd->operation == CMD_SELECT || qd->plannedstmt->hasReturning;

		foreach(lc, qd->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst(lc);
			MnlRtePerms perms;
			bool		audited;

			rti++;
			if (rte->rtekind != RTE_RELATION)
				continue;
			mnl_rte_perms(qd->plannedstmt, rte, &perms);
			if (perms.requiredPerms == 0)
				continue;
			audited = mnl_relation_test(rte->relid, audit_is_audited_relation);
			/* an attempt on the trail itself is recorded too (its reads are not) */
			if (!audited && !audit_is_trail_relation(rte->relid))
				continue;
			if (!rte_permitted(rte, &perms))
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
			if (!audited)
				continue;
			/*
			 * A statement reads a table it selects from, or one it changes when it returns
			 * rows; a protected table it changes is read whenever the statement reads its
			 * columns (a WHERE, SET or ON CONFLICT over them: side effects there see the row).
			 */
			if ((perms.requiredPerms & ACL_SELECT) &&
				(returns_rows || !list_member_int(results, (int) rti) ||
				 (read_rel_info(rte->relid) != NULL && read_rel_info(rte->relid)->protected)))
				reads = list_append_unique_oid(reads, rte->relid);
		}
	}

	/*
	 * A cursor WITH HOLD outlives its transaction and is read from a store that no executor
	 * sees: over protected rows it could be fetched by another identity of the session (a
	 * pooled connection's next staff member) with no record naming them; and whatever its
	 * rows, they leave from that store with no record made durable first (a failed COMMIT
	 * still leaves the cursor).  No role holds a cursor over an audited table.
	 */
	if (reads != NIL && ActivePortal != NULL && (ActivePortal->cursorOptions & CURSOR_OPT_HOLD))
		guard_refuse(linitial_oid(reads), "a cursor WITH HOLD cannot read an audited or protected table",
					 "Fetch the rows within the transaction (a cursor without HOLD); bulk export needs the export duty.");
	if (reads != NIL)
		staff_session_data_read();
	/* ... nor a function its query runs; and a portal this runs inside carries the rows */
	foreach(lc, reads)
	{
		const ReadRelInfo *info = read_rel_info(lfirst_oid(lc));

		read_carry_read(lfirst_oid(lc), info != NULL && info->protected);
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
		read_messages_wrap();	/* an error or notice waits for these records */
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

/* The rows a statement has read so far, recorded now (and forgotten by the statement). */
static bool
record_so_far(TrackedRead *t, const char *detail, bool must_log)
{
	bool		any_keys = false;
	bool		ok;
	int			i;

	for (i = 0; i < list_length(t->keysets); i++)
	{
		ReadKeySet *ks = list_nth(t->keysets, i);

		if (ks != NULL && !read_keys_empty(ks))
			any_keys = true;
	}
	if (!any_keys && t->announced)
		return true;
	ok = emit_reads(t, detail, false, must_log);
	if (!ok)
		return false;			/* kept: the statement's own record names these rows */
	t->announced = true;
	for (i = 0; i < list_length(t->keysets); i++)
		if (list_nth(t->keysets, i) != NULL)
			read_keys_clear(list_nth(t->keysets, i));
	return ok;
}

/*
 * Does this run answer the client before the read ends?  A portal executed part-way (the
 * extended protocol's row limit: a driver's fetch size), or the client's FETCH statement
 * (the cursor's rows go to the FETCH's store, then to the client).  Not a function's cursor
 * (SPI, or a FETCH it runs) nor a statement run to its end.
 */
static bool
answers_client_before_end(QueryDesc *qd, uint64 count)
{
	CommandDest d = qd->dest != NULL ? qd->dest->mydest : DestNone;

	if ((d == DestRemote || d == DestRemoteExecute || d == DestRemoteSimple) && count != 0)
		return true;
	return qd == client_fetch && d != DestNone;	/* MOVE sends nothing */
}

static void
fetched_so_far(TrackedRead *t)
{
	(void) record_so_far(t, "rows fetched", true);
	audit_reads_wait();
}

static void
mnl_ExecutorRun(MNL_EXECUTOR_RUN_PARAMS)
{
	TrackedRead *t = tracked != NIL ? find_tracked(qd) : NULL;
	int			depth;

	/*
	 * A cursor over protected rows is fetched by the role that opened it: its record names
	 * that role (a SET ROLE between DECLARE and FETCH would have the rows read under the
	 * other role's sight and recorded under the first's).
	 */
	if (t != NULL && OidIsValid(t->reader) && GetUserId() != t->reader && mnl_internal_depth == 0)
		guard_refuse(InvalidOid, "a cursor over a protected table is read only by the role that opened it",
					 "Open the cursor again as this role.");
	/* ... and so is one whose functions read it (reads/carry.c) */
	depth = read_carry_run_begin(qd, mnl_internal_depth > 0, t != NULL && OidIsValid(t->reader));
	if (t != NULL)
		t->ran = true;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(MNL_EXECUTOR_RUN_ARGS);
		else
			standard_ExecutorRun(MNL_EXECUTOR_RUN_ARGS);
	}
	PG_FINALLY();
	{
		read_carry_run_end(depth);
	}
	PG_END_TRY();
	if (t != NULL)
	{
		t->rows += qd->estate->es_processed;
		/*
		 * A cursor's FETCH or a portal executed part-way (a driver's fetch size) answers
		 * the client now, before the read ends: the rows fetched so far are recorded, and
		 * this FETCH is not answered before that record is durable (the read's own record,
		 * when it ends, names the rows after them).
		 */
		if (answers_client_before_end(qd, count))
			fetched_so_far(t);
	}
}

static void
mnl_ExecutorEnd(QueryDesc *qd)
{
	TrackedRead *t = tracked != NIL ? find_tracked(qd) : NULL;

	read_carry_end(qd);
	if (t != NULL)
	{
		/* the wrapped scan nodes go with the plan state; the key sets stay till recorded */
		tracked = list_delete_ptr(tracked, t);
		read_scan_detach(t->scans);
		t->scans = NIL;
	}
	PG_TRY();
	{
		if (prev_ExecutorEnd)
			prev_ExecutorEnd(qd);
		else
			standard_ExecutorEnd(qd);
		if (t != NULL)
			(void) emit_reads(t, NULL, true, true);
		if (owed != NIL)
			(void) pay_owed(true);
		/*
		 * The client's statement (not one a function runs): its result is not answered
		 * before its read records are durable (ledger.audit_read_durable).  Rows already
		 * sent are still in the server's send buffer unless they filled it; the completion
		 * and the commit wait in any case.  And it may not leave the session under a role
		 * other than the one an open portal's stored rows were read by (reads/carry.c).
		 */
		if (qd->sourceText != NULL && qd->sourceText == debug_query_string)
		{
			audit_reads_wait();
			read_carry_check_stores(NULL);
		}
	}
	PG_FINALLY();
	{
		if (t != NULL)
			MemoryContextDelete(t->cxt);
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------------------------
 * Messages to the client (reads/messages.c): an error's text or a notice may carry values
 * of the rows read
 * ---------------------------------------------------------------------------------------
 */

/*
 * Make the records of what was read so far durable before a message reaches the client
 * (ledger.audit_read_durable): a failing statement's reads (ending: recorded now, not again
 * when the transaction aborts), or the rows a running statement has read so far (recorded
 * now and forgotten by the statement, whose own record names the rows after them).  Runs in
 * the middle of error reporting: nothing here may raise an error.  False when a record could
 * not be queued or was not committed in time.
 */
bool
reads_durable_before_message(bool ending)
{
	ListCell   *lc;
	bool		ok = true;

	foreach(lc, tracked)
	{
		TrackedRead *t = lfirst(lc);

		if (!t->ran)
			continue;			/* refused before it read anything */
		if (ending)
		{
			ok &= emit_failed_reads(t);
			continue;
		}
		ok &= record_so_far(t, "rows read before a message to the client", false);
	}
	ok &= pay_owed(false);
	/* a COPY ... TO outside the executor (a superuser's): recorded once, before its rows leave */
	if (OidIsValid(copy_relid) && !copy_by_executor && !copy_announced)
	{
		copy_announced = true;
		ok &= audit_emit_read(copy_relid, 0, false, 0, "copy to, rows before a message to the client",
							  NULL, 0, NULL, false);
	}
	return audit_reads_wait_quiet() && ok;
}

/* Has this backend reads in progress or records not yet durable (reads/messages.c)? */
bool
reads_to_record(void)
{
	return mnl_audit_read_durable &&
		(tracked != NIL || owed != NIL || audit_reads_pending() || (OidIsValid(copy_relid) && !copy_by_executor));
}

/* ---------------------------------------------------------------------------------------
 * Utility statements: COPY ... TO of an audited table
 * ---------------------------------------------------------------------------------------
 */

static void
mnl_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	Oid			copy_read = InvalidOid;
	int			depth;

	if (!IsParallelWorker())
	{
		if (IsA(stmt, CopyStmt) && !((CopyStmt *) stmt)->is_from &&
			((CopyStmt *) stmt)->relation != NULL &&
			audit_trail_installed())
		{
			Oid			relid = RangeVarGetRelid(((CopyStmt *) stmt)->relation, NoLock, true);

			if (OidIsValid(relid) && mnl_relation_test(relid, audit_is_audited_relation))
			{
				if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
					pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT, ACLMASK_ANY) != ACLCHECK_OK)
					audit_emit(AUDIT_KIND_DENIED, relid, 0, false, 0, "permission denied (copy to)", true);
				else
				{
					copy_read = relid;
					read_messages_wrap();	/* its rows wait for its record */
					if (!audit_emit_possible())
						audit_emit(AUDIT_KIND_SELECT, relid, 0, true, 0, NULL, true);
				}
			}
		}
	}

	copy_relid = copy_read;
	copy_by_executor = false;
	copy_announced = false;
	if (IsA(stmt, FetchStmt) && ((FetchStmt *) stmt)->portalname != NULL)
		read_carry_check_stores(((FetchStmt *) stmt)->portalname);
	if (IsA(stmt, FetchStmt) && context == PROCESS_UTILITY_TOPLEVEL &&
		((FetchStmt *) stmt)->portalname != NULL)
	{
		Portal		cursor = GetPortalByName(((FetchStmt *) stmt)->portalname);

		client_fetch = PortalIsValid(cursor) ? cursor->queryDesc : NULL;
	}
	/* a utility statement's portal (EXECUTE, FETCH) stores what the queries it runs read */
	depth = read_carry_run_begin(NULL, mnl_internal_depth > 0, false);
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		read_carry_run_end(depth);
		copy_relid = InvalidOid;
		client_fetch = NULL;
	}
	PG_END_TRY();
	/* SET ROLE, SET SESSION AUTHORIZATION, RESET inside a function: its identity at once */
	if (context != PROCESS_UTILITY_TOPLEVEL && IsA(stmt, VariableSetStmt))
		read_carry_check_stores(NULL);

	/* a COPY read through a query (row-level security) was recorded with its rows' keys */
	if (OidIsValid(copy_read) && !copy_by_executor)
		audit_emit_read(copy_read, qc ? (int64) qc->nprocessed : 0, qc != NULL,
						pstmt->queryId, "copy to", NULL, 0, NULL, true);
	copy_by_executor = false;
	/* the client's statement: durable before it is answered, and under the reader's role */
	if (context == PROCESS_UTILITY_TOPLEVEL)
	{
		if (owed != NIL)
			(void) pay_owed(true);
		audit_reads_wait();
		read_carry_check_stores(NULL);
	}
}

/* ---------------------------------------------------------------------------------------
 * Sessions
 * ---------------------------------------------------------------------------------------
 */

/*
 * How long a login's record waits for room in a full queue before it is dropped (counted):
 * a failed login as long as a read would (it fails anyway; the wait slows a guesser), capped
 * well inside authentication_timeout; a login that succeeds one second, so that a full queue
 * does not keep the superuser who would mend it out.
 */
#define LOGIN_FAILED_PATIENCE	Min(mnl_audit_queue_timeout, 10000)
#define LOGIN_PATIENCE			Min(mnl_audit_queue_timeout, 1000)

static void
record_logout(int code, Datum arg)
{
	char		detail[64];
	long		secs;
	int			usecs;

	/*
	 * A session the server refused after authentication (the database does not exist,
	 * allows no connections, or the role may not connect to it) never sent its first
	 * ReadyForQuery (messages.c watches for it from the login on).
	 */
	if (MyBackendType == B_BACKEND && !read_session_ready())
	{
		audit_emit(AUDIT_KIND_LOGIN_FAILED, InvalidOid, 0, false, 0,
				   "refused after authentication (the database does not exist, allows no connections or refuses the role)", false);
		return;
	}

	/* reads of a failed statement still owed (the queue was full): made patiently, or dropped (counted) */
	if (owed != NIL)
	{
		int			was = audit_patience_begin(LOGIN_FAILED_PATIENCE);

		(void) pay_owed(false);
		audit_patience_end(was);
	}
	TimestampDifference(MyStartTimestamp, GetCurrentTimestamp(), &secs, &usecs);
	snprintf(detail, sizeof(detail), "session lasted %ld.%03d s", secs, usecs / 1000);
	audit_emit(AUDIT_KIND_LOGOUT, InvalidOid, 0, false, 0, detail, false);
}

/*
 * What PostgreSQL refuses right after authentication, as far as the shared catalogs tell it
 * here (no database is open yet): a role that does not exist, or may not log in (a retired
 * staff member is NOLOGIN).  NULL when the login may go ahead; the database's own refusals
 * come later and are recorded when the session ends (record_logout).
 */
static const char *
login_refused_next(Port *port)
{
	HeapTuple	tup;
	bool		canlogin;

	tup = SearchSysCache1(AUTHNAME, PointerGetDatum(port->user_name));
	if (!HeapTupleIsValid(tup))
		return "role does not exist";
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	ReleaseSysCache(tup);
	return canlogin ? NULL : "role is not permitted to log in";
}

/*
 * The extension's settings a client sets as it connects (the startup packet's parameters, or
 * -c in its options, PGOPTIONS): a setting change like SET, recorded (kind setting) — a key
 * command's value is not.  PostgreSQL applies them next, or refuses them to a role that may
 * not set them.
 */
static void
record_startup_settings(Port *port)
{
	ListCell   *lc;
	char		detail[256];

	for (lc = list_head(port->guc_options); lc != NULL; lc = lnext(port->guc_options, lc))
	{
		const char *name = lfirst(lc);
		const char *value;

		lc = lnext(port->guc_options, lc);
		if (lc == NULL)
			break;
		value = lfirst(lc);
		if (pg_strncasecmp(name, "ledger.", 7) != 0)
			continue;
		snprintf(detail, sizeof(detail), "connection option %s = %s", name,
				 strstr(name, "_command") != NULL ? "..." : value);
		audit_emit(AUDIT_KIND_SETTING, InvalidOid, 0, false, 0, detail, false);
	}
	if (port->cmdline_options != NULL)
	{
		char	   *lower = pstrdup(port->cmdline_options);	/* setting names ignore case */

		for (char *c = lower; *c; c++)
			*c = pg_ascii_tolower((unsigned char) *c);
		if (strstr(lower, "ledger.") != NULL)
		{
			snprintf(detail, sizeof(detail), "connection options %s",
					 strstr(lower, "_command") != NULL ? "(with a key command: not kept)" :
					 port->cmdline_options);
			audit_emit(AUDIT_KIND_SETTING, InvalidOid, 0, false, 0, detail, false);
		}
		pfree(lower);
	}
}

static void
mnl_ClientAuthentication(Port *port, int status)
{
	const char *refused;

	if (prev_ClientAuthentication)
		prev_ClientAuthentication(port, status);
	if (!mnl_audit_sessions)
		return;
	/*
	 * A method that asks nothing (trust) accepts a name before PostgreSQL looks the role up:
	 * a role that does not exist, or that may not log in (a retired staff member), has not
	 * logged in (the server refuses it next: login_refused_next).
	 */
	refused = status == STATUS_OK ? login_refused_next(port) : NULL;
	if (refused != NULL)
		(void) audit_emit_patient(AUDIT_KIND_LOGIN_FAILED, refused, LOGIN_FAILED_PATIENCE);
	else if (status == STATUS_OK)
	{
		(void) audit_emit_patient(AUDIT_KIND_LOGIN, NULL, LOGIN_PATIENCE);
		read_messages_wrap();	/* to see the session's first ReadyForQuery */
		before_shmem_exit(record_logout, (Datum) 0);
		record_startup_settings(port);
	}
	else
		(void) audit_emit_patient(AUDIT_KIND_LOGIN_FAILED, "authentication failed", LOGIN_FAILED_PATIENCE);
}

void
reads_install(void)
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
	read_carry_install();
}
