/*
 * mynumber_ledger.h — what the module's files share: the settings defined
 * at load time (module.c) and the names used in messages.
 */
#ifndef MYNUMBER_LEDGER_H
#define MYNUMBER_LEDGER_H

#include "compat.h"

#define MNL_EXTENSION_NAME	"mynumber_ledger"

/* Settings, defined in module.c; docs/api.md describes each. */
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
extern bool mnl_audit_sessions;	/* ledger.audit_sessions */
extern char *mnl_office_hours_start;	/* ledger.office_hours_start */
extern char *mnl_office_hours_end;	/* ledger.office_hours_end */

extern char *mnl_time_zone;		/* ledger.time_zone */
extern int	mnl_staff_idle_timeout;	/* ledger.staff_idle_session_timeout (ms) */
extern int	mnl_mask_digits;	/* ledger.mask_digits */

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

/* settings.c: define the ledger.* settings (at load). */
extern void mnl_define_settings(void);

/* args.c: a NULL where a value is needed is refused (22004), naming the argument. */
struct FunctionCallInfoBaseData;
extern void mnl_require_arg(struct FunctionCallInfoBaseData *fcinfo, int argno, const char *argname);

#endif							/* MYNUMBER_LEDGER_H */
