/*
 * messages.c — no message reaches the client before the records of the rows it may carry
 * are durable (ledger.audit_read_durable).
 *
 * An error's text (a failing cast quotes the value), a notice raised while rows are read
 * (RAISE NOTICE '%', r) or its context line can carry values of rows a statement has read,
 * and they go to the client at once, before the statement ends and waits for its read
 * records.  The backend's protocol output is wrapped: before an ErrorResponse or a
 * NoticeResponse leaves, the reads so far are recorded and the writer's synchronous commit
 * of them is awaited (reads/hooks.c).  When that fails, the message leaves with its
 * severity and SQLSTATE only and a text saying it was withheld.  The wrap sees every
 * message whatever log_min_messages says; the server log's copy, written first, waits the
 * same way in an emit_log_hook (reads_emit_log_hook).  The rows themselves are held back the
 * same way (below): none leaves before the records of the reads that produced it are durable.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq/libpq.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"

#include "reads/reads.h"

#include "core/mynumber_ledger.h"

static const PQcommMethods *socket_methods = NULL;
static PQcommMethods wrapped_methods;
static bool active = false;

/*
 * The rows (DataRow, CopyData, FunctionCallResponse) of a statement whose read records are
 * not yet durable are held here, not in the server's send buffer, which sends them when it
 * fills: they leave once the records are durable (the statement's end, a FETCH's, a notice),
 * or every HOLD_MAX bytes after the rows so far were recorded durably; a statement that fails
 * (its records could not be made durable) sends none of them.
 */
#define HOLD_MAX	(1024 * 1024)
#define WITHHELD_TEXT	mnl_gettext_noop("the text of this message is withheld: the record of the rows read could not be made durable")
#define HINT_NOT_DURABLE	mnl_gettext_noop("The audit writer is stopped or falling behind (ledger.audit_queue_timeout); see ledger.audit_writer_status() and the server log.")
static StringInfoData held;		/* type byte, 4-byte length, body; repeated */

/* The message with only its severity and SQLSTATE, and a text saying it was withheld. */
static void
withheld(const char *s, size_t len, StringInfo out)
{
	size_t		at = 0;

	initStringInfo(out);
	while (at < len && s[at] != '\0')
	{
		char		field = s[at];
		const char *value = s + at + 1;
		size_t		vlen = strnlen(value, len - at - 1);

		if (field == PG_DIAG_SEVERITY || field == PG_DIAG_SEVERITY_NONLOCALIZED ||
			field == PG_DIAG_SQLSTATE)
		{
			appendStringInfoChar(out, field);
			appendBinaryStringInfo(out, value, vlen);
			appendStringInfoChar(out, '\0');
		}
		at += vlen + 2;
	}
	appendStringInfoChar(out, PG_DIAG_MESSAGE_PRIMARY);
	appendStringInfoString(out, WITHHELD_TEXT);	/* ASCII: the bytes go out as they are */
	appendStringInfoChar(out, '\0');
	appendStringInfoChar(out, PG_DIAG_MESSAGE_HINT);
	appendStringInfoString(out, HINT_NOT_DURABLE);
	appendStringInfoChar(out, '\0');
	appendStringInfoChar(out, '\0');
}

/* The reads so far durable (raising nothing); false when that failed. */
static bool
durable_now(bool ending)
{
	bool		ok = true;

	active = true;
	PG_TRY();
	{
		ok = reads_durable_before_message(ending);
	}
	PG_FINALLY();
	{
		active = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * The server log gets its copy of a message before the client does (and whatever the
 * client's client_min_messages): the log hook makes the reads so far durable first, or
 * withholds the text from both.  A failure there is remembered for the client's copy, which
 * then does not wait a second time.
 */
static emit_log_hook_type prev_emit_log_hook = NULL;
static bool log_copy_withheld = false;

static void
reads_emit_log_hook(ErrorData *edata)
{
	log_copy_withheld = false;
	if (edata->output_to_server && !active && MyBackendType == B_BACKEND && reads_to_record())
	{
		if (!durable_now(edata->elevel >= ERROR))
		{
			edata->message = pstrdup(mnl_gettext(WITHHELD_TEXT));
			edata->detail = NULL;
			edata->detail_log = NULL;
			edata->context = NULL;
			edata->internalquery = NULL;
			edata->hint = pstrdup(mnl_gettext(HINT_NOT_DURABLE));
			log_copy_withheld = edata->output_to_client;
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * Before an error or a notice leaves: the reads so far durable.  True when the message may
 * go as it is; otherwise out holds the message to send instead.
 */
static bool
message_may_leave(char msgtype, const char *s, size_t len, StringInfo out)
{
	if ((msgtype != 'E' && msgtype != 'N') || active)
		return true;
	if (log_copy_withheld)
	{
		log_copy_withheld = false;	/* the log hook withheld it already, after its own wait */
		withheld(s, len, out);
		return false;
	}
	if (!reads_to_record())
		return true;
	if (durable_now(msgtype == 'E'))
		return true;
	withheld(s, len, out);
	return false;
}

static void
hold_row(char msgtype, const char *s, size_t len)
{
	uint32		n = (uint32) len;

	if (held.data == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&held);
		MemoryContextSwitchTo(old);
	}
	appendStringInfoChar(&held, msgtype);
	appendBinaryStringInfo(&held, (const char *) &n, sizeof(n));
	appendBinaryStringInfo(&held, s, len);
}

static void
discard_held(void)
{
	if (held.data == NULL)
		return;
	if (held.maxlen > 4 * HOLD_MAX)
	{
		pfree(held.data);
		held.data = NULL;		/* a large result's buffer is not kept */
	}
	else
		resetStringInfo(&held);
}

/* Send the held rows, in order, to the server's own send buffer. */
static int
release_held(void)
{
	int			at = 0;
	int			r = 0;

	while (held.data != NULL && at < held.len)
	{
		char		t = held.data[at];
		uint32		n;

		memcpy(&n, held.data + at + 1, sizeof(n));
		r |= socket_methods->putmessage(t, held.data + at + 1 + sizeof(n), n);
		at += 1 + sizeof(n) + n;
	}
	discard_held();
	return r;
}

static void
refuse_held(void)
{
	discard_held();
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("could not record an audit event: the rows read could not be made durable"),
			 errhint(HINT_NOT_DURABLE)));
}

static bool session_ready = false;	/* a ReadyForQuery has gone out: the session started */

/* Has this session finished starting (sent its first ReadyForQuery)? */
bool
read_session_ready(void)
{
	return session_ready;
}

static int
wrapped_putmessage(char msgtype, const char *s, size_t len)
{
	StringInfoData out;

	if (msgtype == 'Z')
		session_ready = true;

	if (active)
		return socket_methods->putmessage(msgtype, s, len);
	if (msgtype == 'D')
		read_carry_check_active();	/* a stored row, under the role that read it only */
	/*
	 * A row (DataRow), a COPY ... TO's data (CopyData) and its end (CopyDone, sent before the
	 * COPY's own record is made), a fast-path function's result (FunctionCallResponse) are
	 * held alike.
	 */
	if ((msgtype == 'D' || msgtype == 'd' || msgtype == 'V' ||
		 (msgtype == 'c' && held.data != NULL && held.len > 0)) &&
		reads_to_record())
	{
		hold_row(msgtype, s, len);
		if (held.len >= HOLD_MAX)
		{
			if (!durable_now(false))
				refuse_held();
			return release_held();
		}
		return 0;
	}
	if (held.data != NULL && held.len > 0)
	{
		if (msgtype == 'E')
			discard_held();		/* the statement failed: none of its rows */
		else if (msgtype != 'N')	/* a notice decides below, for both */
		{
			if (reads_to_record() && !durable_now(false))
				refuse_held();
			(void) release_held();
		}
	}
	if (message_may_leave(msgtype, s, len, &out))
	{
		if (msgtype == 'N')
			(void) release_held();	/* durable: the rows before the notice go first */
		return socket_methods->putmessage(msgtype, s, len);
	}
	/*
	 * A notice whose reads could not be made durable goes without its text; the rows before
	 * it stay held (not dropped: a result is never silently short), and leave with the rest
	 * once the statement's own records are durable, or not at all when they cannot be.
	 */
	return socket_methods->putmessage(msgtype, out.data, out.len);
}

static void
wrapped_putmessage_noblock(char msgtype, const char *s, size_t len)
{
	StringInfoData out;

	if (message_may_leave(msgtype, s, len, &out))
		socket_methods->putmessage_noblock(msgtype, s, len);
	else
		socket_methods->putmessage_noblock(msgtype, out.data, out.len);
}

/*
 * Wrap this backend's protocol output (once: at login, or when it first reads an audited
 * table; only a client's backend, whose output goes to its socket).
 */
void
read_messages_wrap(void)
{
	if (MyBackendType != B_BACKEND || whereToSendOutput != DestRemote ||
		PqCommMethods == &wrapped_methods || PqCommMethods == NULL)
		return;
	socket_methods = PqCommMethods;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = reads_emit_log_hook;
	wrapped_methods = *socket_methods;	/* whatever else the version's methods hold */
	wrapped_methods.putmessage = wrapped_putmessage;
	wrapped_methods.putmessage_noblock = wrapped_putmessage_noblock;
	PqCommMethods = &wrapped_methods;
}
