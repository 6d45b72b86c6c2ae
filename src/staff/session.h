/*
 * staff/session.h — the statement gate of staff identities (staff/session.c).
 */
#ifndef MNL_STAFF_SESSION_H
#define MNL_STAFF_SESSION_H

#include "nodes/nodes.h"

/* Refuse (42501, recorded) a statement of an inactive staff identity; utility_stmt is the
 * utility statement, or NULL for a plannable one. */
extern void staff_session_check(Node *utility_stmt);
/* Does the session act as staff (its login or its SET ROLE identity), as of the statement the
 * gate last let through? */
extern bool staff_session_acting(void);
/* After SET ROLE / SET SESSION AUTHORIZATION: a staff identity's statements leave
 * pg_stat_activity from the next one on. */
extern void staff_session_identity_changed(void);
/* At load: a pooled login's session settings are checked when each transaction commits. */
extern void staff_session_install(void);
/* An audited table is read in this transaction: a pooled login's session settings are checked. */
extern void staff_session_data_read(void);
/* Is this session's login a pooled login (not staff, not a superuser, granted staff roles)? */
extern bool staff_session_pooled(void);

/* staff/idle.c: the idle limit per staff identity (自動ログオフ). */
extern void staff_idle_shmem_request(void);
extern void staff_idle_shmem_startup(void);
extern void staff_idle_check(Oid role, bool own_login);

#endif							/* MNL_STAFF_SESSION_H */
