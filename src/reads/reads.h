/*
 * reads.h — the reads room: the hooks that record what the server read and who logged in
 * (reads/hooks.c), the scans that report the keys of the rows a read returned
 * (reads/scan.c), the wrap that holds an error or a notice back until the reads it may
 * carry are durable (reads/messages.c), and the portals that carry rows a function read to a
 * later answer (reads/carry.c).  The trail they write to is the audit room's.
 */
#ifndef MNL_READS_H
#define MNL_READS_H

#include "audit/audit.h"

/* reads/hooks.c: install the executor, utility and authentication hooks (at load). */
extern void reads_install(void);
/* ... and for reads/messages.c: reads not yet durable, and making them durable now */
extern bool reads_to_record(void);
extern bool reads_durable_before_message(bool ending);

/* reads/messages.c: no error or notice leaves before the reads it may carry are durable. */
extern void read_messages_wrap(void);
extern bool read_session_ready(void);

/* reads/scan.c: wrap the scans of a protected table so each visible row's key is kept. */
struct PlanState;
extern void read_scan_install(void);
extern List *read_scan_attach(struct PlanState *root, const ReadRelInfo *info, ReadKeySet *ks,
							  MemoryContext cxt);
extern void read_scan_detach(List *scans);

/* reads/carry.c: rows a portal's run read through functions, held cursors, stored results. */
struct QueryDesc;
extern int	read_carry_run_begin(struct QueryDesc *qd, bool internal, bool reads_protected);
extern void read_carry_run_end(int depth);
extern void read_carry_read(Oid relid, bool protected);
extern void read_carry_end(struct QueryDesc *qd);
extern void read_carry_check_stores(const char *portal_name);
extern void read_carry_check_active(void);
extern void read_carry_install(void);

#endif							/* MNL_READS_H */
