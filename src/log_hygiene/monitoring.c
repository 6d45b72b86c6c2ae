/*
 * log_hygiene/monitoring.c — no number in monitoring (ATTACKS.md §6).
 *
 * The text of a statement reaches more places than the log: pg_stat_activity.query (read by
 * members of pg_read_all_stats), and the text pg_stat_statements keeps, in its view and in its
 * file on disk — for utility statements (DO, CALL, EXPLAIN, PREPARE ...) verbatim, literals
 * and all.  The extension sees the text before those do, and masks it on the way when it holds
 * a valid My Number (the same masker as the log, numbers/nummask.c, which keeps every byte
 * offset, so statement locations stay right):
 *
 *   post_parse_analyze   reports the masked text as the backend's activity (it replaces what
 *                        PostgreSQL reported a moment before, at the statement's arrival) and
 *                        hands the masked text on as the statement's source text;
 *   ExecutorRun          reports it again (an Execute message of the extended protocol
 *                        reports the text as sent, after the statement was parsed);
 *   ProcessUtility       hands the masked text down the chain (to pg_stat_statements).
 *
 * Both run before another extension's hooks only when this library is loaded after it: list
 * mynumber_ledger after pg_stat_statements (and any other library that keeps query text) in
 * shared_preload_libraries.  A server started with another order is warned at start.
 *
 * What stays outside its reach (docs/audit.md): the instant between a statement's arrival and
 * its parse, when pg_stat_activity shows the text as sent; a number pg_stat_statements keeps
 * for a planned statement only as an identifier or comment (constants it replaces itself);
 * sorts and hashes of revealed numbers larger than work_mem, which spill to base/pgsql_tmp.
 *
 * Must never: change the length of the text, or the text of a statement that holds no number.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "libpq/auth.h"
#include "libpq/libpq-be.h"
#include "parser/analyze.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

#include "core/compat.h"
#include "core/mynumber_ledger.h"
#include "log_hygiene/log_hygiene.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;

/*
 * The client's statement (debug_query_string) is scanned once however many statements run
 * inside it: it and its masked copy (NULL: no number) are kept.  Other texts (statements that
 * functions run) are scanned each time: one may be freed and another allocated at the same
 * address, so a pointer says nothing about them.  Copies live in MessageContext, with the
 * client message whose statements they mask (and so as long as any use of them here); what
 * is kept is forgotten when that context is reset.  A copy is never freed before: a statement
 * nested in another may be scanned while the outer statement still passes its copy down.
 * Without MessageContext (a background worker) nothing is masked here: those run the DBA's
 * commands.
 */
static const char *client_text = NULL;
static char *client_copy = NULL;
static bool forget_registered = false;

static void
forget_texts(void *arg)
{
	client_text = NULL;
	client_copy = NULL;
	forget_registered = false;
}

/* A masked copy of text, or NULL when it holds no number (or is already a masked copy). */
static const char *
masked(const char *text)
{
	bool		client = text == debug_query_string;
	char	   *copy;

	if (text == NULL || MessageContext == NULL || (client_copy != NULL && text == client_copy))
		return NULL;
	if (client && text == client_text)
		return client_copy;
	if (!forget_registered)
	{
		MemoryContextCallback *cb = MemoryContextAlloc(MessageContext, sizeof(MemoryContextCallback));

		cb->func = forget_texts;
		cb->arg = NULL;
		MemoryContextRegisterResetCallback(MessageContext, cb);
		forget_registered = true;
	}
	copy = MemoryContextStrdup(MessageContext, text);
	if (!log_hygiene_mask(copy))
	{
		pfree(copy);
		copy = NULL;
	}
	if (client)
	{
		client_text = text;
		client_copy = copy;
	}
	return copy;
}

/* pg_stat_activity: the statement running, masked (PostgreSQL reported it as sent). */
static void
report_masked_activity(void)
{
	const char *m = masked(debug_query_string);

	if (m != NULL && pgstat_track_activities)
		pgstat_report_activity(STATE_RUNNING, m);
}

/*
 * application_name is the client's free text, shown in pg_stat_activity and in every log
 * line's prefix (%a): one holding a number is replaced, for the session, by its masked form.
 */
static void
mask_application_name(void)
{
	char	   *copy;

	if (application_name == NULL || application_name[0] == '\0')
		return;
	copy = pstrdup(application_name);
	if (log_hygiene_mask_ascii_name(copy))
		SetConfigOption("application_name", copy, PGC_USERSET, PGC_S_SESSION);
	pfree(copy);
}

static void
monitoring_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	const char *m;

	mask_application_name();
	m = masked(pstate->p_sourcetext);
	if (m != NULL)
		pstate->p_sourcetext = m;
	report_masked_activity();
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
}

/* An Execute message of the extended protocol reports the statement's text again, as sent. */
static void
monitoring_ExecutorRun(MNL_EXECUTOR_RUN_PARAMS)
{
	report_masked_activity();
	if (prev_ExecutorRun)
		prev_ExecutorRun(MNL_EXECUTOR_RUN_ARGS);
	else
		standard_ExecutorRun(MNL_EXECUTOR_RUN_ARGS);
}

static void
monitoring_ProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						  ProcessUtilityContext context, ParamListInfo params,
						  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	const char *m = masked(queryString);

	if (m != NULL)
		queryString = m;
	report_masked_activity();
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
}

/* Is pg_stat_statements loaded after this library (its hooks would then run first)? */
static void
warn_if_loaded_before(void)
{
	char	   *list = pstrdup(shared_preload_libraries_string ? shared_preload_libraries_string : "");
	List	   *names = NIL;
	ListCell   *lc;
	bool		seen_self = false;

	if (!SplitIdentifierString(list, ',', &names))
		return;
	foreach(lc, names)
	{
		const char *name = lfirst(lc);

		if (strcmp(name, "mynumber_ledger") == 0)
			seen_self = true;
		else if (seen_self && strcmp(name, "pg_stat_statements") == 0)
			ereport(WARNING,
					(errmsg("pg_stat_statements is loaded after mynumber_ledger: it keeps the text of statements before the extension masks My Numbers in it"),
					 errhint("List mynumber_ledger after pg_stat_statements in shared_preload_libraries, or set pg_stat_statements.track_utility = off.")));
	}
}

/*
 * The user and database names a client sends are free text too, printed in every log line's
 * prefix (%u@%d) and kept by the trail of a failed login: masked once authentication has
 * run (a role or database named like a My Number then does not exist for a login).
 */
static ClientAuthentication_hook_type prev_ClientAuthentication = NULL;

static void
monitoring_ClientAuthentication(Port *port, int status)
{
	if (port != NULL)
	{
		log_hygiene_mask(port->user_name);
		log_hygiene_mask(port->database_name);
	}
	if (prev_ClientAuthentication)
		prev_ClientAuthentication(port, status);
}

void
monitoring_install(void)
{
	warn_if_loaded_before();
	prev_ClientAuthentication = ClientAuthentication_hook;
	ClientAuthentication_hook = monitoring_ClientAuthentication;
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = monitoring_post_parse_analyze;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = monitoring_ExecutorRun;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = monitoring_ProcessUtility;
}
