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
 * message whatever log_min_messages says (emit_log_hook does not: it runs only for
 * messages the server logs).
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "libpq/libpq.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"

#include "reads/reads.h"

static const PQcommMethods *socket_methods = NULL;
static PQcommMethods wrapped_methods;
static bool active = false;

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
	appendStringInfoString(out, "the text of this message is withheld: the record of the rows read could not be made durable");
	appendStringInfoChar(out, '\0');
	appendStringInfoChar(out, PG_DIAG_MESSAGE_HINT);
	appendStringInfoString(out, "The audit writer is stopped or falling behind (ledger.audit_queue_timeout); see ledger.audit_writer_status() and the server log.");
	appendStringInfoChar(out, '\0');
	appendStringInfoChar(out, '\0');
}

/*
 * Before an error or a notice leaves: the reads so far durable.  True when the message may
 * go as it is; otherwise out holds the message to send instead.
 */
static bool
message_may_leave(char msgtype, const char *s, size_t len, StringInfo out)
{
	bool		ok = true;

	if ((msgtype != 'E' && msgtype != 'N') || active || !reads_to_record())
		return true;
	active = true;
	PG_TRY();
	{
		ok = reads_durable_before_message(msgtype == 'E');
	}
	PG_FINALLY();
	{
		active = false;
	}
	PG_END_TRY();
	if (!ok)
		withheld(s, len, out);
	return ok;
}

static int
wrapped_putmessage(char msgtype, const char *s, size_t len)
{
	StringInfoData out;

	if (message_may_leave(msgtype, s, len, &out))
		return socket_methods->putmessage(msgtype, s, len);
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
 * Wrap this backend's protocol output (once, when it first reads an audited table; only a
 * client's backend, whose output goes to its socket).
 */
void
read_messages_wrap(void)
{
	if (MyBackendType != B_BACKEND || whereToSendOutput != DestRemote ||
		PqCommMethods == &wrapped_methods || PqCommMethods == NULL)
		return;
	socket_methods = PqCommMethods;
	wrapped_methods = *socket_methods;	/* whatever else the version's methods hold */
	wrapped_methods.putmessage = wrapped_putmessage;
	wrapped_methods.putmessage_noblock = wrapped_putmessage_noblock;
	PqCommMethods = &wrapped_methods;
}
