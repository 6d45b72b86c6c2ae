/*
 * audit.h — the audit trail's record layout and the interfaces between its parts.
 *
 *   audit/record.c   canonical encoding and SHA-256 of a record; hash of a block
 *   audit/store.c    writing records into the trail (bypassing SQL, which is closed)
 *   audit/trigger.c  the triggers of audited tables (transition-table statement triggers,
 *                    or a row trigger for partitioned tables) and audit_table()
 *   audit/queue.c    shared-memory queue for events that must survive ROLLBACK
 *   audit/worker.c   background writer: drains the queue, seals blocks, adds partitions
 *   audit/seal.c     sealing committed records into hash-chained blocks; verification
 *   audit/readkeys.c the row keys a read returned, encoded for a record
 *   audit/trail_guard.c  the trail's tables refuse every row change made through SQL
 *
 * The hooks that record reads, denials and sessions are the reads room (reads/hooks.c);
 * the DDL guard that keeps audit triggers and the trail's tables intact is the guard room.
 *
 * A record is a row of ledger.audit_event; the attribute numbers below must match the
 * column order in audit.sql (test/pgtap/audit.sql checks it).
 */
#ifndef MNL_AUDIT_H
#define MNL_AUDIT_H

#include "access/attnum.h"
#include "access/transam.h"
#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/palloc.h"
#include "utils/relcache.h"

/* Columns of ledger.audit_event, 1-based as in the catalog. */
typedef enum AuditAttr
{
	AA_EVENT_ID = 1,			/* int8 */
	AA_XACT_ID,					/* int8: full id of the top-level transaction that wrote it */
	AA_LOGGED_AT,				/* timestamptz: clock time of the event */
	AA_STATEMENT_AT,			/* timestamptz: start of the statement */
	AA_KIND,					/* text: insert, update, delete, truncate, select, ... */
	AA_DATABASE_NAME,			/* text */
	AA_SESSION_ROLE,			/* text: session_user (the login) */
	AA_CURRENT_ROLE,			/* text: acting_role = current_user (after SET ROLE / definer) */
	AA_STAFF_ID,				/* int8, NULL until staff exist */
	AA_BACKEND_PID,				/* int4 */
	AA_CLIENT_ADDR,				/* inet, NULL for Unix sockets */
	AA_APPLICATION_NAME,		/* text */
	AA_RELATION_ID,				/* oid */
	AA_RELATION_NAME,			/* text: schema-qualified */
	AA_ROW_KEY,					/* text[]: primary-key values of the row */
	AA_COLUMNS,					/* text[]: column_names recorded (changed ones for update) */
	AA_SENSITIVE_COLUMNS,		/* text[]: of those, the ones whose values are withheld */
	AA_OLD_VALUES,				/* text[]: aligned with columns; NULL element = withheld or SQL NULL */
	AA_NEW_VALUES,				/* text[] */
	AA_ROW_COUNT,				/* int8: rows returned (select), affected */
	AA_QUERY_ID,				/* int8: pg_stat_statements-compatible query id */
	AA_DETAIL,					/* text: purpose, reason, duration, ... */
	AA_RECORD_HASH				/* bytea: SHA-256 of the canonical encoding of 1..22 */
} AuditAttr;

#define AUDIT_NATTS			AA_RECORD_HASH
#define AUDIT_HASH_LEN		32

/* Event kinds (AA_KIND). */
#define AUDIT_KIND_INSERT		"insert"
#define AUDIT_KIND_UPDATE		"update"
#define AUDIT_KIND_DELETE		"delete"
#define AUDIT_KIND_TRUNCATE		"truncate"
#define AUDIT_KIND_SELECT		"select"
#define AUDIT_KIND_REVEAL		"reveal"
#define AUDIT_KIND_DENIED		"denied"
#define AUDIT_KIND_LOGIN		"login"
#define AUDIT_KIND_LOGIN_FAILED "login_failed"
#define AUDIT_KIND_LOGOUT		"logout"
#define AUDIT_KIND_DROP			"drop"	/* an audited table or column dropped (in its transaction) */
#define AUDIT_KIND_ALTER		"alter" /* an audited table's definition changed (in its transaction) */
#define AUDIT_KIND_SETTING		"setting"	/* a setting of the extension changed (audit/worker.c, guard) */
#define AUDIT_KIND_LOOKUP		"lookup"	/* ledger.find_person: outcome and person, no number */

/*
 * Names of the triggers audit_table() creates.  The guard reserves every trigger name that
 * starts with AUDIT_TRIGGER_PREFIX.
 */
#define AUDIT_TRIGGER_PREFIX	"mnl_audit_"
#define AUDIT_INSERT_TRIGGER	"mnl_audit_insert"	/* ordinary tables: transition tables */
#define AUDIT_UPDATE_TRIGGER	"mnl_audit_update"
#define AUDIT_DELETE_TRIGGER	"mnl_audit_delete"
#define AUDIT_ROW_TRIGGER		"mnl_audit_row"	/* partitioned tables: row trigger */
#define AUDIT_STMT_TRIGGER		"mnl_audit_statement"
#define AUDIT_TRUNCATE_TRIGGER	"mnl_audit_truncate"

/* First argument of an audit trigger that withholds every value but those of the key
 * columns and of the columns named after it (protected tables). */
#define AUDIT_WITHHOLD_ALL		"*"

/* audit/readkeys.c: the row keys a read returned */
typedef struct ReadRelInfo
{
	Oid			relid;			/* hash key */
	bool		valid;
	bool		is_table;		/* an ordinary table (nothing else is answered) */
	bool		protected;		/* carries the extension's policies (protect_table) */
	int			nkeys;			/* primary-key columns; 0: none to name rows by */
	AttrNumber	attnos[INDEX_MAX_KEYS];
	Oid			typid[INDEX_MAX_KEYS];
	int16		typlen[INDEX_MAX_KEYS];
	bool		typbyval[INDEX_MAX_KEYS];
	Oid			outfn[INDEX_MAX_KEYS];
	char		relname[2 * NAMEDATALEN + 8];	/* schema-qualified, quoted */
} ReadRelInfo;
typedef struct ReadKeySet ReadKeySet;
struct TupleTableSlot;
extern int	read_keys_table_keys(Relation rel, AttrNumber *attnos);
extern const ReadRelInfo *read_rel_info(Oid relid);
extern ReadKeySet *read_keys_create(const ReadRelInfo *info, MemoryContext cxt);
extern void read_keys_add(ReadKeySet *ks, struct TupleTableSlot *slot, const AttrNumber *attnos);
extern bool read_keys_empty(ReadKeySet *ks);
extern void read_keys_clear(ReadKeySet *ks);
extern List *read_keys_encode(ReadKeySet *ks, Size max_element);

/* audit/record.c */
extern void audit_record_hash(const Datum *values, const bool *nulls, uint8 *out);
extern bool audit_record_arrays_canonical(const Datum *values, const bool *nulls);

typedef struct AuditBlockHasher AuditBlockHasher;
extern AuditBlockHasher *audit_block_hasher_begin(const uint8 *prev_hash, int64 block_seq,
												  uint64 xact_lo, uint64 xact_hi);
extern void audit_block_hasher_add(AuditBlockHasher *h, const uint8 *record_hash);
extern void audit_block_hasher_end(AuditBlockHasher *h, int64 count, uint8 *out);

/* audit/store.c */
extern void audit_fill_context(Datum *values, bool *nulls);
extern void audit_buffer_add(Datum *values, bool *nulls);
extern void audit_buffer_flush(void);
extern void audit_store_now(Datum *values, bool *nulls, int n);
extern void audit_store_init(void);
extern Oid	audit_trail_namespace(void);
/* audit/trigger.c */
extern void audit_record_drop(Oid relid, int subid);
extern void audit_record_ddl(Oid relid, const char *kind, const char *detail);

/* audit/queue.c */
#define AUDIT_MAX_KEYS	3		/* row key elements of a single row (a reveal's subject) */
#define AUDIT_KIND_APPROVAL_USED "approval_used"	/* a two-person approval spent (audit/worker.c) */
typedef struct AuditQueueEvent AuditQueueEvent;
extern void audit_queue_shmem_request(void);
extern void audit_queue_shmem_startup(void);
extern bool audit_emit_patient(const char *kind, const char *detail, int patience_ms);
extern int	audit_patience_begin(int patience_ms);
extern void audit_patience_end(int was);
extern bool audit_emit(const char *kind, Oid relid, int64 row_count, bool has_row_count,
					   uint64 query_id, const char *detail, bool must_log);
extern void audit_emit_as(Oid role, const char *kind, Oid relid, const char *detail);
/*
 * Record a refusal, then refuse (ERROR with ereport_args).  The record is an event of the
 * audit queue, outside the transaction: a ROLLBACK keeps it.  record says what a full queue
 * does: AUDIT_MUST_RECORD, no refusal without its record (an ERROR saying so instead);
 * AUDIT_MAY_DROP, a refusal repeated at every statement (the statement gate) is counted as
 * dropped.
 */
#define AUDIT_MUST_RECORD true
#define AUDIT_MAY_DROP false
#define audit_refuse(relid, detail, record, ereport_args) \
	do { \
		(void) audit_emit(AUDIT_KIND_DENIED, (relid), 0, false, 0, (detail), (record)); \
		ereport(ERROR, ereport_args); \
	} while (0)
extern void audit_emit_subject(const char *kind, Oid relid, int64 row_count,
							   const char *const *keys, int nkeys, const char *detail);
/* Who acted and on what, taken while the catalogs can be read, for an event made later. */
typedef struct AuditActor
{
	char		role[NAMEDATALEN];
	char		session_role[NAMEDATALEN];
	char		database[NAMEDATALEN];
	bool		has_staff_id;
	int64		staff_id;
	const char *relation_name;	/* of the event's relation; NULL: looked up when emitted */
} AuditActor;
extern void audit_actor_current(AuditActor *actor);
extern char *audit_relation_name(Oid relid);
extern bool audit_emit_keys(const char *kind, Oid relid, int64 row_count, bool has_row_count,
							uint64 query_id, const char *detail, const char *const *keys,
							int nkeys, const AuditActor *actor, bool must_log);
extern void audit_emit_durable(const char *kind, Oid relid, int64 row_count,
							   const char *const *keys, int nkeys, const char *detail);
/* A read's record, made durable before the client's statement ends (ledger.audit_read_durable). */
extern bool audit_emit_read(Oid relid, int64 row_count, bool has_row_count, uint64 query_id,
							const char *detail, const char *const *keys, int nkeys,
							const AuditActor *actor, bool must_log);
extern void audit_reads_wait(void);
extern bool audit_reads_pending(void);
extern bool audit_reads_wait_quiet(void);
extern void audit_reads_forget(void);
extern bool audit_emit_possible(void);
extern bool audit_queue_event_durable(const AuditQueueEvent *ev);
extern bool mnl_refusal_recorded;	/* ledger._record_denied ran: the gate records no second event */
extern Size audit_emit_max_keys(void);
extern int	audit_queue_drain(AuditQueueEvent *out, int max, Size max_key_bytes, MemoryContext cxt);
extern void audit_queue_release(int n);
extern void audit_queue_event_to_values(const AuditQueueEvent *ev, Datum *values, bool *nulls);
extern void audit_queue_set_writer(bool ready);
extern Size audit_queue_event_size(void);

/* audit/trigger.c */
extern bool audit_is_number_type(Oid typid);
extern bool audit_is_audited_relation(Relation rel);	/* carries the trail's triggers */
extern bool audit_trail_installed(void);	/* the extension is installed in this database */
extern bool audit_is_trail_relation(Oid relid);	/* a table of the trail itself */

/* audit/worker.c */
extern void audit_worker_register(void);

/* audit/seal.c */
extern int64 audit_seal_pending(void);
extern void audit_summarize_trail_index(void);


#endif							/* MNL_AUDIT_H */
