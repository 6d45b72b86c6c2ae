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
#include "catalog/pg_class.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "commands/prepare.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/portal.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"

#include "audit/audit.h"
#include "log_hygiene/log_hygiene.h"
#include "core/compat.h"
#include "core/mynumber_ledger.h"
#include "staff/perm.h"
#include "staff/session.h"

/*
 * A pooled login (not a superuser, not staff itself, granted staff roles: an application's
 * connection, behind a pool that hands the session to the next client after each
 * transaction) takes a staff identity for one transaction only: SET LOCAL ROLE.  A SET ROLE
 * that would outlive the transaction is refused, and an identity that was carried into a
 * transaction from an earlier one (set_config('role', ..., false), a role default) is
 * refused at the transaction's first statement that is not leaving it: the next client of
 * the pool would act, and be recorded, as the previous one's staff member.
 */
static LocalTransactionId start_lxid = InvalidLocalTransactionId;
static Oid	start_outer = InvalidOid;	/* the identity the transaction started with */

static bool pooled_login(Oid session);
static void refuse_pooled(const char *detail, const char *message);
static void refuse_state_statement(Node *stmt, Oid session, Oid outer);
static bool creates_temp_object(Node *stmt);
static bool xact_saw_data = false;	/* this transaction acted as staff or read an audited table */
static bool xact_session_state = false; /* ... and left something for the session's next one */
static List *xact_prepared = NIL;	/* names PREPAREd in this transaction (TopTransactionContext) */
static List *xact_held = NIL;	/* names of cursors DECLAREd WITH HOLD in this transaction */

/* Do the prepared statements and held cursors this transaction made still exist? */
static bool
named_state_remains(void)
{
	ListCell   *lc;

	foreach(lc, xact_prepared)
		if (FetchPreparedStatement(strVal(lfirst(lc)), false) != NULL)
			return true;
	foreach(lc, xact_held)
		if (PortalIsValid(GetPortalByName(strVal(lfirst(lc)))))
			return true;
	return false;
}

/*
 * The value a string setting will have when this transaction commits, where this
 * transaction set it for the session (SET, set_config(..., false)); NULL where the commit
 * restores what it was before (not set, or set only for the transaction).
 */
static const char *
persisting_value(struct config_generic *v)
{
	struct config_string *cs = (struct config_string *) v;

	if (v->vartype != PGC_STRING || v->stack == NULL)
		return NULL;
	if (v->stack->state == GUC_SET)
		return cs->variable ? *cs->variable : NULL;
	if (v->stack->state == GUC_SET_LOCAL)
		return v->stack->masked.val.stringval;
	return NULL;
}

static void
refuse_commit(const char *detail, const char *message, const char *name)
{
	audit_refuse(InvalidOid, detail, AUDIT_MAY_DROP,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg(message, name),
				  errhint("A pooled login keeps nothing past its transaction: set the identity and settings for the transaction (SET LOCAL, set_config(..., true)); the pool hands the session to another client next.")));
}

/*
 * A pooled login's transaction commits nothing that the pool's next client would inherit:
 *
 *   - no staff identity: a role set for the session (set_config('role', ..., false), SET
 *     ROLE being refused when issued) or carried from the connection is refused at commit,
 *     whatever ran in between (a fast-path call passes no statement gate);
 *   - when it acted as staff or read an audited table: no setting that holds text changed
 *     for the session (a custom x.* setting holds any length; its reset value and an empty
 *     one carry nothing), and no other state of the session made — a prepared statement or a
 *     LISTEN channel still there (temporary objects and held cursors are refused when made) —
 *     each a channel for rows read as one staff member to the next client or identity.
 *
 * A driver's own settings at connection (the startup packet; pgJDBC's SET application_name
 * before anything is read) are not affected; track_activities is the extension's own.
 */
/* The session's login is a pooled one (its last decision: the session user does not change). */
static bool session_pooled = false;

static void
pooled_commit_check(XactEvent event, void *arg)
{
	struct config_generic **vars;
	int			n;
	int			i;
	bool		saw_data;
	bool		left_state;

	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
	{
		if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
			event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		{
			xact_saw_data = xact_session_state = false;
			xact_prepared = xact_held = NIL;	/* their memory went with the transaction */
			/*
			 * A sequence's currval and lastval are the session's, outside any transaction:
			 * the pool's next client would read what this one left there (nextval until
			 * currval says a value it read).  A pooled login's transaction ends with none.
			 */
			if (MyBackendType == B_BACKEND && session_pooled)
				ResetSequenceCaches();
		}
		return;
	}
	saw_data = xact_saw_data || GetOuterUserId() != GetSessionUserId();
	left_state = xact_session_state || named_state_remains();
	if (MyBackendType != B_BACKEND || mnl_internal_depth > 0 || !pooled_login(GetSessionUserId()))
		return;
	vars = mnl_guc_variables(&n);
	for (i = 0; i < n; i++)
	{
		struct config_generic *v = vars[i];
		const char *after;

		if (strcmp(v->name, "role") == 0)
		{
			after = v->stack != NULL ? persisting_value(v) :
				(GetOuterUserId() != GetSessionUserId() ? "(connection)" : NULL);
			if (after != NULL && after[0] != '\0' && pg_strcasecmp(after, "none") != 0)
				refuse_commit("commit refused: a pooled login's role would outlive the transaction",
							  mnl_gettext_noop("permission denied: a pooled login's role \"%s\" would outlive the transaction"),
							  v->stack != NULL ? after : GetUserNameFromId(GetOuterUserId(), true));
			continue;
		}
		if (!saw_data || strcmp(v->name, "session_authorization") == 0 ||
			strcmp(v->name, "track_activities") == 0)
			continue;
		after = persisting_value(v);
		if (after == NULL || after[0] == '\0' ||
			(((struct config_string *) v)->reset_val != NULL &&
			 strcmp(after, ((struct config_string *) v)->reset_val) == 0))
			continue;			/* back to what it was at connection, or empty: carries nothing */
		refuse_commit("commit refused: a pooled login set a text setting for the session",
					  mnl_gettext_noop("permission denied: a pooled login cannot set \"%s\" for the session"), v->name);
	}
	if (saw_data && left_state)
		refuse_commit("commit refused: a pooled login's staff transaction left state for the session",
					  mnl_gettext_noop("permission denied: a pooled login's transaction that read ledger data cannot leave %s for the session"),
					  mnl_gettext("a prepared statement, a LISTEN, a cursor WITH HOLD or a temporary object"));
}

/* A statement makes a temporary object: state of the session, holding what it was given. */
static bool
creates_temp_object(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_CreateStmt:
			return ((CreateStmt *) stmt)->relation->relpersistence == RELPERSISTENCE_TEMP;
		case T_CreateTableAsStmt:
			return ((CreateTableAsStmt *) stmt)->into->rel->relpersistence == RELPERSISTENCE_TEMP;
		case T_CreateSeqStmt:
			return ((CreateSeqStmt *) stmt)->sequence->relpersistence == RELPERSISTENCE_TEMP;
		case T_ViewStmt:
			return ((ViewStmt *) stmt)->view->relpersistence == RELPERSISTENCE_TEMP;
		case T_CreateFunctionStmt:
			{
				List	   *name = ((CreateFunctionStmt *) stmt)->funcname;

				return list_length(name) > 1 && strcmp(strVal(linitial(name)), "pg_temp") == 0;
			}
		case T_DefineStmt:
		case T_CompositeTypeStmt:
		case T_CreateEnumStmt:
		case T_CreateRangeStmt:
		case T_CreateDomainStmt:
			return true;		/* a type or an operator, in pg_temp or anywhere: refused alike */
		default:
			return false;
	}
}

/*
 * A statement leaves state for the session's later transactions (SQL-level).  A prepared
 * statement or a held cursor is remembered by name, and counts only if it is still there at
 * commit (DEALLOCATE, CLOSE undo it); the others count once made.
 */
static void
remember_name(List **names, const char *name)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	*names = lappend(*names, makeString(pstrdup(name)));
	MemoryContextSwitchTo(old);
}

static bool
leaves_session_state(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_PrepareStmt:
			remember_name(&xact_prepared, ((PrepareStmt *) stmt)->name);
			return false;
		case T_DeclareCursorStmt:
			if (((DeclareCursorStmt *) stmt)->options & CURSOR_OPT_HOLD)
				remember_name(&xact_held, ((DeclareCursorStmt *) stmt)->portalname);
			return false;
		case T_ListenStmt:
			return true;
		default:
			return creates_temp_object(stmt);
	}
}

/*
 * Statements that write text of the caller's choosing where it outlives the statement, refused
 * before they run:
 *
 *   - staff (the staff identity acting, not the extension's own functions running as their
 *     owner) run no DDL but CREATE TABLE AS, which the export duty guards: a CREATE TYPE ...
 *     AS ENUM, a domain's default, a function's body, a view's definition or an object's name
 *     built from rows a staff member reads would be a copy in a catalog every role reads;
 *   - a pooled login's transaction that acted as staff or read an audited table runs no DDL,
 *     PREPARE or LISTEN (a prepared statement is not undone by a rollback), and a pooled login
 *     makes no temporary object (a sequence's nextval counts past any rollback) and declares
 *     no cursor WITH HOLD (stored before its commit could be refused): each would hand rows
 *     to the pool's next client.
 */
static void
refuse_state_statement(Node *stmt, Oid session, Oid outer)
{
	int64		staff_id;
	bool		ddl = GetCommandLogLevel(stmt) == LOGSTMT_DDL;

	/* CREATE TABLE AS too, without the export duty: its table's and columns' names can hold rows */
	if (ddl && !superuser_arg(GetUserId()) && GetUserId() != mnl_extension_owner() &&
		(mnl_registry_staff_id(outer, &staff_id) || mnl_registry_staff_id(session, &staff_id)) &&
		!(IsA(stmt, CreateTableAsStmt) && perm_may_any("export", "child_allowance")))
		audit_refuse(InvalidOid, "statement refused: staff run no DDL", AUDIT_MAY_DROP,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: staff run no DDL"),
					  errhint("Staff work through the ledger's functions and tables; a DBA (not acting as staff) defines objects, and bulk copies need the export duty.")));
	/* NOTIFY: a payload (8,000 bytes) and a channel name reach every listener, whoever it is */
	if (IsA(stmt, NotifyStmt) &&
		(mnl_registry_staff_id(outer, &staff_id) || mnl_registry_staff_id(session, &staff_id) ||
		 pooled_login(session)))
		audit_refuse(InvalidOid, "statement refused: staff and pooled logins send no notification", AUDIT_MAY_DROP,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied: staff and pooled logins send no notification"),
					  errhint("A notification's channel and payload reach every listener; the ledger's own functions tell what changed.")));
	if (!(ddl || IsA(stmt, PrepareStmt) || IsA(stmt, ListenStmt) ||
		  (IsA(stmt, DeclareCursorStmt) && (((DeclareCursorStmt *) stmt)->options & CURSOR_OPT_HOLD))))
		return;
	if (!pooled_login(session))
		return;
	if (creates_temp_object(stmt))
		refuse_pooled("statement refused: a pooled login creates no temporary object",
					  mnl_gettext_noop("permission denied: a pooled login creates no temporary object"));
	if (IsA(stmt, DeclareCursorStmt))
		refuse_pooled("statement refused: a pooled login declares no cursor WITH HOLD",
					  mnl_gettext_noop("permission denied: a pooled login declares no cursor WITH HOLD"));
	if (xact_saw_data || outer != session)
		refuse_pooled("statement refused: a pooled login's transaction that read ledger data leaves nothing for the session",
					  mnl_gettext_noop("permission denied: a pooled login's transaction that read ledger data runs no DDL, PREPARE or LISTEN"));
}


/* Is session a pooled login?  Decided once per transaction (memberships change between). */
static bool
pooled_login(Oid session)
{
	static LocalTransactionId decided_in = InvalidLocalTransactionId;
	static Oid	decided_for = InvalidOid;
	static bool pooled = false;
	Oid			staff_role;
	int64		staff_id;

	if (decided_in == MNL_MY_LXID && decided_for == session && decided_in != InvalidLocalTransactionId)
		return pooled;
	if (superuser_arg(session) || mnl_registry_staff_id(session, &staff_id))
		pooled = false;
	else
	{
		staff_role = get_role_oid("ledger_staff", true);
		pooled = OidIsValid(staff_role) && is_member_of_role(session, staff_role);
	}
	decided_in = MNL_MY_LXID;
	decided_for = session;
	session_pooled = pooled;
	return pooled;
}

static bool
sets_role_for_session(Node *stmt)
{
	VariableSetStmt *v;
	char	   *value;

	if (stmt == NULL || !IsA(stmt, VariableSetStmt))
		return false;
	v = (VariableSetStmt *) stmt;
	if (v->is_local || v->kind != VAR_SET_VALUE || v->name == NULL || strcmp(v->name, "role") != 0)
		return false;
	value = ExtractSetVariableArgs(v);
	return value != NULL && pg_strcasecmp(value, "none") != 0;
}

static void
refuse_pooled(const char *detail, const char *message)
{
	audit_refuse(InvalidOid, detail, AUDIT_MAY_DROP,
				 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				  errmsg("%s", mnl_gettext(message)),
				  errhint("A pooled login sets the staff member for one transaction: BEGIN; SET LOCAL ROLE <staff role>; ...; COMMIT (RESET ROLE first).")));
}

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
	static bool deciding = false;
	Oid			session;
	Oid			outer;
	int64		staff_id;

	if (IsParallelWorker())
		return worker_serves_staff();
	if (log_hygiene_staff_session)
		return true;

	/*
	 * The statement gate decides at each statement once it is parsed; before that, while the
	 * session's first statement is parsed (a literal of a DBA's type runs its input function
	 * and its domain's checks) or its first fast-path call runs, nothing has decided yet:
	 * decide now, from the same identities, and keep it for the gate to confirm.
	 */
	if (deciding || MyBackendType != B_BACKEND || mnl_internal_depth > 0 || !IsTransactionState() ||
		IsAbortedTransactionBlockState())
		return false;
	session = GetSessionUserId();
	outer = GetOuterUserId();
	deciding = true;
	PG_TRY();
	{
		log_hygiene_staff_session = pooled_login(session) || mnl_registry_staff_id(session, &staff_id) ||
			(outer != session && mnl_registry_staff_id(outer, &staff_id));
	}
	PG_FINALLY();
	{
		deciding = false;
	}
	PG_END_TRY();
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

	mnl_nls_bind_encoding();	/* the messages of this statement, in the database encoding */
	if (IsParallelWorker())
	{
		/* its messages are cut like the leader's (log_hygiene) */
		if (IsTransactionState())
			log_hygiene_staff_session = worker_serves_staff();
		return;
	}
	if (MyBackendType != B_BACKEND || mnl_internal_depth > 0 || !IsTransactionState())
		return;
	if (start_lxid != MNL_MY_LXID)
	{
		/* the transaction's first statement: the identity it inherited */
		start_lxid = MNL_MY_LXID;
		start_outer = outer;
	}
	if (utility_stmt != NULL && leaves_session_state(utility_stmt))
		xact_session_state = true;
	if (utility_stmt != NULL)
		refuse_state_statement(utility_stmt, session, outer);
	if (sets_role_for_session(utility_stmt) && pooled_login(session))
		refuse_pooled("statement refused: a pooled login sets a staff identity for the session",
					  "permission denied: a pooled login sets a staff identity for one transaction only (SET LOCAL ROLE)");
	if (always_allowed(utility_stmt))
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
	log_hygiene_staff_session = pooled_login(session) || mnl_registry_staff_id(session, &staff_id) ||
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

	/* a pooled login's identity from an earlier transaction: perhaps another client's */
	if (outer != session)
		xact_saw_data = true;
	if (outer != session && pooled_login(session))
	{
		if (outer == start_outer)
			refuse_pooled("statement refused: a pooled login's identity carried over from an earlier transaction",
						  "permission denied: a pooled login's staff identity was set in an earlier transaction");
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

/*
 * Whether the session acts as staff, decided as soon as a statement is parsed: an error the
 * planner raises (a constant folded) comes before the executor's gate, and the log's cut
 * (log_hygiene) must already know.
 */
static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

static void
staff_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (MyBackendType == B_BACKEND && !IsParallelWorker() && mnl_internal_depth == 0 &&
		IsTransactionState())
	{
		Oid			session = GetSessionUserId();
		Oid			outer = GetOuterUserId();
		int64		staff_id;

		log_hygiene_staff_session = pooled_login(session) || mnl_registry_staff_id(session, &staff_id) ||
			(outer != session && mnl_registry_staff_id(outer, &staff_id));
	}
}

/* At load (_PG_init): every backend checks a pooled login's settings at commit. */
void
staff_session_install(void)
{
	RegisterXactCallback(pooled_commit_check, NULL);
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = staff_post_parse_analyze;
}

/* An audited table is read in this transaction (reads/hooks.c). */
void
staff_session_data_read(void)
{
	xact_saw_data = true;
}

/* Is this session's login a pooled login (guard/objects.c)? */
bool
staff_session_pooled(void)
{
	return IsTransactionState() && pooled_login(GetSessionUserId());
}
