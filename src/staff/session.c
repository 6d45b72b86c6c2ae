/*
 * staff/session.c — the statement gate of staff identities: every statement of a session
 * whose login (session user) or SET ROLE identity (outer user) is a staff member who is no
 * longer active — retired, or past the validity period — is refused before it runs, and the
 * refusal is recorded.  Row-level security already shows such a role no row; this gate
 * closes every other road an open session keeps: functions gated by role membership (a
 * retired DBA lifting a legal hold), a cursor opened before the retirement (FETCH), a
 * prepared statement, an identity a pooled connection SET ROLEd to earlier — and any SET ROLE
 * identity the login is no longer a member of (a role reached through the retired person).
 *
 * Called by the executor and utility hooks (guard/hooks.c) for statements of ordinary
 * backends, outside the extension's own internal work: at the start of every statement and at
 * every run of one (a protocol-level Execute of a portal bound earlier, a FETCH), once per
 * statement and identity.  What stays allowed: ending the
 * transaction and changing the identity (COMMIT, ROLLBACK, RESET ROLE, SET ROLE, SET
 * SESSION AUTHORIZATION, DISCARD), so that a pooled connection can leave the identity.
 *
 * Must never: name anything of a row in a message, or refuse the extension's own work
 * (the gated twins, the audit writer, parallel workers).
 */
#include "postgres.h"

#include "utils/backend_status.h"
#include "utils/guc.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"

#include "audit/audit.h"
#include "log_hygiene/log_hygiene.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"
#include "staff/session.h"

/* Statements an inactive identity may still run: leaving the transaction or the identity. */
static bool
always_allowed(Node *stmt)
{
	if (stmt == NULL)
		return false;
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
		case T_DiscardStmt:
			return true;
		case T_VariableSetStmt:
			{
				VariableSetStmt *v = (VariableSetStmt *) stmt;

				return v->name != NULL &&
					(strcmp(v->name, "role") == 0 || strcmp(v->name, "session_authorization") == 0);
			}
		default:
			return false;
	}
}

/*
 * Statements that store text of the caller's choosing where every role reads it (role and
 * database defaults in pg_db_role_setting, comments in pg_description, security labels): a
 * road around the export duty for rows a staff member can read.  Staff have no need of them.
 */
static bool
stores_text_for_others(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_AlterRoleSetStmt:
		case T_AlterDatabaseSetStmt:
		case T_CommentStmt:
		case T_SecLabelStmt:
			return true;
		default:
			return false;
	}
}

static void
refuse_inactive(Oid role, const char *which)
{
	char		detail[160];
	const char *name = GetUserNameFromId(role, true);

	snprintf(detail, sizeof(detail), "statement refused: %s is a staff member no longer active", which);
	audit_refuse(InvalidOid, detail, AUDIT_MAY_DROP,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("permission denied: staff member \"%s\" is no longer active", name ? name : "?"),
				  errhint("Retired staff and staff outside their validity period can do nothing; log in with an active staff role.")));
}

/*
 * A session acting as staff (a pooled login after SET ROLE too) is not shown in
 * pg_stat_activity: a statement's text is reported as sent before it is parsed and masked,
 * and a parse that waits for a lock, or fails, leaves it there.
 */
static void
stop_tracking_activity(void)
{
	if (pgstat_track_activities)
		SetConfigOption("track_activities", "off", PGC_SUSET, PGC_S_SESSION);
}

void
staff_session_identity_changed(void)
{
	int64		staff_id;

	if (IsTransactionState() &&
		(mnl_registry_staff_id(GetOuterUserId(), &staff_id) || mnl_registry_staff_id(GetSessionUserId(), &staff_id)))
		stop_tracking_activity();
}

/*
 * A parallel worker serves the leader's session, whose staff flag it does not have (nor can
 * it read the registry: no new snapshot there).  It goes by the roles the leader handed it:
 * a session or outer role that is a member of ledger_staff (every active staff member, by
 * the registry's role sync) is a staff session.  Computed once per worker, from an executor
 * hook (never from the log hook).
 */
static int	worker_staff = -1;

static bool
worker_serves_staff(void)
{
	if (worker_staff < 0)
	{
		Oid			staff_role = get_role_oid("ledger_staff", true);

		worker_staff = OidIsValid(staff_role) &&
			(is_member_of_role_nosuper(GetSessionUserId(), staff_role) ||
			 is_member_of_role_nosuper(GetOuterUserId(), staff_role)) ? 1 : 0;
	}
	return worker_staff == 1;
}

bool
staff_session_acting(void)
{
	if (IsParallelWorker())
		return worker_serves_staff();
	return log_hygiene_staff_session;
}

void
staff_session_check(Node *utility_stmt)
{
	Oid			session = GetSessionUserId();
	Oid			outer = GetOuterUserId();
	int64		staff_id;
	static TimestampTz passed_stmt = 0;	/* the statement (and identity) last let through */
	static Oid	passed_session = InvalidOid;
	static Oid	passed_outer = InvalidOid;

	if (IsParallelWorker())
	{
		/* its messages are cut like the leader's (log_hygiene) */
		if (IsTransactionState())
			log_hygiene_staff_session = worker_serves_staff();
		return;
	}
	if (MyBackendType != B_BACKEND || mnl_internal_depth > 0 ||
		!IsTransactionState() || always_allowed(utility_stmt))
		return;
	if (utility_stmt != NULL && stores_text_for_others(utility_stmt) &&
		(mnl_registry_staff_id(outer, &staff_id) || mnl_registry_staff_id(session, &staff_id)))
	{
		audit_refuse(InvalidOid, "statement refused: staff do not set role or database defaults or comments", AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: staff do not set role or database defaults or comments"),
					  errhint("Text stored there is readable by every role; a staff administrator or a superuser sets them.")));
	}
	/* once a statement: its start, its run and its nested statements ask again */
	if (passed_stmt == GetCurrentStatementStartTimestamp() && passed_session == session &&
		passed_outer == outer)
		return;
	log_hygiene_staff_session = mnl_registry_staff_id(session, &staff_id) ||
		(outer != session && mnl_registry_staff_id(outer, &staff_id));
	/* from this statement on; the entry of this one is cleared now */
	if (log_hygiene_staff_session && pgstat_track_activities)
	{
		stop_tracking_activity();
		pgstat_report_activity(STATE_RUNNING, NULL);
	}
	if (mnl_registry_staff_inactive(session, &staff_id))
		refuse_inactive(session, "the login");
	if (outer != session && mnl_registry_staff_inactive(outer, &staff_id))
		refuse_inactive(outer, "the role set by SET ROLE");

	/*
	 * A SET ROLE identity the login may no longer become (its membership was revoked, as a
	 * retirement revokes every one, after the SET ROLE): PostgreSQL checks membership only
	 * at SET ROLE, so the session would keep acting as the role.
	 */
	if (outer != session && !superuser_arg(session) && !is_member_of_role(session, outer))
	{
		audit_refuse(InvalidOid, "statement refused: the role set by SET ROLE is no longer granted to the login", AUDIT_MAY_DROP,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: the role set by SET ROLE is no longer granted to this login"),
					  errhint("Its membership was revoked (a retirement revokes every one); RESET ROLE, or SET ROLE to a role still granted.")));
	}

	/* the idle limit of the staff identity acting: the SET ROLE one, else the login */
	if (mnl_registry_staff_id(outer, &staff_id))
		staff_idle_check(outer, outer == session);
	else if (mnl_registry_staff_id(session, &staff_id))
		staff_idle_check(session, true);
	passed_stmt = GetCurrentStatementStartTimestamp();
	passed_session = session;
	passed_outer = outer;
}
