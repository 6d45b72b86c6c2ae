/*
 * audit/store.c — writing records into the audit trail.
 *
 * SQL cannot write to ledger.audit_event (its guard trigger refuses every INSERT, UPDATE,
 * DELETE and TRUNCATE, for every role), so the extension writes heap tuples itself: into the
 * month's partition, with its indexes maintained, in the current transaction.  A record is
 * complete when it is buffered — event id, transaction id and record hash are set — and the
 * buffer is written with heap_multi_insert when the audit trigger has recorded the
 * statement's rows, every AUDIT_BUFFER_MAX records, or at the latest before commit.
 *
 * Buffered records are tagged with the subtransaction that made them: a rolled-back
 * subtransaction takes its records with it (its row changes are gone too), and a flush
 * writes only the records of the current subtransaction, so a record is never committed
 * by a transaction that did not commit its change.
 *
 * Must never: write a record through SQL, or let a record outlive the change it describes.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "common/ip.h"
#include "libpq/libpq-be.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/inval.h"
#include "utils/syscache.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "log_hygiene/log_hygiene.h"
#include "core/mynumber_ledger.h"

#define AUDIT_BUFFER_MAX	1000

typedef struct PendingRecord
{
	SubTransactionId subid;
	TimestampTz logged_at;
	HeapTuple	tuple;
} PendingRecord;

static PendingRecord *pending = NULL;
static int	npending = 0;
static int	pending_cap = 0;
static bool callbacks_registered = false;

/*
 * What every record of this session shares, looked up once (catalog lookups per row would
 * cost more than the record itself) and dropped when the catalog says it changed: a relcache
 * invalidation of the trail (DROP/CREATE EXTENSION) or any change to roles (a rename).
 */
typedef struct TxnCache
{
	bool		valid;
	Oid			nsp;
	Oid			event_relid;
	Oid			seq_relid;
	TupleDesc	desc;			/* ledger.audit_event's row type */
	Datum		database_name;
	Oid			session_user;
	Datum		session_role;
	Oid			current_user;
	Datum		acting_role;
} TxnCache;

static TxnCache txn = {false};

/*
 * Event ids are taken from the sequence (INCREMENT BY AUDIT_ID_BLOCK) a block at a time and
 * handed out by this backend: unique across the cluster, not gap-free.
 */
#define AUDIT_ID_BLOCK 100
static Oid	id_seq = InvalidOid;
static int64 next_id = 0;
static int64 id_limit = 0;

/* Client address as an inet Datum, computed once per session (NULL for Unix sockets). */
static bool client_addr_known = false;
static bool client_addr_null = true;
static Datum client_addr_datum;

Oid
audit_trail_namespace(void)
{
	return get_namespace_oid("ledger", false);
}

static Datum
client_addr(bool *isnull)
{
	if (!client_addr_known)
	{
		client_addr_known = true;
		client_addr_null = true;
		if (MyProcPort != NULL &&
			(MyProcPort->raddr.addr.ss_family == AF_INET
#ifdef HAVE_IPV6
			 || MyProcPort->raddr.addr.ss_family == AF_INET6
#endif
			 ))
		{
			char		host[NI_MAXHOST];

			host[0] = '\0';
			if (pg_getnameinfo_all(&MyProcPort->raddr.addr, MyProcPort->raddr.salen,
								   host, sizeof(host), NULL, 0, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			{
				MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

				clean_ipv6_addr(MyProcPort->raddr.addr.ss_family, host);
				client_addr_datum = DirectFunctionCall1(inet_in, CStringGetDatum(host));
				client_addr_null = false;
				MemoryContextSwitchTo(old);
			}
		}
	}
	*isnull = client_addr_null;
	return client_addr_datum;
}

static Oid
trail_relid(const char *name, bool missing_ok)
{
	Oid			relid = get_relname_relid(name, txn.valid ? txn.nsp : audit_trail_namespace());

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("audit trail table ledger.%s is missing", name),
				 errhint("The extension's objects were altered outside it; reinstall mynumber_ledger.")));
	return relid;
}

/* A role's name as the trail keeps it (a name is free text: what looks like a number is masked). */
static Datum
role_name(Oid roleid)
{
	char	   *name = pstrdup(GetUserNameFromId(roleid, false));

	log_hygiene_mask(name);
	return CStringGetTextDatum(name);
}

static bool part_cache_valid = false;
static int	part_cache_month = 0;
static Oid	part_cache_relid = InvalidOid;

/* Index descriptions of the partition last written, kept while its relcache entry holds. */
static Oid	index_cache_relid = InvalidOid;
static List *index_cache_oids = NIL;	/* of Oid */
static List *index_cache_infos = NIL;	/* of IndexInfo *, in CacheMemoryContext */

static void
txn_cache_relcache_inval(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == txn.event_relid)
		txn.valid = false;
	/* A partition attached, detached or created changes no relation we cache by oid... */
	part_cache_valid = false;
	if (relid == InvalidOid || relid == index_cache_relid)
		index_cache_relid = InvalidOid;
}

static void
txn_cache_role_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	txn.valid = false;
}

static MemoryContext retired_cxt = NULL;

static void
load_txn_cache(void)
{
	static MemoryContext cache_cxt = NULL;
	static bool callbacks = false;
	MemoryContext old;
	Relation	rel;

	if (txn.valid && txn.current_user == mnl_audit_user() && txn.session_user == GetSessionUserId())
		return;
	audit_store_init();
	if (!callbacks)
	{
		CacheRegisterRelcacheCallback(txn_cache_relcache_inval, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, txn_cache_role_inval, (Datum) 0);
		callbacks = true;
	}
	/*
	 * Records being built may still point into the old cache: retire it (freed at the end
	 * of the transaction) rather than reset it.
	 */
	if (retired_cxt == NULL)
		retired_cxt = AllocSetContextCreate(TopMemoryContext, "mynumber_ledger retired audit cache",
											ALLOCSET_SMALL_SIZES);
	if (cache_cxt != NULL)
		MemoryContextSetParent(cache_cxt, retired_cxt);
	cache_cxt = AllocSetContextCreate(TopMemoryContext, "mynumber_ledger audit cache",
									  ALLOCSET_SMALL_SIZES);
	txn.valid = false;
	old = MemoryContextSwitchTo(cache_cxt);
	txn.nsp = audit_trail_namespace();
	txn.event_relid = get_relname_relid("audit_event", txn.nsp);
	if (!OidIsValid(txn.event_relid))
		trail_relid("audit_event", false);	/* raises the error */
	txn.seq_relid = trail_relid("audit_event_id_seq", false);
	rel = table_open(txn.event_relid, AccessShareLock);
	txn.desc = CreateTupleDescCopy(RelationGetDescr(rel));
	table_close(rel, AccessShareLock);
	if (txn.desc->natts != AUDIT_NATTS)
		elog(ERROR, "ledger.audit_event has %d columns, expected %d", txn.desc->natts, AUDIT_NATTS);
	{
		char	   *db = pstrdup(get_database_name(MyDatabaseId));

		log_hygiene_mask(db);
		txn.database_name = CStringGetTextDatum(db);
	}
	txn.session_user = GetSessionUserId();
	txn.session_role = role_name(txn.session_user);
	txn.current_user = mnl_audit_user();
	txn.acting_role = role_name(txn.current_user);
	MemoryContextSwitchTo(old);
	txn.valid = true;
}

static int64
next_event_id(void)
{
	if (id_seq != txn.seq_relid || next_id >= id_limit)
	{
		id_seq = txn.seq_relid;
		next_id = nextval_internal(txn.seq_relid, false);
		id_limit = next_id + AUDIT_ID_BLOCK;
	}
	return next_id++;
}

/*
 * The columns every record made in this backend shares: when, who, from where.  The caller
 * sets kind, relation and the rest.
 */
void
audit_fill_context(Datum *values, bool *nulls)
{
	uint64		qid;

	load_txn_cache();
	memset(nulls, true, sizeof(bool) * AUDIT_NATTS);
	values[AA_LOGGED_AT - 1] = TimestampTzGetDatum(GetCurrentTimestamp());
	nulls[AA_LOGGED_AT - 1] = false;
	values[AA_STATEMENT_AT - 1] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
	nulls[AA_STATEMENT_AT - 1] = false;
	values[AA_DATABASE_NAME - 1] = txn.database_name;
	nulls[AA_DATABASE_NAME - 1] = false;
	values[AA_SESSION_ROLE - 1] = txn.session_role;
	nulls[AA_SESSION_ROLE - 1] = false;
	values[AA_CURRENT_ROLE - 1] = txn.acting_role;
	nulls[AA_CURRENT_ROLE - 1] = false;
	values[AA_BACKEND_PID - 1] = Int32GetDatum(MyProcPid);
	nulls[AA_BACKEND_PID - 1] = false;
	{
		int64		staff_id;

		if (mnl_registry_staff_id(txn.current_user, &staff_id))
		{
			values[AA_STAFF_ID - 1] = Int64GetDatum(staff_id);
			nulls[AA_STAFF_ID - 1] = false;
		}
	}
	values[AA_CLIENT_ADDR - 1] = client_addr(&nulls[AA_CLIENT_ADDR - 1]);
	if (application_name != NULL && application_name[0] != '\0')
	{
		char	   *name = pstrdup(application_name);

		log_hygiene_mask(name);		/* set by the client: free text */
		values[AA_APPLICATION_NAME - 1] = CStringGetTextDatum(name);
		nulls[AA_APPLICATION_NAME - 1] = false;
	}
	qid = pgstat_get_my_query_id();
	if (qid != 0)
	{
		values[AA_QUERY_ID - 1] = Int64GetDatum((int64) qid);
		nulls[AA_QUERY_ID - 1] = false;
	}
}

/* Partition of ledger.audit_event for the month of ts (UTC), or the default partition. */
static Oid
partition_for(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		name[NAMEDATALEN];
	Oid			relid;
	int			month;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		elog(ERROR, "audit record timestamp out of range");
	month = tm.tm_year * 100 + tm.tm_mon;
	/* The month's partition, remembered until a relcache invalidation of any relation. */
	if (part_cache_valid && part_cache_month == month)
		return part_cache_relid;
	snprintf(name, sizeof(name), "audit_event_%04d%02d", tm.tm_year, tm.tm_mon);
	relid = trail_relid(name, true);
	if (!OidIsValid(relid) || !get_rel_relispartition(relid))
		relid = trail_relid("audit_event_default", false);
	part_cache_month = month;
	part_cache_relid = relid;
	part_cache_valid = true;
	return relid;
}

static void
discard_pending(SubTransactionId from)
{
	int			keep = 0;
	int			i;

	for (i = 0; i < npending; i++)
	{
		if (pending[i].subid >= from)
			heap_freetuple(pending[i].tuple);
		else
			pending[keep++] = pending[i];
	}
	npending = keep;
}

static void
audit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			/* Normally empty: statement triggers flush.  A safety net, not a path. */
			if (npending > 0)
				audit_buffer_flush();
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			/* Tuples lived in TopTransactionContext, which is gone or going. */
			npending = 0;
			pending = NULL;
			pending_cap = 0;
			if (retired_cxt != NULL)
				MemoryContextReset(retired_cxt);
			break;
		default:
			break;
	}
}

static void
audit_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		discard_pending(mySubid);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		int			i;

		/* The child's records now belong to the parent. */
		for (i = 0; i < npending; i++)
			if (pending[i].subid >= mySubid)
				pending[i].subid = parentSubid;
	}
}

void
audit_store_init(void)
{
	if (!callbacks_registered)
	{
		RegisterXactCallback(audit_xact_callback, NULL);
		RegisterSubXactCallback(audit_subxact_callback, NULL);
		callbacks_registered = true;
	}
}

/*
 * Complete a record (event id, transaction, hash) and form its tuple in the given
 * context.  values/nulls are modified.
 */
static HeapTuple
complete_record(Datum *values, bool *nulls, MemoryContext cxt)
{
	uint8		hash[AUDIT_HASH_LEN];
	bytea	   *hashval;
	MemoryContext old;
	HeapTuple	tup;

	load_txn_cache();
	values[AA_EVENT_ID - 1] = Int64GetDatum(next_event_id());
	nulls[AA_EVENT_ID - 1] = false;
	values[AA_XACT_ID - 1] = Int64GetDatum((int64) U64FromFullTransactionId(GetTopFullTransactionId()));
	nulls[AA_XACT_ID - 1] = false;
	audit_record_hash(values, nulls, hash);
	hashval = palloc(VARHDRSZ + AUDIT_HASH_LEN);
	SET_VARSIZE(hashval, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(hashval), hash, AUDIT_HASH_LEN);
	values[AA_RECORD_HASH - 1] = PointerGetDatum(hashval);
	nulls[AA_RECORD_HASH - 1] = false;

	old = MemoryContextSwitchTo(cxt);
	tup = heap_form_tuple(txn.desc, values, nulls);
	MemoryContextSwitchTo(old);
	return tup;
}

/* The partition's indexes and their IndexInfo, built once while its relcache entry holds. */
static void
partition_indexes(Relation rel, List **oids, List **infos)
{
	if (index_cache_relid != RelationGetRelid(rel))
	{
		MemoryContext old = MemoryContextSwitchTo(CacheMemoryContext);
		List	   *list = RelationGetIndexList(rel);
		ListCell   *lc;

		/* Invalid until complete: a build that fails half-way must not be trusted. */
		index_cache_relid = InvalidOid;
		list_free(index_cache_oids);
		list_free_deep(index_cache_infos);
		index_cache_oids = NIL;
		index_cache_infos = NIL;
		foreach(lc, list)
		{
			Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
			IndexInfo  *info = BuildIndexInfo(idx);

			if (info->ii_Expressions != NIL || info->ii_Predicate != NIL)
				elog(ERROR, "audit trail index %s has expressions, which the writer does not support",
					 RelationGetRelationName(idx));
			index_cache_oids = lappend_oid(index_cache_oids, lfirst_oid(lc));
			index_cache_infos = lappend(index_cache_infos, info);
			index_close(idx, AccessShareLock);
		}
		list_free(list);
		MemoryContextSwitchTo(old);
		index_cache_relid = RelationGetRelid(rel);
	}
	*oids = index_cache_oids;
	*infos = index_cache_infos;
}

/*
 * Insert tuples (all of the month of ts) into that month's partition and its indexes.  The
 * partition is looked up again once it is locked: a partition created concurrently for the
 * month takes the rows, not the default partition.
 */
static void
insert_into_partition(TimestampTz ts, HeapTuple *tuples, int n)
{
	Oid			partid = partition_for(ts);
	Relation	rel = table_open(partid, RowExclusiveLock);
	TupleTableSlot **slots = palloc(sizeof(TupleTableSlot *) * n);
	List	   *index_oids;
	List	   *index_infos;
	CommandId	cid = GetCurrentCommandId(true);
	ListCell   *lo;
	ListCell   *li;
	int			i;

	for (;;)
	{
		Oid			again = partition_for(ts);

		if (again == partid)
			break;
		table_close(rel, RowExclusiveLock);
		partid = again;
		rel = table_open(partid, RowExclusiveLock);
	}
	if (RelationGetDescr(rel)->natts != AUDIT_NATTS)
		elog(ERROR, "audit partition %s has %d columns, expected %d",
			 RelationGetRelationName(rel), RelationGetDescr(rel)->natts, AUDIT_NATTS);

	/*
	 * The slots use the transaction's unpinned copy of the row type: a pinned descriptor
	 * would be remembered by the resource owner once per slot.
	 */
	load_txn_cache();
	for (i = 0; i < n; i++)
	{
		slots[i] = MakeSingleTupleTableSlot(txn.desc, &TTSOpsHeapTuple);
		ExecStoreHeapTuple(tuples[i], slots[i], false);
	}
	heap_multi_insert(rel, slots, n, cid, 0, NULL);

	partition_indexes(rel, &index_oids, &index_infos);
	forboth(lo, index_oids, li, index_infos)
	{
		Relation	idx = index_open(lfirst_oid(lo), RowExclusiveLock);
		IndexInfo  *info = lfirst(li);
		Datum		ivalues[INDEX_MAX_KEYS];
		bool		inulls[INDEX_MAX_KEYS];

		if (!info->ii_ReadyForInserts)
		{
			/* CREATE INDEX CONCURRENTLY has not got this far yet: as the executor does. */
			index_close(idx, RowExclusiveLock);
			continue;
		}
		/*
		 * The IndexInfo is cached; an index AM's insert state (BRIN keeps its revmap buffer
		 * pinned in it) lives for this call only, in this call's memory, and is released
		 * before the index is closed.
		 */
		info->ii_Context = CurrentMemoryContext;
		info->ii_AmCache = NULL;
		for (i = 0; i < n; i++)
		{
			FormIndexDatum(info, slots[i], NULL, ivalues, inulls);
			index_insert(idx, ivalues, inulls, &slots[i]->tts_tid, rel,
						 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
						 false, info);
		}
		mnl_index_insert_cleanup(idx, info);
		info->ii_AmCache = NULL;
		info->ii_Context = NULL;
		index_close(idx, RowExclusiveLock);
	}

	for (i = 0; i < n; i++)
		ExecDropSingleTupleTableSlot(slots[i]);
	pfree(slots);
	table_close(rel, RowExclusiveLock);
}

/* Write tuples (all of one subtransaction, in order) grouped by partition. */
static void
write_tuples(PendingRecord *recs, int n)
{
	int			start = 0;

	while (start < n)
	{
		Oid			part = partition_for(recs[start].logged_at);
		int			end = start + 1;
		HeapTuple  *tuples;
		int			i;

		while (end < n && partition_for(recs[end].logged_at) == part)
			end++;
		tuples = palloc(sizeof(HeapTuple) * (end - start));
		for (i = start; i < end; i++)
			tuples[i - start] = recs[i].tuple;
		insert_into_partition(recs[start].logged_at, tuples, end - start);
		pfree(tuples);
		start = end;
	}
}

/*
 * Buffer a record made in this transaction (row changes, TRUNCATE).  Written at the end of
 * the statement, or now if the buffer is full.
 */
void
audit_buffer_add(Datum *values, bool *nulls)
{
	MemoryContext cxt = TopTransactionContext;

	audit_store_init();
	if (npending == pending_cap)
	{
		int			newcap = pending_cap == 0 ? 64 : pending_cap * 2;

		if (pending == NULL)
			pending = MemoryContextAlloc(cxt, sizeof(PendingRecord) * newcap);
		else
			pending = repalloc(pending, sizeof(PendingRecord) * newcap);
		pending_cap = newcap;
	}
	pending[npending].subid = GetCurrentSubTransactionId();
	pending[npending].logged_at = DatumGetTimestampTz(values[AA_LOGGED_AT - 1]);
	pending[npending].tuple = complete_record(values, nulls, cxt);
	npending++;

	if (npending >= AUDIT_BUFFER_MAX)
		audit_buffer_flush();
}

/* Write the buffered records of the current subtransaction. */
void
audit_buffer_flush(void)
{
	SubTransactionId cur = GetCurrentSubTransactionId();
	PendingRecord *mine;
	int			nmine = 0;
	int			keep = 0;
	int			i;

	if (npending == 0)
		return;
	mine = palloc(sizeof(PendingRecord) * npending);
	for (i = 0; i < npending; i++)
	{
		if (pending[i].subid == cur)
			mine[nmine++] = pending[i];
		else
			pending[keep++] = pending[i];
	}
	npending = keep;
	if (nmine > 0)
	{
		write_tuples(mine, nmine);
		for (i = 0; i < nmine; i++)
			heap_freetuple(mine[i].tuple);
	}
	pfree(mine);
}

/* Write n records now, in the current transaction (the queue writer's path). */
void
audit_store_now(Datum *values, bool *nulls, int n)
{
	PendingRecord *recs = palloc(sizeof(PendingRecord) * n);
	int			i;

	for (i = 0; i < n; i++)
	{
		Datum	   *v = values + i * AUDIT_NATTS;
		bool	   *nl = nulls + i * AUDIT_NATTS;

		recs[i].subid = GetCurrentSubTransactionId();
		recs[i].logged_at = DatumGetTimestampTz(v[AA_LOGGED_AT - 1]);
		recs[i].tuple = complete_record(v, nl, CurrentMemoryContext);
	}
	write_tuples(recs, n);
	pfree(recs);
}
