/*
 * audit/seal.c — sealing committed audit records into hash-chained blocks, and verifying
 * the chain.
 *
 * Commit-safe order.  Records are sealed by transaction, not by the moment they were
 * written: a block covers every record whose xact_id lies in [xact_lo, xact_hi), where
 * xact_hi is the xmin of the sealer's snapshot.  Every transaction below that horizon has
 * finished, so no record can later appear inside a sealed range; a record written by a
 * transaction still running waits for a later block.  Blocks are contiguous (each xact_lo
 * is the previous xact_hi, the first is 0) and each block's hash covers the previous
 * block's hash, its range, its records' hashes in (xact_id, event_id) order and their
 * count (audit/record.c gives the exact bytes).
 *
 * The verifier recomputes every record's hash from its content and every block's hash from
 * its records, and reports the first break: a changed column, a removed, inserted or
 * reordered record, a missing or altered block.  Removal of the newest blocks together
 * with their records leaves a shorter chain that verifies; the digest kept outside the
 * database (ledger.audit_digest()) is what catches that, so verify_audit() accepts it.
 *
 * Sealing is serialised by a lock on ledger.audit_block (lock_sealing); the writer seals every
 * ledger.audit_seal_interval, and ledger.audit_seal_now() does it on demand.
 *
 * Must never: seal a record of a transaction that might still commit or abort.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"

PG_FUNCTION_INFO_V1(audit_seal_now);
PG_FUNCTION_INFO_V1(verify_audit);
PG_FUNCTION_INFO_V1(audit_digest);
PG_FUNCTION_INFO_V1(audit_detach_before);
PG_FUNCTION_INFO_V1(audit_add_partitions);

/*
 * Sealers are serialised by a self-conflicting lock on ledger.audit_block, held to the end of
 * the transaction.  Not an advisory lock: anyone who can connect could take that one and stall
 * the writer (whose queue would then fill and refuse every must-log event); this mode needs a
 * write privilege on the table, which nobody but the owner has.
 */
static void
lock_sealing(void)
{
	Oid			ns = get_namespace_oid("ledger", false);
	Oid			rel = get_relname_relid("audit_block", ns);

	if (!OidIsValid(rel))
		elog(ERROR, "ledger.audit_block is missing");
	LockRelationOid(rel, ShareRowExclusiveLock);
}

/*
 * Where the records of a range are read (source): the trail, and for verification also the
 * month tables the trail's retention detached and still keeps, so that a block is recomputed
 * from every record it sealed while they exist.
 */
#define TRAIL_RECORDS "ledger.audit_event"

/*
 * Full transaction id of the oldest transaction that may still be running when snap was
 * taken (its xmin, which counts this transaction's own xid too).
 */
static uint64
horizon(Snapshot snap)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);

	if (snap->xmin > XidFromFullTransactionId(next))
		epoch--;
	return U64FromFullTransactionId(FullTransactionIdFromEpochAndXid(epoch, snap->xmin));
}

typedef struct LastBlock
{
	bool		exists;
	int64		seq;
	uint64		xact_hi;
	uint8		hash[AUDIT_HASH_LEN];
} LastBlock;

static void
bytea_to_hash(Datum d, uint8 *out)
{
	bytea	   *b = DatumGetByteaPP(d);

	if (VARSIZE_ANY_EXHDR(b) != AUDIT_HASH_LEN)
		memset(out, 0xff, AUDIT_HASH_LEN);	/* cannot match anything we compute */
	else
		memcpy(out, VARDATA_ANY(b), AUDIT_HASH_LEN);
}

static Datum
hash_to_bytea(const uint8 *hash)
{
	bytea	   *b = palloc(VARHDRSZ + AUDIT_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + AUDIT_HASH_LEN);
	memcpy(VARDATA(b), hash, AUDIT_HASH_LEN);
	return PointerGetDatum(b);
}

static LastBlock
last_block(void)
{
	LastBlock	lb;
	bool		isnull;

	memset(&lb, 0, sizeof(lb));
	if (SPI_execute("SELECT block_seq, xact_hi, block_hash FROM ledger.audit_block "
					"ORDER BY block_seq DESC LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ledger.audit_block");
	if (SPI_processed == 1)
	{
		HeapTuple	t = SPI_tuptable->vals[0];
		TupleDesc	d = SPI_tuptable->tupdesc;

		lb.exists = true;
		lb.seq = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		lb.xact_hi = (uint64) DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		bytea_to_hash(SPI_getbinval(t, d, 3, &isnull), lb.hash);
	}
	return lb;
}

/* Open a cursor over the records of [lo, hi) in chain order. */
static Portal
records_cursor(const char *source, uint64 lo, uint64 hi)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum((int64) lo), Int64GetDatum((int64) hi)};
	char	   *query = psprintf("SELECT * FROM %s WHERE xact_id >= $1 AND xact_id < $2 ORDER BY xact_id, event_id",
								 source);
	Portal		p = SPI_cursor_open_with_args(NULL, query, 2, types, args, NULL, true, 0);

	if (p == NULL)
		elog(ERROR, "could not open a cursor over the audit records");
	return p;
}

/* Call each(tuple, desc, arg) for every record of [lo, hi) in chain order, in batches. */
static void
walk_records(const char *source, uint64 lo, uint64 hi, void (*each) (HeapTuple, TupleDesc, void *), void *arg)
{
	Portal		cur = records_cursor(source, lo, hi);

	for (;;)
	{
		uint64		i;

		SPI_cursor_fetch(cur, true, 10000);
		if (SPI_processed == 0)
			break;
		for (i = 0; i < SPI_processed; i++)
			each(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, arg);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(cur);
}

/* What sealing gathers from the records of a block. */
typedef struct SealWalk
{
	AuditBlockHasher *h;
	int64		count;
	TimestampTz first;
	TimestampTz last;
} SealWalk;

static void
seal_record(HeapTuple t, TupleDesc d, void *arg)
{
	SealWalk   *w = arg;
	bool		isnull;
	uint8		rh[AUDIT_HASH_LEN];
	TimestampTz at = DatumGetTimestampTz(SPI_getbinval(t, d, AA_LOGGED_AT, &isnull));

	bytea_to_hash(SPI_getbinval(t, d, AA_RECORD_HASH, &isnull), rh);
	audit_block_hasher_add(w->h, rh);
	if (w->count == 0 || at < w->first)
		w->first = at;
	if (w->count == 0 || at > w->last)
		w->last = at;
	w->count++;
}

/*
 * Summarize the BRIN index on xact_id (audit_event_xact_brin) over the pages written since its
 * last summary, in every partition.  A range of pages not yet summarized matches every search,
 * so without this the seal walk would read every page written since the last VACUUM: after a
 * busy hour, hundreds of milliseconds a seal, every second.  Summarizing costs the new pages
 * only, and a summarized range is kept current by each insert.  Called by the writer before it
 * seals.  A partition another process holds (autovacuum summarizes it too) is left alone: the
 * writer never waits for, or makes autovacuum give up, its lock.
 */
void
audit_summarize_trail_index(void)
{
	Oid			ns = get_namespace_oid("ledger", true);
	Oid			parent = OidIsValid(ns) ? get_relname_relid("audit_event_xact_brin", ns) : InvalidOid;
	List	   *children;
	ListCell   *lc;

	if (!OidIsValid(parent))
		return;
	children = find_inheritance_children(parent, NoLock);
	foreach(lc, children)
	{
		Oid			index = lfirst_oid(lc);
		Oid			heap = IndexGetRelation(index, true);

		if (!OidIsValid(heap) || !ConditionalLockRelationOid(heap, ShareUpdateExclusiveLock))
			continue;
		(void) DirectFunctionCall1(brin_summarize_new_values, ObjectIdGetDatum(index));
	}
	list_free(children);
}

/*
 * Seal what can be sealed.  Runs inside a transaction with SPI not yet connected.
 * Returns the number of records sealed.
 */
int64
audit_seal_pending(void)
{
	LastBlock	lb;
	uint64		lo;
	uint64		hi;
	SealWalk	walk = {NULL, 0, 0, 0};
	uint8		zero[AUDIT_HASH_LEN] = {0};
	uint8		block_hash[AUDIT_HASH_LEN];
	int64		seq;

	SPI_connect();
	lock_sealing();

	/*
	 * One snapshot, taken now that the lock is held, for the last block, the horizon and the
	 * records.  Every transaction below its xmin had finished when it was taken, so all it
	 * wrote is visible in it; and a block another sealer committed before we got the lock is
	 * seen.  (An older snapshot, such as the caller's, would miss both: a block sealed twice,
	 * or records of finished transactions left out of the block they belong to.)
	 */
	PushActiveSnapshot(GetLatestSnapshot());
	lb = last_block();
	lo = lb.exists ? lb.xact_hi : 0;
	hi = horizon(GetActiveSnapshot());
	if (hi <= lo)
	{
		PopActiveSnapshot();
		SPI_finish();
		return 0;
	}
	seq = lb.exists ? lb.seq + 1 : 1;
	walk.h = audit_block_hasher_begin(lb.exists ? lb.hash : zero, seq, lo, hi);
	{
		/*
		 * The records of [lo, hi) are the newest, at the end of the partition: read through
		 * the BRIN index on xact_id, so that sealing costs the new records, not the month's.
		 * (Statistics of a partition that grew since it was analyzed, or of few large
		 * transactions, can make a sequential scan look cheaper to the planner.)
		 */
		int			guc_level = NewGUCNestLevel();

		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		walk_records(TRAIL_RECORDS, lo, hi, seal_record, &walk);
		AtEOXact_GUC(false, guc_level);
	}
	audit_block_hasher_end(walk.h, walk.count, block_hash);
	PopActiveSnapshot();

	if (walk.count > 0)
	{
		Oid			types[9] = {INT8OID, INT8OID, INT8OID, INT8OID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, BYTEAOID, BYTEAOID, TIMESTAMPTZOID};
		Datum		args[9];
		int			rc;

		args[0] = Int64GetDatum(seq);
		args[1] = Int64GetDatum((int64) lo);
		args[2] = Int64GetDatum((int64) hi);
		args[3] = Int64GetDatum(walk.count);
		args[4] = TimestampTzGetDatum(walk.first);
		args[5] = TimestampTzGetDatum(walk.last);
		args[6] = hash_to_bytea(lb.exists ? lb.hash : zero);
		args[7] = hash_to_bytea(block_hash);
		args[8] = TimestampTzGetDatum(GetCurrentTimestamp());
		GUARD_BYPASS_BEGIN;
		{
			rc = SPI_execute_with_args("INSERT INTO ledger.audit_block (block_seq, xact_lo, xact_hi, "
									   "record_count, first_logged_at, last_logged_at, prev_hash, "
									   "block_hash, sealed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
									   9, types, args, NULL, false, 0);
		}
		GUARD_BYPASS_END;
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not insert an audit block");
	}
	SPI_finish();
	return walk.count;
}

/* ledger.audit_seal_now(): seal now instead of waiting for the writer. */
Datum
audit_seal_now(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(audit_seal_pending());
}

/* ---------------------------------------------------------------------------------------
 * Verification
 * ---------------------------------------------------------------------------------------
 */

typedef struct Break
{
	bool		found;
	int64		block_seq;
	bool		has_event;
	int64		event_id;
	const char *problem;
} Break;

/*
 * Check the records of [lo, hi): each record's content against its hash, feeding the
 * stored hashes to h (may be NULL) in chain order.  Returns the number of records.
 */
typedef struct CheckWalk
{
	AuditBlockHasher *h;		/* may be NULL */
	Break	   *brk;
	int64		block_seq;
	int64		count;
} CheckWalk;

static void
check_record(HeapTuple t, TupleDesc d, void *arg)
{
	CheckWalk  *w = arg;
	Datum		values[AUDIT_NATTS];
	bool		nulls[AUDIT_NATTS];
	uint8		stored[AUDIT_HASH_LEN];
	uint8		computed[AUDIT_HASH_LEN];
	const char *problem = NULL;

	heap_deform_tuple(t, d, values, nulls);
	if (nulls[AA_RECORD_HASH - 1])
		memset(stored, 0xff, AUDIT_HASH_LEN);
	else
		bytea_to_hash(values[AA_RECORD_HASH - 1], stored);
	audit_record_hash(values, nulls, computed);
	if (w->brk->found)
		problem = NULL;
	else if (memcmp(stored, computed, AUDIT_HASH_LEN) != 0)
		problem = "record content does not match its hash (the record was altered)";
	else if (!audit_record_arrays_canonical(values, nulls))
		problem = "an array of the record has bounds or dimensions the writer never gives (the record was altered)";
	if (problem != NULL)
	{
		w->brk->found = true;
		w->brk->block_seq = w->block_seq;
		w->brk->has_event = !nulls[AA_EVENT_ID - 1];
		w->brk->event_id = w->brk->has_event ? DatumGetInt64(values[AA_EVENT_ID - 1]) : 0;
		w->brk->problem = problem;
	}
	if (w->h)
		audit_block_hasher_add(w->h, stored);
	w->count++;
}

static int64
check_records(const char *source, uint64 lo, uint64 hi, AuditBlockHasher *h, Break *brk, int64 block_seq)
{
	CheckWalk	w = {h, brk, block_seq, 0};

	walk_records(source, lo, hi, check_record, &w);
	return w.count;
}

/* If query (one event_id column) finds a record, it is the break: problem, at that event. */
static void
first_event_breaks(const char *query, int nargs, Oid *types, Datum *values, Break *brk,
				   const char *problem)
{
	bool		isnull;

	if (SPI_execute_with_args(query, nargs, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ledger.audit_event");
	if (SPI_processed != 1)
		return;
	brk->found = true;
	brk->block_seq = 0;
	brk->has_event = true;
	brk->event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	brk->problem = problem;
}

static Break
verify_chain(bool has_digest, int64 digest_seq, const uint8 *digest_hash, bool has_sealed_at,
			 TimestampTz digest_sealed_at)
{
	uint64		digest_hi = 0;
	Break		brk;
	uint8		prev[AUDIT_HASH_LEN] = {0};
	uint64		expected_lo = 0;
	int64		expected_seq = 1;
	bool		digest_seen = false;
	Portal		blocks;
	StringInfoData source;

	memset(&brk, 0, sizeof(brk));

	/*
	 * What decides which rows of the trail a query sees, edited in the catalog: a month's
	 * partition bound (a report asking for a period would prune the month away), row-level
	 * security or a policy, a rule on a trail table (an auditor's own query would see fewer
	 * rows than the verifier reads).  None is ever made by the extension; each is reported.
	 */
	if (SPI_execute("SELECT c.relname, CASE "
					"  WHEN c.relrowsecurity OR c.relforcerowsecurity "
					"       OR EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid) "
					"    THEN 'a table of the trail has row-level security or a policy (it hides records from whoever reads it)' "
					"  WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid) "
					"    THEN 'a table of the trail has a rule' "
					"  ELSE 'a month of the trail has a partition bound other than its month (a report for a period would skip it)' END "
					"FROM pg_catalog.pg_class c "
					"WHERE c.relnamespace = 'ledger'::pg_catalog.regnamespace "
					"  AND (c.relname IN ('audit_event', 'audit_block', 'audit_checkpoint') OR c.relname ~ '^audit_event_[0-9]{6}$') "
					"  AND (c.relrowsecurity OR c.relforcerowsecurity "
					"       OR EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid) "
					"       OR EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r WHERE r.ev_class = c.oid) "
					"       OR (c.relispartition AND c.relname ~ '^audit_event_[0-9]{6}$' AND "
					"           (pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid), "
					"                                     'FROM \\(''([^'']*)''\\) TO \\(''([^'']*)''\\)'))::timestamptz[] "
					"           IS DISTINCT FROM "
					"           ARRAY[pg_catalog.to_date(pg_catalog.substr(c.relname, 13), 'YYYYMM')::timestamp AT TIME ZONE 'UTC', "
					"                 (pg_catalog.to_date(pg_catalog.substr(c.relname, 13), 'YYYYMM') + interval '1 month')::timestamp AT TIME ZONE 'UTC'])) "
					"ORDER BY c.relname LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the trail's tables");
	if (SPI_processed > 0)
	{
		brk.found = true;
		brk.problem = MemoryContextStrdup(CurTransactionContext,
										  SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
		return brk;
	}

	/*
	 * The columns of every month, by position, as the writer writes them: the verifier and the
	 * writer work by position, the reports by name, so two names swapped in the catalog (or a
	 * type or collation changed there) would turn the reports away from the records the
	 * verifier checks.
	 */
	if (SPI_execute("SELECT c.relname FROM pg_catalog.pg_class c "
					"WHERE c.relnamespace = 'ledger'::pg_catalog.regnamespace "
					"  AND (c.relname = 'audit_event' OR c.relname ~ '^audit_event_[0-9]{6}$') "
					"  AND (SELECT pg_catalog.array_agg(a.attname OPERATOR(pg_catalog.||) ':' "
					"              OPERATOR(pg_catalog.||) a.atttypid::pg_catalog.regtype::pg_catalog.text "
					"              OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) a.attcollation::pg_catalog.text "
					"              ORDER BY a.attnum) "
					"         FROM pg_catalog.pg_attribute a "
					"        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) "
					"      IS DISTINCT FROM ARRAY['event_id:bigint:0', 'xact_id:bigint:0', "
					"        'logged_at:timestamp with time zone:0', 'statement_at:timestamp with time zone:0', "
					"        'kind:text:100', 'database_name:text:100', 'session_role:text:100', "
					"        'acting_role:text:100', 'staff_id:bigint:0', 'backend_pid:integer:0', "
					"        'client_addr:inet:0', 'application_name:text:100', 'relation_id:oid:0', "
					"        'relation_name:text:100', 'row_key:text[]:100', 'column_names:text[]:100', "
					"        'sensitive_columns:text[]:100', 'old_values:text[]:100', 'new_values:text[]:100', "
					"        'row_count:bigint:0', 'query_id:bigint:0', 'detail:text:100', 'record_hash:bytea:0'] "
					"ORDER BY c.relname LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the trail's columns");
	if (SPI_processed > 0)
	{
		brk.found = true;
		brk.problem = "a table of the trail has columns other than the writer's (a name, type or collation edited in the catalog)";
		return brk;
	}

	/*
	 * The month tables the trail's retention detached (named by the checkpoints) stay in
	 * schema ledger, and the chain is recomputed from its first block over the trail and them:
	 * a checkpoint moves nothing, and one added by hand changes nothing.  A checkpoint that
	 * names a table still attached to the trail was not made by a detach; a detached month that
	 * is gone cannot be verified: both are reported.
	 */
	{
		uint64		i;
		bool		all_kept = true;

		if (SPI_execute("SELECT k.checkpoint_seq, d.name, "
						"       c.oid IS NOT NULL AND NOT c.relispartition AS kept, "
						"       c.oid IS NOT NULL AND c.relispartition AS attached "
						"FROM ledger.audit_checkpoint k CROSS JOIN LATERAL pg_catalog.unnest(k.detached) d(name) "
						"LEFT JOIN pg_catalog.pg_class c ON c.relname = d.name AND c.relkind = 'r' "
						"  AND c.relnamespace = 'ledger'::pg_catalog.regnamespace "
						"ORDER BY k.checkpoint_seq DESC", true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read ledger.audit_checkpoint");
		initStringInfo(&source);
		appendStringInfoString(&source, "(SELECT * FROM " TRAIL_RECORDS);
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	t = SPI_tuptable->vals[i];
			TupleDesc	d = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *name = SPI_getvalue(t, d, 2);

			if (DatumGetBool(SPI_getbinval(t, d, 4, &isnull)))
			{
				brk.found = true;
				brk.block_seq = 0;
				brk.problem = "a verification checkpoint names a partition still attached to the trail (it was not made by a detach)";
				return brk;
			}
			if (DatumGetBool(SPI_getbinval(t, d, 3, &isnull)))
				appendStringInfo(&source, " UNION ALL SELECT * FROM ledger.%s", quote_identifier(name));
			else
				all_kept = false;
		}
		appendStringInfoString(&source, ") r");
		/*
		 * Nobody can drop a detached month through SQL: one that is gone was removed by
		 * editing the catalogs or the files, and what it held can no longer be verified.
		 * That is reported, never passed (verification would otherwise have to trust the
		 * checkpoint, a row like any other).
		 */
		if (!all_kept)
		{
			brk.found = true;
			brk.block_seq = 0;
			brk.problem = "a month the trail's retention detached is no longer kept in schema ledger: "
				"the records it held cannot be verified";
			return brk;
		}
	}
	blocks = SPI_cursor_open_with_args(NULL,
									   "SELECT block_seq, xact_lo, xact_hi, record_count, prev_hash, block_hash "
									   "FROM ledger.audit_block ORDER BY block_seq",
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		HeapTuple	t;
		TupleDesc	d;
		bool		isnull;
		int64		seq;
		uint64		lo,
					hi;
		int64		stored_count,
					count;
		uint8		stored_prev[AUDIT_HASH_LEN];
		uint8		stored_hash[AUDIT_HASH_LEN];
		uint8		computed[AUDIT_HASH_LEN];
		AuditBlockHasher *h;
		SPITupleTable *blocktab;

		SPI_cursor_fetch(blocks, true, 1);
		if (SPI_processed == 0)
			break;
		blocktab = SPI_tuptable;
		t = blocktab->vals[0];
		d = blocktab->tupdesc;
		seq = DatumGetInt64(SPI_getbinval(t, d, 1, &isnull));
		lo = (uint64) DatumGetInt64(SPI_getbinval(t, d, 2, &isnull));
		hi = (uint64) DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
		stored_count = DatumGetInt64(SPI_getbinval(t, d, 4, &isnull));
		bytea_to_hash(SPI_getbinval(t, d, 5, &isnull), stored_prev);
		bytea_to_hash(SPI_getbinval(t, d, 6, &isnull), stored_hash);

		brk.block_seq = seq;
		if (seq != expected_seq)
			brk.problem = "a block is missing from the chain";
		else if (lo != expected_lo)
			brk.problem = "the block does not start where the previous one ended";
		else if (memcmp(stored_prev, prev, AUDIT_HASH_LEN) != 0)
			brk.problem = "the block does not link to the previous block's hash";
		if (brk.problem)
		{
			brk.found = true;
			break;
		}

		h = audit_block_hasher_begin(prev, seq, lo, hi);
		count = check_records(source.data, lo, hi, h, &brk, seq);
		audit_block_hasher_end(h, count, computed);
		SPI_freetuptable(blocktab);
		if (brk.found)
			break;
		if (count != stored_count || memcmp(computed, stored_hash, AUDIT_HASH_LEN) != 0)
		{
			brk.found = true;
			brk.problem = count < stored_count ?
				"records of a sealed block are missing (removed)" :
				count > stored_count ?
				"a sealed block has records it did not have (inserted)" :
				"a sealed block's records were changed or reordered";
			break;
		}
		if (has_digest && seq == digest_seq)
		{
			digest_seen = true;
			digest_hi = hi;
			if (memcmp(stored_hash, digest_hash, AUDIT_HASH_LEN) != 0)
			{
				brk.found = true;
				brk.problem = "the block does not match the digest kept outside the database";
				break;
			}
		}
		memcpy(prev, stored_hash, AUDIT_HASH_LEN);
		expected_lo = hi;
		expected_seq = seq + 1;
	}
	SPI_cursor_close(blocks);

	if (!brk.found && has_digest && !digest_seen)
	{
		brk.found = true;
		brk.block_seq = digest_seq;
		brk.problem = "the chain ends before the digest kept outside the database (newest blocks removed)";
	}
	if (!brk.found)
	{
		/*
		 * A record no block can ever cover: a transaction id below zero, one not yet
		 * assigned by this server, or none (NOT NULL dropped from the catalog for the insert
		 * and put back: "xact_id IS NULL" is then planned as false, a test of the whole
		 * condition is not).  Such a record would sit outside every checked range (below
		 * the chain, or "not sealed yet" for ever): it was forged.
		 */
		uint64		next = U64FromFullTransactionId(ReadNextFullTransactionId());

		first_event_breaks("SELECT event_id FROM ledger.audit_event "
						   "WHERE (xact_id >= 0 AND xact_id < $1) IS NOT TRUE ORDER BY event_id LIMIT 1",
						   1, (Oid[]) {INT8OID}, (Datum[]) {Int64GetDatum((int64) next)}, &brk,
						   "a record lies outside every range a block can cover (an impossible transaction id)");
	}
	if (!brk.found && digest_seen && has_sealed_at)
	{
		/*
		 * A record after the digest kept outside cannot be older than that digest (less the
		 * unsealed window): the digest's time is the auditor's, which nobody in the database
		 * can change.  A record dated earlier was written after the digest with a date that
		 * claims otherwise (or by a transaction held open past the window: reported too).
		 */
		first_event_breaks("SELECT event_id FROM ledger.audit_event WHERE xact_id >= $1 "
						   "AND logged_at < $2 - pg_catalog.make_interval(secs => $3) "
						   "ORDER BY event_id LIMIT 1",
						   3, (Oid[]) {INT8OID, TIMESTAMPTZOID, INT4OID},
						   (Datum[]) {Int64GetDatum((int64) digest_hi), TimestampTzGetDatum(digest_sealed_at),
									  Int32GetDatum(mnl_audit_unsealed_limit)}, &brk,
						   "a record after the digest kept outside is dated before it (a date forged, or a transaction held open past ledger.audit_unsealed_limit)");
	}
	if (!brk.found)
	{
		/* Records not yet sealed: their content must still match their hashes. */
		check_records(source.data, expected_lo, PG_INT64_MAX, NULL, &brk, 0);
		if (brk.found)
			brk.block_seq = 0;
	}
	if (!brk.found)
	{
		/*
		 * The unsealed window is bounded: a record waiting longer than
		 * ledger.audit_unsealed_limit (a transaction held open stalls sealing), or any record
		 * at all in a database the writer does not serve (a restore under another name:
		 * nothing there will ever seal it), is named, not called intact.
		 */
		bool		served = mnl_database != NULL && strcmp(mnl_database, get_database_name(MyDatabaseId)) == 0;

		first_event_breaks("SELECT event_id FROM ledger.audit_event WHERE xact_id >= $1 "
						   "AND ($2 OR logged_at < pg_catalog.now() - pg_catalog.make_interval(secs => $3)) "
						   "ORDER BY event_id LIMIT 1",
						   3, (Oid[]) {INT8OID, BOOLOID, INT4OID},
						   (Datum[]) {Int64GetDatum((int64) expected_lo), BoolGetDatum(!served),
									  Int32GetDatum(mnl_audit_unsealed_limit)}, &brk,
						   served ?
						   "a record has waited longer than ledger.audit_unsealed_limit to be sealed (a transaction held open?)" :
						   "records are not sealed: the audit writer serves another database (ledger.database), so nothing seals them here");
	}
	return brk;
}

/*
 * ledger.verify_audit(digest_block_seq bigint DEFAULT NULL, digest_hash bytea DEFAULT NULL,
 * digest_sealed_at timestamptz DEFAULT NULL) RETURNS TABLE (block_seq bigint, event_id bigint,
 * problem text): the first break, or no row when the whole trail verifies.  PG_NARGS: a
 * database still on the two-argument SQL definition calls this too.
 */
Datum
verify_audit(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		has_digest = !PG_ARGISNULL(0) && !PG_ARGISNULL(1);
	uint8		digest[AUDIT_HASH_LEN] = {0};
	Break		brk;

	InitMaterializedSRF(fcinfo, 0);
	if (has_digest)
		bytea_to_hash(PG_GETARG_DATUM(1), digest);
	SPI_connect();
	{
		/*
		 * Every row of the trail is read where it is: no CHECK constraint (one a superuser
		 * may forge in the catalog) and no partition bound lets the planner skip a
		 * partition, so copies in another table cannot stand in for the records.
		 */
		int			guc_level = NewGUCNestLevel();

		(void) set_config_option("constraint_exclusion", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("enable_partition_pruning", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		brk = verify_chain(has_digest, has_digest ? PG_GETARG_INT64(0) : 0, digest,
						   has_digest && PG_NARGS() > 2 && !PG_ARGISNULL(2),
						   has_digest && PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_TIMESTAMPTZ(2) : 0);
		AtEOXact_GUC(false, guc_level);
	}
	SPI_finish();
	if (brk.found)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = Int64GetDatum(brk.block_seq);
		nulls[0] = brk.block_seq == 0;
		values[1] = Int64GetDatum(brk.event_id);
		nulls[1] = !brk.has_event;
		values[2] = CStringGetTextDatum(brk.problem);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ledger.audit_digest() RETURNS TABLE (block_seq bigint, block_hash bytea, xact_hi bigint,
 * sealed_at timestamptz): the newest block, to be kept outside the database.
 */
Datum
audit_digest(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	SPI_connect();
	if (SPI_execute("SELECT block_seq, block_hash, xact_hi, sealed_at FROM ledger.audit_block "
					"ORDER BY block_seq DESC LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ledger.audit_block");
	if (SPI_processed == 1)
	{
		Datum		values[4];
		bool		nulls[4];
		int			i;

		for (i = 0; i < 4; i++)
			values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &nulls[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * ledger._audit_detach_before(cutoff timestamptz) RETURNS text[]: the retention of the trail
 * itself.  Detaches every month partition that ends on or before cutoff, once all its
 * records are sealed, after recording a verification checkpoint: the first block whose
 * transactions all come after the detached records.  ledger.verify_audit() then starts at
 * that block (records of earlier blocks still in the trail are no longer covered by the
 * chain).  Superuser only; the detached tables stay in schema ledger for archiving.
 */
Datum
audit_detach_before(PG_FUNCTION_ARGS)
{
	TimestampTz cutoff = PG_GETARG_TIMESTAMPTZ(0);
	ArrayBuildState *names = NULL;
	MemoryContext outer = CurrentMemoryContext;
	Datum		result = (Datum) 0;
	int64		maxx = -1;
	uint64		i,
				n;
	char	  **parts;
	bool		isnull;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser detaches audit partitions"),
				 errhint("The retention run does it, as the pg_cron job's superuser.")));
	(void) audit_seal_pending();
	SPI_connect();
	if (SPI_execute_with_args("SELECT c.relname::text FROM pg_catalog.pg_inherits i "
							  "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
							  "WHERE i.inhparent = 'ledger.audit_event'::regclass "
							  "AND c.relname ~ '^audit_event_[0-9]{6}$' "
							  "AND (pg_catalog.to_date(pg_catalog.substr(c.relname::pg_catalog.text, 13), 'YYYYMM') + interval '1 month')::timestamp "
							  "    AT TIME ZONE 'UTC' <= $1 ORDER BY 1",
							  1, (Oid[]) {TIMESTAMPTZOID}, (Datum[]) {TimestampTzGetDatum(cutoff)},
							  NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the trail's partitions");
	n = SPI_processed;
	parts = palloc(sizeof(char *) * (n + 1));
	for (i = 0; i < n; i++)
		parts[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	if (n > 0)
	{
		StringInfoData q;
		LastBlock	lb = last_block();

		initStringInfo(&q);
		appendStringInfoString(&q, "SELECT max(xact_id) FROM (");
		for (i = 0; i < n; i++)
			appendStringInfo(&q, "%sSELECT max(xact_id) AS xact_id FROM ledger.%s", i ? " UNION ALL " : "",
							 quote_identifier(parts[i]));
		appendStringInfoString(&q, ") m");
		if (SPI_execute(q.data, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the partitions to detach");
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			maxx = isnull ? -1 : DatumGetInt64(d);
		}
		if (maxx >= 0 && (!lb.exists || (uint64) maxx >= lb.xact_hi))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the partitions to detach hold records not sealed yet"),
					 errhint("Run ledger.audit_seal_now() once their transactions have ended, then try again.")));
		for (i = 0; i < n; i++)
			names = accumArrayResult(names, CStringGetTextDatum(parts[i]), false, TEXTOID, outer);
		result = makeArrayResult(names, outer);	/* releases names */
		GUARD_BYPASS_BEGIN;
		{
			if (SPI_execute_with_args("INSERT INTO ledger.audit_checkpoint "
									  "SELECT COALESCE((SELECT max(checkpoint_seq) FROM ledger.audit_checkpoint), 0) + 1, "
									  "b.block_seq, b.block_hash, b.xact_hi, $2, pg_catalog.now() "
									  "FROM ledger.audit_block b WHERE b.xact_hi > $1 ORDER BY b.block_seq LIMIT 1",
									  2, (Oid[]) {INT8OID, TEXTARRAYOID},
									  (Datum[]) {Int64GetDatum(maxx), result},
									  NULL, false, 0) != SPI_OK_INSERT || SPI_processed != 1)
				elog(ERROR, "could not record the verification checkpoint");
			for (i = 0; i < n; i++)
			{
				char	   *sql = psprintf("ALTER TABLE ledger.audit_event DETACH PARTITION ledger.%s",
										   quote_identifier(parts[i]));

				if (SPI_execute(sql, false, 0) < 0)
					elog(ERROR, "could not detach %s", parts[i]);
			}
		}
		GUARD_BYPASS_END;
	}
	SPI_finish();
	if (names == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_DATUM(result);
}

/*
 * ledger._audit_add_partitions(months_ahead): the month partitions of the trail, created by
 * ledger._audit_partitions_sql() (audit.sql) inside the guard's bypass scope: the guard
 * refuses triggers and ALTER TABLE on the trail to every role, and the new partitions need
 * their guard triggers.  Superuser only (the writer calls it hourly).
 */
Datum
audit_add_partitions(PG_FUNCTION_ARGS)
{
	int32		months = PG_GETARG_INT32(0);
	volatile int32 created = 0;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only a superuser adds audit partitions"),
				 errhint("The audit writer adds them every hour.")));
	if (months < 0 || months > 36)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("months_ahead must be between 0 and 36"),
				 errhint("The writer keeps three months ahead.")));
	SPI_connect();
	GUARD_BYPASS_BEGIN;
	{
		bool		isnull;

		if (SPI_execute_with_args("SELECT ledger._audit_partitions_sql($1)", 1, (Oid[]) {INT4OID},
								  (Datum[]) {Int32GetDatum(months)}, NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "could not add audit partitions");
		created = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	GUARD_BYPASS_END;
	SPI_finish();
	PG_RETURN_INT32(created);
}
