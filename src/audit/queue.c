/*
 * audit/queue.c — the path for events that must outlive the caller's transaction: reads of
 * audited tables, reveals, denied attempts, logins and logouts.
 *
 * A fixed ring of event slots in shared memory.  A backend copies its event into a slot
 * under the queue lock and wakes the writer (audit/worker.c), which drains the ring and
 * commits the events in its own transaction within ledger.audit_flush_delay.  Once
 * audit_emit() returns, the event is the writer's: the caller's ROLLBACK cannot take it
 * back.
 *
 * Locking protocol: AuditQueue->lock (one LWLock) protects head, tail, the slots and the
 * writer fields.  Producers hold it only to copy one slot; the writer only to copy slots
 * out.  Producers waiting for room sleep on space_cv, broadcast by the writer after every
 * drain.
 *
 * A durable event (audit_emit_durable: a reveal, the use of an approval) names its subject and
 * is not returned from until the writer has committed it, synchronously: the caller waits on
 * space_cv until head has passed the event's slot.
 *
 * A caller that must not proceed without its event (must_log) gets an ERROR when the writer
 * is not running, when the server is in recovery, or when the ring stays full for
 * ledger.audit_queue_timeout; it never silently goes on.  Other callers (logins, logouts)
 * count the event as dropped and go on.
 *
 * Must never: hold the lock while waiting, or put a My Number into an event (callers pass
 * relation, counts and a detail of their own making).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "libpq/libpq-be.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "common/ip.h"
#include "log_hygiene/log_hygiene.h"
#include "core/mynumber_ledger.h"

#define DETAIL_MAX		512
#define ADDR_MAX		64
#define RELNAME_MAX		(2 * NAMEDATALEN + 8)

struct AuditQueueEvent
{
	TimestampTz logged_at;
	TimestampTz statement_at;
	char		kind[16];
	char		database_name[NAMEDATALEN];
	char		session_role[NAMEDATALEN];
	char		acting_role[NAMEDATALEN];
	int32		backend_pid;
	bool		has_staff_id;
	int64		staff_id;
	char		client_addr[ADDR_MAX];	/* "" for none */
	char		application_name[NAMEDATALEN];
	Oid			relation_id;
	char		relation_name[RELNAME_MAX];
	bool		has_row_count;
	int64		row_count;
	uint64		query_id;
	char		detail[DETAIL_MAX];
	bool		durable;		/* the caller waits for its commit: commit synchronously */
	int			nkeys;			/* the subject: row key elements (whose data) ... */
	uint32		keys_len;		/* ... as nkeys NUL-terminated strings, keys_len bytes ... */
	uint64		keys_pos;		/* ... at this position of the key ring */
	char	   *keys;			/* in a drained copy only: those bytes, in the writer's memory */
};

typedef struct AuditQueue
{
	LWLock	   *lock;
	ConditionVariable space_cv;
	uint64		head;			/* next slot to drain */
	uint64		tail;			/* next slot to fill */
	int			capacity;
	bool		writer_ready;
	pid_t		writer_pid;
	Latch	   *writer_latch;
	uint64		accepted;
	uint64		dropped;
	uint64		written;
	uint64		key_head;		/* first byte of the key ring still in use */
	uint64		key_tail;		/* next byte of the key ring to fill */
	Size		key_capacity;	/* bytes of the key ring, after the slots */
	AuditQueueEvent slots[FLEXIBLE_ARRAY_MEMBER];
} AuditQueue;

/* The key ring: the subjects of events (row keys), variable in size, in the order of the slots. */
#define KEY_RING(q)		((char *) &(q)->slots[(q)->capacity])

static AuditQueue *queue = NULL;

bool		mnl_refusal_recorded = false;

static bool emit(const char *kind, Oid relid, int64 row_count, bool has_row_count,
				 uint64 query_id, const char *detail, const char *const *keys, int nkeys,
				 const AuditActor *actor, bool must_log, uint64 *pos_out);

Size
audit_queue_event_size(void)
{
	return sizeof(AuditQueueEvent);
}

static Size
key_ring_size(void)
{
	return mul_size((Size) mnl_audit_key_buffer, 1024);
}

static Size
queue_size(void)
{
	return add_size(add_size(offsetof(AuditQueue, slots),
							 mul_size(sizeof(AuditQueueEvent), mnl_audit_queue_size)),
					key_ring_size());
}

/*
 * The most bytes of row keys one event may carry (a caller with more splits them over
 * several events): a quarter of the key ring, so that one event never waits for the whole.
 */
Size
audit_emit_max_keys(void)
{
	return key_ring_size() / 4;
}

void
audit_queue_shmem_request(void)
{
	RequestAddinShmemSpace(queue_size());
	RequestNamedLWLockTranche("mynumber_ledger_audit_queue", 1);
}

void
audit_queue_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	queue = ShmemInitStruct("mynumber_ledger audit queue", queue_size(), &found);
	if (!found)
	{
		queue->lock = &(GetNamedLWLockTranche("mynumber_ledger_audit_queue"))->lock;
		ConditionVariableInit(&queue->space_cv);
		queue->head = queue->tail = 0;
		queue->capacity = mnl_audit_queue_size;
		queue->writer_ready = false;
		queue->writer_pid = 0;
		queue->writer_latch = NULL;
		queue->accepted = queue->dropped = queue->written = 0;
		queue->key_head = queue->key_tail = 0;
		queue->key_capacity = key_ring_size();
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Called by the writer: announce (or withdraw) that it drains the queue. */
void
audit_queue_set_writer(bool ready)
{
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	queue->writer_ready = ready;
	queue->writer_pid = ready ? MyProcPid : 0;
	queue->writer_latch = ready ? MyLatch : NULL;
	LWLockRelease(queue->lock);
	ConditionVariableBroadcast(&queue->space_cv);
}

/* Copy at most size - 1 bytes without splitting a multibyte character. */
static void
copy_name(char *dst, const char *src, size_t size)
{
	int			len;

	if (src == NULL)
		src = "";
	len = pg_mbcliplen(src, strlen(src), (int) size - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * Fill the session part of an event, safely from any backend state (no catalog needed);
 * the acting role and staff id from actor when given.
 */
static void
fill_session(AuditQueueEvent *ev, const AuditActor *actor)
{
	ev->logged_at = GetCurrentTimestamp();
	ev->statement_at = IsTransactionState() ? GetCurrentStatementStartTimestamp() : ev->logged_at;
	ev->backend_pid = MyProcPid;
	ev->client_addr[0] = '\0';
	if (MyProcPort != NULL && MyProcPort->raddr.addr.ss_family != AF_UNIX)
	{
		/* Numeric, whatever log_hostname says: the writer parses it as inet. */
		char		host[NI_MAXHOST];

		if (pg_getnameinfo_all(&MyProcPort->raddr.addr, MyProcPort->raddr.salen,
							   host, sizeof(host), NULL, 0, NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		{
			clean_ipv6_addr(MyProcPort->raddr.addr.ss_family, host);
			copy_name(ev->client_addr, host, ADDR_MAX);
		}
	}
	copy_name(ev->application_name, application_name, NAMEDATALEN);
	log_hygiene_mask_ascii_name(ev->application_name);	/* set by the client: free text */
	if (actor != NULL)
	{
		/* taken when the catalogs could be read: an event made while an error is reported */
		memcpy(ev->database_name, actor->database, NAMEDATALEN);
		memcpy(ev->session_role, actor->session_role, NAMEDATALEN);
	}
	else if (IsTransactionState() && OidIsValid(MyDatabaseId))
	{
		char	   *db = get_database_name(MyDatabaseId);

		copy_name(ev->database_name, db, NAMEDATALEN);
		copy_name(ev->session_role, GetUserNameFromId(GetSessionUserId(), true), NAMEDATALEN);
		copy_name(ev->acting_role, GetUserNameFromId(mnl_audit_user(), true), NAMEDATALEN);
		ev->has_staff_id = mnl_registry_staff_id(mnl_audit_user(), &ev->staff_id);
	}
	else if (MyProcPort != NULL)
	{
		copy_name(ev->database_name, MyProcPort->database_name, NAMEDATALEN);
		copy_name(ev->session_role, MyProcPort->user_name, NAMEDATALEN);
		copy_name(ev->acting_role, MyProcPort->user_name, NAMEDATALEN);
	}
	/* names are free text (a failed login's is the client's): no number in the trail */
	log_hygiene_mask(ev->database_name);
	log_hygiene_mask(ev->session_role);
	/* the acting role, set here or from the actor, is masked by emit() */
}

static int	emit_patience = -1;		/* audit_emit_patient: wait this long (ms) for room, then drop */

static void
queue_refuse(const char *why, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("could not record an audit event: %s", mnl_gettext(why)),
			 errhint("%s", mnl_gettext(hint))));
}

/*
 * Hand an event to the writer.  Returns true once it is in the queue.  With must_log, every
 * failure is an ERROR; otherwise it is counted as dropped and false is returned.
 */
bool
audit_emit(const char *kind, Oid relid, int64 row_count, bool has_row_count,
		   uint64 query_id, const char *detail, bool must_log)
{
	return emit(kind, relid, row_count, has_row_count, query_id, detail, NULL, 0, NULL, must_log, NULL);
}

/*
 * An event that waits for room in a full queue (up to patience_ms) instead of being dropped
 * at once, and is dropped (counted) only after that or when no writer runs: logins and
 * failed logins, which a session filling the queue with reads must not push out of the
 * trail at will.  Raises nothing.
 */
bool
audit_emit_patient(const char *kind, const char *detail, int patience_ms)
{
	volatile bool ok = false;

	emit_patience = Max(patience_ms, 0);
	PG_TRY();
	{
		ok = emit(kind, InvalidOid, 0, false, 0, detail, NULL, 0, NULL, false, NULL);
	}
	PG_FINALLY();
	{
		emit_patience = -1;
	}
	PG_END_TRY();
	return ok;
}

/*
 * Events made until audit_patience_end wait for room up to patience_ms, as
 * audit_emit_patient's do (a session's last owed records, at its end).  Returns what to give
 * back to audit_patience_end.
 */
int
audit_patience_begin(int patience_ms)
{
	int			was = emit_patience;

	emit_patience = Max(patience_ms, 0);
	return was;
}

void
audit_patience_end(int was)
{
	emit_patience = was;
}

/* A must_log event whose acting role is role (not the current user). */
void
audit_emit_as(Oid role, const char *kind, Oid relid, const char *detail)
{
	Oid			saved = mnl_acting_for;

	mnl_acting_for = role;
	PG_TRY();
	{
		audit_emit(kind, relid, 0, false, 0, detail, true);
	}
	PG_FINALLY();
	{
		mnl_acting_for = saved;
	}
	PG_END_TRY();
}

static void wait_committed(uint64 pos);

/*
 * A must_log event with its subject (the row key: whose data), durable before the caller
 * goes on: a lookup by number or a pseudonym given out answers which person it is, and is not
 * answered before its record would survive a crash (like a reveal).
 */
void
audit_emit_subject(const char *kind, Oid relid, int64 row_count, const char *const *keys,
				   int nkeys, const char *detail)
{
	uint64		pos;

	(void) emit(kind, relid, row_count, true, 0, detail, keys, nkeys, NULL, true, &pos);
	wait_committed(pos);
}

/*
 * Who acts now (the acting role and its staff id), kept for an event recorded later, when
 * the catalogs may no longer be read (a statement that failed: its transaction aborts).
 */
void
audit_actor_current(AuditActor *actor)
{
	copy_name(actor->role, GetUserNameFromId(mnl_audit_user(), true), NAMEDATALEN);
	copy_name(actor->session_role, GetUserNameFromId(GetSessionUserId(), true), NAMEDATALEN);
	copy_name(actor->database, OidIsValid(MyDatabaseId) ? get_database_name(MyDatabaseId) : "",
			  NAMEDATALEN);
	actor->relation_name = NULL;
	actor->has_staff_id = mnl_registry_staff_id(mnl_audit_user(), &actor->staff_id);
}

/* The schema-qualified name of relid, as records keep it, masked (palloc'd; "" if none). */
char *
audit_relation_name(Oid relid)
{
	char	   *nsp = get_namespace_name(get_rel_namespace(relid));
	char	   *rel = get_rel_name(relid);

	char	   *name;

	if (nsp == NULL || rel == NULL)
		return pstrdup("");
	name = pstrdup(quote_qualified_identifier(nsp, rel));
	log_hygiene_mask(name);		/* a name is the DBA's free text */
	return name;
}

/*
 * An event with row keys: the rows a read returned (one event may carry at most
 * audit_emit_max_keys() bytes of them), by actor (NULL: the current role).
 */
bool
audit_emit_keys(const char *kind, Oid relid, int64 row_count, bool has_row_count,
				uint64 query_id, const char *detail, const char *const *keys, int nkeys,
				const AuditActor *actor, bool must_log)
{
	return emit(kind, relid, row_count, has_row_count, query_id, detail, keys, nkeys, actor,
				must_log, NULL);
}

/*
 * Has the writer committed (synchronously) every event up to pos by deadline?  Each wait is
 * a real sleep, woken by the commit (a waiter that spun would take the CPU the writer needs):
 * prepared before the first check, so that the writer's broadcast after a commit cannot fall
 * between the check and the sleep.
 */
static bool
committed_by(uint64 pos, TimestampTz deadline)
{
	bool		done = false;

	ConditionVariablePrepareToSleep(&queue->space_cv);
	for (;;)
	{
		uint64		head;

		LWLockAcquire(queue->lock, LW_SHARED);
		head = queue->head;
		LWLockRelease(queue->lock);
		if (head > pos)
		{
			done = true;
			break;
		}
		if (GetCurrentTimestamp() >= deadline)
			break;
		/* sleeps until a broadcast or 100 ms; checks for interrupts itself (unless held) */
		(void) ConditionVariableTimedSleep(&queue->space_cv, 100, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return done;
}

/*
 * Wait until the writer has committed every event up to pos.  An ERROR when that does not
 * happen within ledger.audit_queue_timeout; the event may still be written later, so a limit
 * that counts it errs on the safe side.
 */
static void
wait_committed(uint64 pos)
{
	if (!committed_by(pos, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), mnl_audit_queue_timeout)))
		queue_refuse("the audit writer did not commit it in time",
					 "The audit writer is stopped or falling behind; see the server log, or raise ledger.audit_queue_timeout.");
}

/*
 * A must_log event with its subject (the row key: whose data), and not returned from until
 * the writer has committed it — synchronously, so that it survives a crash and is on a
 * synchronous standby before the caller goes on (a reveal, the use of an approval).
 */
void
audit_emit_durable(const char *kind, Oid relid, int64 row_count, const char *const *keys,
				   int nkeys, const char *detail)
{
	uint64		pos;

	(void) emit(kind, relid, row_count, true, 0, detail, keys, nkeys, NULL, true, &pos);
	wait_committed(pos);
}

/*
 * Read records made durable at the end of the statement (ledger.audit_read_durable): the
 * events of a statement's reads are queued as durable ones (the writer's transaction holding
 * one commits synchronously) and audit_reads_wait() waits for the last of them once, at the
 * end of the client's statement, so that reads of a function run many times wait once, and
 * concurrent statements share the writer's commits (group commit).
 */
static uint64 read_pending_pos = 0;
static bool read_pending = false;

bool
audit_emit_read(Oid relid, int64 row_count, bool has_row_count, uint64 query_id,
				const char *detail, const char *const *keys, int nkeys, const AuditActor *actor,
				bool must_log)
{
	uint64		pos;
	/* a client's backend: the writer (and other workers) answer no client, and the writer
	 * would wait for itself */
	bool		durable = mnl_audit_read_durable && MyBackendType == B_BACKEND;
	bool		ok = emit(AUDIT_KIND_SELECT, relid, row_count, has_row_count, query_id, detail, keys,
						  nkeys, actor, must_log, durable ? &pos : NULL);

	if (ok && durable)
	{
		read_pending_pos = read_pending ? Max(read_pending_pos, pos) : pos;
		read_pending = true;
	}
	return ok;
}

void
audit_reads_wait(void)
{
	uint64		pos = read_pending_pos;

	if (!read_pending || queue == NULL)
		return;
	read_pending = false;
	wait_committed(pos);
}

/* Are read records queued that the client's statement has not yet waited for? */
bool
audit_reads_pending(void)
{
	return read_pending && queue != NULL;
}

/*
 * audit_reads_wait() for a message about to reach the client (an error's text, a notice):
 * raises nothing, and is not ended by a cancel (the wait is bounded by
 * ledger.audit_queue_timeout).  False when the records were not committed in time.
 */
bool
audit_reads_wait_quiet(void)
{
	bool		done;

	if (!audit_reads_pending())
		return true;
	HOLD_INTERRUPTS();
	done = committed_by(read_pending_pos,
						TimestampTzPlusMilliseconds(GetCurrentTimestamp(), mnl_audit_queue_timeout));
	RESUME_INTERRUPTS();
	if (done)
		read_pending = false;
	return done;
}

/* Forget a pending wait (the transaction failed: nothing of it is answered). */
void
audit_reads_forget(void)
{
	read_pending = false;
}

static bool
emit(const char *kind, Oid relid, int64 row_count, bool has_row_count, uint64 query_id,
	 const char *detail, const char *const *keys, int nkeys, const AuditActor *actor,
	 bool must_log, uint64 *pos_out)
{
	AuditQueueEvent ev;
	TimestampTz deadline;
	bool		prepared = false;
	int			i;
	Size		keys_len = 0;
	char	   *key_bytes = NULL;

	if (queue == NULL)
	{
		if (must_log)
			queue_refuse("the audit queue does not exist",
						 "mynumber_ledger must be in shared_preload_libraries.");
		return false;
	}

	memset(&ev, 0, sizeof(ev));
	fill_session(&ev, actor);
	if (actor != NULL)
	{
		memcpy(ev.acting_role, actor->role, NAMEDATALEN);
		ev.has_staff_id = actor->has_staff_id;
		ev.staff_id = actor->staff_id;
	}
	copy_name(ev.kind, kind, sizeof(ev.kind));
	ev.relation_id = relid;
	if (actor != NULL && actor->relation_name != NULL)
		copy_name(ev.relation_name, actor->relation_name, RELNAME_MAX);
	else if (OidIsValid(relid) && IsTransactionState())
		copy_name(ev.relation_name, audit_relation_name(relid), RELNAME_MAX);
	log_hygiene_mask(ev.relation_name);
	log_hygiene_mask(ev.acting_role);
	ev.has_row_count = has_row_count;
	ev.row_count = row_count;
	ev.query_id = query_id;
	copy_name(ev.detail, detail, DETAIL_MAX);
	/* a caller's snprintf or the copy may have cut a character in two: keep whole ones only */
	ev.detail[pg_mbcliplen(ev.detail, strlen(ev.detail), strlen(ev.detail))] = '\0';
	log_hygiene_mask(ev.detail);	/* a purpose or reason is free text: no number in the trail */
	ev.durable = pos_out != NULL;
	ev.nkeys = nkeys;
	for (i = 0; i < nkeys; i++)
		keys_len += strlen(keys[i]) + 1;
	if (keys_len > audit_emit_max_keys())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the row keys of an audit record would be %zu bytes, more than one record carries (%zu)",
						keys_len, (size_t) audit_emit_max_keys()),
				 errhint("A key given to a recorded call (a reveal's context, say) is too long: pass a shorter one.")));
	if (keys_len > 0)
	{
		char	   *p = key_bytes = palloc(keys_len);

		for (i = 0; i < nkeys; i++)
		{
			size_t		len = strlen(keys[i]) + 1;

			memcpy(p, keys[i], len);
			log_hygiene_mask(p);	/* a key is a value of the row: no number in the trail */
			p += len;
		}
	}
	ev.keys_len = (uint32) keys_len;

	if (RecoveryInProgress())
	{
		if (must_log)
			queue_refuse("the server is in recovery",
						 "Audited reads and reveals are refused on a standby; run them on the primary.");
		return false;
	}

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   must_log ? mnl_audit_queue_timeout : Max(emit_patience, 0));
	for (;;)
	{
		bool		ready;
		bool		stored = false;
		Latch	   *latch = NULL;

		LWLockAcquire(queue->lock, LW_EXCLUSIVE);
		ready = queue->writer_ready;
		if (ready && queue->tail - queue->head < (uint64) queue->capacity &&
			queue->key_capacity - (queue->key_tail - queue->key_head) >= keys_len)
		{
			ev.keys_pos = queue->key_tail;
			if (keys_len > 0)
			{
				Size		at = queue->key_tail % queue->key_capacity;
				Size		first = Min(keys_len, queue->key_capacity - at);

				memcpy(KEY_RING(queue) + at, key_bytes, first);
				memcpy(KEY_RING(queue), key_bytes + first, keys_len - first);
				queue->key_tail += keys_len;
			}
			queue->slots[queue->tail % queue->capacity] = ev;
			if (pos_out)
				*pos_out = queue->tail;
			queue->tail++;
			queue->accepted++;
			latch = queue->writer_latch;
			stored = true;
		}
		else if ((!must_log && emit_patience < 0) || !ready)
			queue->dropped++;
		LWLockRelease(queue->lock);

		if (prepared && (stored || !ready || (!must_log && emit_patience < 0)))
			ConditionVariableCancelSleep();
		if (stored)
		{
			if (latch)
				SetLatch(latch);
			if (key_bytes)
				pfree(key_bytes);
			return true;
		}
		if (!ready)
		{
			if (must_log)
				queue_refuse("the audit writer is not running",
							 "Check that ledger.database names the database where the extension is installed, and see the server log.");
			return false;
		}
		if (!must_log && emit_patience < 0)
			return false;
		if (GetCurrentTimestamp() >= deadline)
		{
			LWLockAcquire(queue->lock, LW_EXCLUSIVE);
			queue->dropped++;
			LWLockRelease(queue->lock);
			if (!must_log)
			{
				/* patient (audit_emit_patient): dropped after the wait */
				ConditionVariableCancelSleep();
				if (key_bytes)
					pfree(key_bytes);
				return false;
			}
			queue_refuse("the audit queue is full",
						 "The audit writer is falling behind; raise ledger.audit_queue_size or ledger.audit_queue_timeout, or reduce the load.");
		}
		/* prepared, then the room checked again, then a real sleep (never a spin) */
		if (!prepared)
		{
			ConditionVariablePrepareToSleep(&queue->space_cv);
			prepared = true;
			continue;
		}
		(void) ConditionVariableTimedSleep(&queue->space_cv, 100, PG_WAIT_EXTENSION);
	}
}

/* Writer side: must the transaction that writes this event commit synchronously? */
bool
audit_queue_event_durable(const AuditQueueEvent *ev)
{
	return ev->durable;
}

/* Would a must_log event be accepted now (writer running, not in recovery)? */
bool
audit_emit_possible(void)
{
	bool		ready;

	if (queue == NULL || RecoveryInProgress())
		return false;
	LWLockAcquire(queue->lock, LW_SHARED);
	ready = queue->writer_ready;
	LWLockRelease(queue->lock);
	return ready;
}

/*
 * Writer side: copy up to max events from the head of the ring, leaving them there until
 * audit_queue_release() says they are committed (a writer that fails leaves them for the
 * next one).
 */
int
audit_queue_drain(AuditQueueEvent *out, int max, Size max_key_bytes, MemoryContext cxt)
{
	int			n = 0;
	Size		key_bytes = 0;
	uint64		pos;

	LWLockAcquire(queue->lock, LW_SHARED);
	for (pos = queue->head; n < max && pos < queue->tail; pos++)
	{
		AuditQueueEvent *ev = &out[n];

		*ev = queue->slots[pos % queue->capacity];
		if (n > 0 && key_bytes + ev->keys_len > max_key_bytes)
			break;				/* the rest in the next batch: the writer's memory is bounded */
		n++;
		key_bytes += ev->keys_len;
		ev->keys = NULL;
		if (ev->keys_len > 0)
		{
			Size		at = ev->keys_pos % queue->key_capacity;
			Size		first = Min((Size) ev->keys_len, queue->key_capacity - at);

			ev->keys = MemoryContextAlloc(cxt, ev->keys_len);
			memcpy(ev->keys, KEY_RING(queue) + at, first);
			memcpy(ev->keys + first, KEY_RING(queue), ev->keys_len - first);
		}
	}
	LWLockRelease(queue->lock);
	return n;
}

/* Writer side: the first n events are committed; free their slots and their keys. */
void
audit_queue_release(int n)
{
	AuditQueueEvent *last;

	if (n <= 0)
		return;
	LWLockAcquire(queue->lock, LW_EXCLUSIVE);
	last = &queue->slots[(queue->head + n - 1) % queue->capacity];
	queue->key_head = last->keys_pos + last->keys_len;
	queue->head += n;
	queue->written += n;
	LWLockRelease(queue->lock);
	ConditionVariableBroadcast(&queue->space_cv);
}

/* Writer side: the row of ledger.audit_event for a queued event (hash and ids come later). */
void
audit_queue_event_to_values(const AuditQueueEvent *ev, Datum *values, bool *nulls)
{
	memset(nulls, true, sizeof(bool) * AUDIT_NATTS);
#define SET(attr, datum) (values[(attr) - 1] = (datum), nulls[(attr) - 1] = false)
	SET(AA_LOGGED_AT, TimestampTzGetDatum(ev->logged_at));
	SET(AA_STATEMENT_AT, TimestampTzGetDatum(ev->statement_at));
	SET(AA_KIND, CStringGetTextDatum(ev->kind));
	SET(AA_DATABASE_NAME, CStringGetTextDatum(ev->database_name));
	SET(AA_SESSION_ROLE, CStringGetTextDatum(ev->session_role));
	SET(AA_CURRENT_ROLE, CStringGetTextDatum(ev->acting_role));
	SET(AA_BACKEND_PID, Int32GetDatum(ev->backend_pid));
	if (ev->has_staff_id)
		SET(AA_STAFF_ID, Int64GetDatum(ev->staff_id));
	if (ev->client_addr[0] != '\0')
		SET(AA_CLIENT_ADDR, DirectFunctionCall1(inet_in, CStringGetDatum(ev->client_addr)));
	if (ev->application_name[0] != '\0')
		SET(AA_APPLICATION_NAME, CStringGetTextDatum(ev->application_name));
	if (OidIsValid(ev->relation_id))
		SET(AA_RELATION_ID, ObjectIdGetDatum(ev->relation_id));
	if (ev->relation_name[0] != '\0')
		SET(AA_RELATION_NAME, CStringGetTextDatum(ev->relation_name));
	if (ev->has_row_count)
		SET(AA_ROW_COUNT, Int64GetDatum(ev->row_count));
	if (ev->query_id != 0)
		SET(AA_QUERY_ID, Int64GetDatum((int64) ev->query_id));
	if (ev->detail[0] != '\0')
		SET(AA_DETAIL, CStringGetTextDatum(ev->detail));
	if (ev->nkeys > 0 && ev->keys != NULL)
	{
		Datum	   *elems = palloc(sizeof(Datum) * ev->nkeys);
		const char *p = ev->keys;
		const char *end = ev->keys + ev->keys_len;
		int			i;

		for (i = 0; i < ev->nkeys; i++)
		{
			size_t		len = strnlen(p, end - p);

			if (p + len >= end)
				elog(ERROR, "an audit event's row keys are cut short");
			elems[i] = PointerGetDatum(cstring_to_text_with_len(p, (int) len));
			p += len + 1;
		}
		SET(AA_ROW_KEY, PointerGetDatum(construct_array(elems, ev->nkeys, TEXTOID, -1, false, TYPALIGN_INT)));
	}
#undef SET
}

/* ledger.audit_writer_status(): the queue's state, for operators. */
PG_FUNCTION_INFO_V1(audit_writer_status);
Datum
audit_writer_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	LWLockAcquire(queue->lock, LW_SHARED);
	values[0] = BoolGetDatum(queue->writer_ready);
	values[1] = Int32GetDatum(queue->writer_pid);
	values[2] = Int64GetDatum((int64) (queue->tail - queue->head));
	values[3] = Int64GetDatum((int64) queue->accepted);
	values[4] = Int64GetDatum((int64) queue->written);
	values[5] = Int64GetDatum((int64) queue->dropped);
	LWLockRelease(queue->lock);
	if (values[1] == Int32GetDatum(0))
		nulls[1] = true;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * ledger._record_denied(relation regclass, detail text): a denied event from SQL (the hold
 * guard), through the queue, so that it survives the rollback of the refused statement.
 * Owner only: EXECUTE is revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(audit_record_denied);
Datum
audit_record_denied(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_ARGISNULL(0) ? InvalidOid : PG_GETARG_OID(0);
	char	   *detail = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	/* called from a SECURITY DEFINER trigger: the one refused is the role outside it */
	audit_emit_as(OidIsValid(mnl_acting_for) ? mnl_acting_for : GetOuterUserId(),
				  AUDIT_KIND_DENIED, relid, detail);
	mnl_refusal_recorded = true;
	PG_RETURN_VOID();
}

/*
 * ledger._record_use(kind text, relation regclass, row_key text[], detail text): a record of a
 * use of a person's data by a gated function (a pseudonym given out), naming its subject, by
 * the staff member the function acts for.  Owner only: EXECUTE is revoked from PUBLIC.
 */
PG_FUNCTION_INFO_V1(audit_record_use);
Datum
audit_record_use(PG_FUNCTION_ARGS)
{
	Datum	   *elems;
	bool	   *enulls;
	int			n = 0;
	const char *keys[AUDIT_MAX_KEYS];
	int			i;

	mnl_require_arg(fcinfo, 0, "kind");
	if (!PG_ARGISNULL(2))
	{
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		n = Min(n, AUDIT_MAX_KEYS);
		for (i = 0; i < n; i++)
			keys[i] = enulls[i] ? "" : TextDatumGetCString(elems[i]);
	}
	audit_emit_subject(text_to_cstring(PG_GETARG_TEXT_PP(0)), PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1),
					   0, keys, n, PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3)));
	PG_RETURN_VOID();
}
