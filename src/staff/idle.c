/*
 * staff/idle.c — automatic log-off (一定時間後の自動ログオフ) per staff identity, enforced by the
 * database.  PostgreSQL's idle_session_timeout is the user's to change (SET, ALTER ROLE, PGOPTIONS)
 * and knows nothing of a staff member acting through a pooled role; this does not depend on it.
 *
 * Shared memory keeps, for each staff identity, the time of its last statement in any session
 * (a staff member's requests land on different pooled backends).  At each statement of a staff
 * identity (staff/session.c calls staff_idle_check):
 *   - a login of the staff member's own role signs the identity on (a new authentication);
 *   - an identity idle longer than ledger.staff_idle_session_timeout is refused and recorded:
 *     its own login is ended (FATAL: log in again); through a pooled role (SET ROLE) the
 *     statement fails until the application signs the person on again with
 *     ledger.staff_sign_on(), which only the authenticating role may call, never the staff
 *     member for themselves;
 *   - otherwise its last statement time moves on.
 * The setting is superuser-only: a staff member cannot lengthen the limit.
 *
 * Locking: StaffIdle->lock (one LWLock) protects the assignment of slots; a slot's time is a
 * 64-bit atomic, read and written without the lock by the backend that found the slot.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "audit/audit.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"
#include "staff/session.h"

#define IDLE_SLOTS	4096

typedef struct IdleSlot
{
	pg_atomic_uint32 role;		/* Oid, 0 for a free slot */
	pg_atomic_uint64 last;		/* TimestampTz of the identity's last statement */
} IdleSlot;

typedef struct StaffIdle
{
	LWLock	   *lock;
	IdleSlot	slots[IDLE_SLOTS];
} StaffIdle;

static StaffIdle *idle = NULL;
static Oid	signed_on_login = InvalidOid;	/* this backend's login, once signed on */

PG_FUNCTION_INFO_V1(staff_sign_on);

void
staff_idle_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(StaffIdle)));
	RequestNamedLWLockTranche("mynumber_ledger_staff_idle", 1);
}

void
staff_idle_shmem_startup(void)
{
	bool		found;
	int			i;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	idle = ShmemInitStruct("mynumber_ledger staff idle", sizeof(StaffIdle), &found);
	if (!found)
	{
		idle->lock = &(GetNamedLWLockTranche("mynumber_ledger_staff_idle"))->lock;
		for (i = 0; i < IDLE_SLOTS; i++)
		{
			pg_atomic_init_u32(&idle->slots[i].role, 0);
			pg_atomic_init_u64(&idle->slots[i].last, 0);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/* The slot of role, taken (with last = now) if it has none; NULL when the table is full. */
static IdleSlot *
slot_of(Oid role, TimestampTz now, bool *created)
{
	static Oid	cached_role = InvalidOid;
	static int	cached_index = -1;
	IdleSlot   *free_slot = NULL;
	int			i;

	*created = false;
	if (cached_index >= 0 && cached_role == role &&
		pg_atomic_read_u32(&idle->slots[cached_index].role) == role)
		return &idle->slots[cached_index];
	LWLockAcquire(idle->lock, LW_EXCLUSIVE);
	for (i = 0; i < IDLE_SLOTS; i++)
	{
		Oid			r = pg_atomic_read_u32(&idle->slots[i].role);

		if (r == role)
			break;
		if (r == InvalidOid && free_slot == NULL)
			free_slot = &idle->slots[i];
	}
	if (i == IDLE_SLOTS)
	{
		if (free_slot == NULL)
		{
			LWLockRelease(idle->lock);
			return NULL;
		}
		pg_atomic_write_u64(&free_slot->last, (uint64) now);
		pg_atomic_write_u32(&free_slot->role, role);
		i = free_slot - idle->slots;
		*created = true;
	}
	LWLockRelease(idle->lock);
	cached_role = role;
	cached_index = i;
	return &idle->slots[i];
}

/*
 * A statement of staff identity role; own_login when role is the session's own login.
 * Refuses an identity idle past the limit; else records this statement as its activity.
 */
void
staff_idle_check(Oid role, bool own_login)
{
	TimestampTz now = GetCurrentTimestamp();
	IdleSlot   *slot;
	bool		created;
	TimestampTz last;

	if (idle == NULL)
		return;
	slot = slot_of(role, now, &created);
	if (slot == NULL)
		return;					/* more staff identities than slots: PostgreSQL's own timeout */
	if (own_login && signed_on_login != role)
	{
		/* the first statement of a login of the staff member's own: a new authentication */
		signed_on_login = role;
		pg_atomic_write_u64(&slot->last, (uint64) now);
		return;
	}
	last = (TimestampTz) pg_atomic_read_u64(&slot->last);
	if (!created && mnl_staff_idle_timeout > 0 &&
		TimestampDifferenceExceeds(last, now, mnl_staff_idle_timeout))
	{
		audit_emit(AUDIT_KIND_DENIED, InvalidOid, 0, false, 0,
				   own_login ? "statement refused: idle past the staff idle limit (logged off)"
				   : "statement refused: idle past the staff idle limit (pooled identity)", false);
		if (own_login)
			ereport(FATAL,
					(errcode(ERRCODE_IDLE_SESSION_TIMEOUT),
					 errmsg("terminating the session: the staff member was idle longer than ledger.staff_idle_session_timeout"),
					 errhint("Log in again (automatic log-off).")));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: the staff member was idle longer than ledger.staff_idle_session_timeout"),
				 errhint("The application must authenticate the person again and call ledger.staff_sign_on() as its pooled role (automatic log-off).")));
	}
	pg_atomic_write_u64(&slot->last, (uint64) now);
}

/*
 * SQL function: ledger.staff_sign_on(role_name name) returns void
 * The pooled application role, having authenticated the person again, signs their staff
 * identity on: its idle clock starts afresh.  Only a login that may SET ROLE to the staff
 * role and is not that role itself (a staff member cannot extend their own time).
 */
Datum
staff_sign_on(PG_FUNCTION_ARGS)
{
	Oid			role;
	Oid			login = GetSessionUserId();
	int64		staff_id;
	bool		created;
	IdleSlot   *slot;

	mnl_require_arg(fcinfo, 0, "role_name");
	role = get_role_oid(NameStr(*PG_GETARG_NAME(0)), true);
	if (!OidIsValid(role) || !mnl_registry_staff_id(role, &staff_id) || mnl_registry_staff_inactive(role, &staff_id))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: only an active staff member can be signed on"),
				 errhint("Give the role of an active staff member (ledger.staff).")));
	if (role == login || mnl_registry_staff_id(login, &staff_id) ||
		(!superuser_arg(login) && !is_member_of_role(login, role)))
	{
		audit_refuse(InvalidOid, "sign-on refused: not the authenticating role", AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: a staff member is signed on by the application's pooled role, not by a staff login"),
					  errhint("Call it as the pooled role that may SET ROLE to the staff member, after authenticating the person.")));
	}
	if (idle != NULL && (slot = slot_of(role, GetCurrentTimestamp(), &created)) != NULL)
		pg_atomic_write_u64(&slot->last, (uint64) GetCurrentTimestamp());
	audit_emit_as(role, AUDIT_KIND_LOGIN, InvalidOid, "staff signed on through the pooled role");
	PG_RETURN_VOID();
}
