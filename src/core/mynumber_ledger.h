/*
 * mynumber_ledger.h — the core room, what every room stands on: the settings C reads,
 * working as the owner, the acting identity, the guard's bypass scope, the names reserved on
 * tables, the staff registry's counters and who a role is in it.
 */
#ifndef MYNUMBER_LEDGER_H
#define MYNUMBER_LEDGER_H

#include "core/compat.h"
#include "utils/relcache.h"

#define MNL_EXTENSION_NAME	"mynumber_ledger"

/*
 * nls.c: every ereport of a file that includes this header takes its messages from the
 * catalog of the extension's domain, mynumber_ledger-<major> (as PostgreSQL names its own);
 * mnl_gettext translates a message fragment a helper passes on to errmsg.
 */
#undef TEXTDOMAIN
#define TEXTDOMAIN			PG_TEXTDOMAIN("mynumber_ledger")
#define mnl_gettext(s)		dgettext(TEXTDOMAIN, (s))
#define mnl_gettext_noop(s)	(s)	/* a fragment marked for the catalog, translated later */
#define mnl_sql_msgid(s)	(s)	/* a message id of the SQL functions ('%' a parameter) */
extern void mnl_nls_init(void);
extern void mnl_nls_bind_encoding(void);
extern bool mnl_nls_translate_raise(ErrorData *edata, int param_budget);

/* sql_messages.c (written by po/sql_messages.py): the SQL functions' message ids */
extern const char *const mnl_sql_messages[];
extern const int mnl_sql_message_count;

/* Settings C reads, defined in settings.c; docs/api.md describes each. */
extern bool mnl_allow_all_zero_mynumber;	/* ledger.allow_all_zero_mynumber */
extern char *mnl_database;		/* ledger.database */
extern char *mnl_kek_command;	/* ledger.kek_command */
extern char *mnl_kek_command_next;	/* ledger.kek_command_next */
extern char *mnl_period_key_command;	/* ledger.period_key_command */
extern int	mnl_audit_queue_size;	/* ledger.audit_queue_size (events) */
extern int	mnl_audit_key_buffer;	/* ledger.audit_key_buffer (kB of row keys in the queue) */
extern int	mnl_audit_queue_timeout;	/* ledger.audit_queue_timeout (ms) */
extern int	mnl_audit_flush_delay;	/* ledger.audit_flush_delay (ms) */
extern int	mnl_audit_seal_interval;	/* ledger.audit_seal_interval (ms) */
extern int	mnl_audit_unsealed_limit;	/* ledger.audit_unsealed_limit (s) */
extern bool mnl_audit_read_durable;	/* ledger.audit_read_durable */
extern bool mnl_audit_sessions;	/* ledger.audit_sessions */
extern char *mnl_office_hours_start;	/* ledger.office_hours_start */
extern char *mnl_office_hours_end;	/* ledger.office_hours_end */

extern char *mnl_time_zone;		/* ledger.time_zone */
extern int	mnl_staff_idle_timeout;	/* ledger.staff_idle_session_timeout (ms) */
extern int	mnl_mask_digits;	/* ledger.mask_digits */
extern int	mnl_lookup_rate_per_minute; /* ledger.lookup_rate_per_minute */
extern int	mnl_lookup_daily_cap;		/* ledger.lookup_daily_cap */
extern int	mnl_lookup_min_duration;	/* ledger.lookup_min_duration (ms) */

/*
 * owner.c: work with the extension owner's rights, search_path pinned.  Flags:
 *   MNL_OWNER_RESTRICTED  also a security-restricted operation (no SET ROLE, no temporary
 *                         objects): work that only reads and writes the extension's tables
 *   MNL_OWNER_INTERNAL    the ledger's own lookups and bookkeeping, not the caller's reads
 *                         or statements (mnl_internal_depth > 0 while it runs)
 */
#define MNL_OWNER_RESTRICTED	0x01
#define MNL_OWNER_INTERNAL		0x02
extern int	mnl_internal_depth;
/*
 * The acting identity: while a gated function runs as the extension owner, the role it runs
 * for (the audit trail records this role, not the owner); mnl_audit_user() is that role,
 * else current_user.
 */
extern Oid	mnl_acting_for;
extern Oid	mnl_audit_user(void);
extern Oid	mnl_extension_owner(void);
extern void mnl_as_owner(void (*work) (void *arg), void *arg, int flags);

/*
 * Names the extension reserves on tables (the guard refuses them to everyone else):
 * ledger.protect_table() creates the policies and triggers named so.
 */
#define RESERVED_PREFIX			"mnl_"
#define PROTECT_POLICY_PREFIX	"mnl_rls_"
#define PROTECT_TRIGGER_NAME	"mnl_rls_write_gate"
#define PROTECT_HOLD_DELETE		"mnl_rls_hold_delete"	/* legal holds: DELETE, cascades */
#define PROTECT_HOLD_UPDATE		"mnl_rls_hold_update"	/* legal holds: UPDATE of what a hold names */
#define PROTECT_HOLD_TRUNCATE	"mnl_rls_hold_truncate" /* legal holds: TRUNCATE */
#define PROTECT_NO_NUMBER		"mnl_rls_no_number"	/* no My Number in clear in any column */

/*
 * version.c: the release of this database's SQL objects, which may be older than the
 * library's until ALTER EXTENSION ... UPDATE (src/upgrade/README.md).
 */
extern char *mnl_sql_version(void);
extern bool mnl_sql_at_least(const char *release);

/* relations.c: test(rel) on the table with this oid (false when there is none); protected? */
extern bool mnl_relation_test(Oid relid, bool (*test) (Relation rel));
extern bool mnl_is_protected(Relation rel);
extern bool mnl_is_protected_relid(Oid relid);

/*
 * The one bypass scope of the guard: set only by the extension's own C code around its
 * own DDL and trail writes, never by SQL.  GUARD_BYPASS_BEGIN ... GUARD_BYPASS_END brings
 * the previous state back however the block ends (a PG_TRY block: a local it changes and
 * reads after must be volatile).
 */
extern bool mnl_guard_bypass;
#define GUARD_BYPASS_BEGIN \
	do { \
		bool		guard_bypass_saved_ = mnl_guard_bypass; \
		mnl_guard_bypass = true; \
		PG_TRY(); \
		{
#define GUARD_BYPASS_END \
		} \
		PG_FINALLY(); \
		{ \
			mnl_guard_bypass = guard_bypass_saved_; \
		} \
		PG_END_TRY(); \
	} while (0)

/*
 * registry.c: the staff registry's change counters (shared: bumped at commit; local: at
 * once in the writing backend) and who a role is in it.  A role that is not staff, or that
 * cannot be looked up now (no transaction, lookups disabled while an error unwinds), is
 * answered false.
 */
extern void mnl_registry_shmem_request(void);
extern void mnl_registry_shmem_startup(void);
extern uint64 mnl_registry_shared_generation(void);
extern uint64 mnl_registry_local_generation;
extern void mnl_registry_note_change(void);
extern bool mnl_registry_lookups_disabled;
extern bool mnl_registry_staff_id(Oid roleid, int64 *staff_id);
extern bool mnl_registry_staff_inactive(Oid roleid, int64 *staff_id);

/* functions.c: nextval, the clocks, random: volatile, but carry nothing of a row anywhere. */
extern bool mnl_function_carries_nothing(Oid fn);

/* settings.c: define the ledger.* settings (at load). */
extern void mnl_define_settings(void);

/* args.c: a NULL where a value is needed is refused (22004), naming the argument. */
struct FunctionCallInfoBaseData;
extern void mnl_require_arg(struct FunctionCallInfoBaseData *fcinfo, int argno, const char *argname);

#endif							/* MYNUMBER_LEDGER_H */
