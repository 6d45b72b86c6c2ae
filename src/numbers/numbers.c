/*
 * numbers.c — the SQL face of ledger.mynumber (個人番号) and
 * ledger.corporate_number (法人番号).
 *
 * Both types store the number as an int8 (pass by value, 8 bytes), so the
 * ordering of the stored value is the ordering of the 12 or 13 digits and
 * the comparison and hash support in numbers.sql are int8's own.  Every
 * path that creates a value — text input, casts from text, binary receive —
 * goes through numparse.c or the same formulas, so an invalid number
 * cannot be stored (invariant 1).
 *
 * Must never: put any digit of an input into an error message, detail,
 * context or the STATEMENT line of the server log.  Rejections carry only
 * what is wrong (length, a character position, the check digit) and hide
 * the statement from the server log (errhidestmt), since the statement
 * holds the literal.
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "core/mynumber_ledger.h"
#include "numbers/numparse.h"

PG_FUNCTION_INFO_V1(mynumber_in);
PG_FUNCTION_INFO_V1(mynumber_out);
PG_FUNCTION_INFO_V1(mynumber_recv);
PG_FUNCTION_INFO_V1(mynumber_send);
PG_FUNCTION_INFO_V1(mynumber_from_text);
PG_FUNCTION_INFO_V1(mynumber_is_valid);
PG_FUNCTION_INFO_V1(mynumber_check_digit);
PG_FUNCTION_INFO_V1(mynumber_mask);
PG_FUNCTION_INFO_V1(corporate_number_in);
PG_FUNCTION_INFO_V1(corporate_number_out);
PG_FUNCTION_INFO_V1(corporate_number_recv);
PG_FUNCTION_INFO_V1(corporate_number_send);
PG_FUNCTION_INFO_V1(corporate_number_from_text);
PG_FUNCTION_INFO_V1(corporate_number_is_valid);
PG_FUNCTION_INFO_V1(corporate_number_check_digit);

/* What a message needs to know about the type it speaks of. */
typedef struct number_kind
{
	const char *typname;		/* SQL name, e.g. "mynumber" */
	int			ndigits;
	const char *grouping;		/* printed grouping, for hints */
} number_kind;

static const number_kind MYNUMBER = {"mynumber", NP_MYNUMBER_DIGITS, "4-4-4"};
static const number_kind CORPORATE = {"corporate_number", NP_CORPORATE_DIGITS, "1-4-4-4"};

#define MYNUMBER_LIMIT	INT64CONST(1000000000000)	/* 10^12 */
#define CORPORATE_LIMIT INT64CONST(10000000000000)	/* 10^13 */

/*
 * Raise the error for a refused input.  22P02 for text, 22P03 for binary.
 * The message says what is wrong and nothing of the value.
 */
static void
report_invalid(const number_kind *kind, np_status st, const np_detail *d,
			   int sqlstate)
{
#define REFUSE(msg, hint) \
	ereport(ERROR, \
			(errcode(sqlstate), \
			 msg, \
			 hint, \
			 errhidestmt(true), \
			 errhidecontext(true)))

	mnl_nls_bind_encoding();	/* a literal's input runs before any statement hook */

	switch (st)
	{
		case NP_EMPTY:
			REFUSE(errmsg("invalid input for type %s: the input is empty", kind->typname),
				   errhint("Give the %d digits of the number.", kind->ndigits));
			break;
		case NP_BAD_CHAR:
			REFUSE(errmsg("invalid input for type %s: unexpected character at position %d",
					kind->typname, d->position),
				   errhint("Only digits (half- or full-width) and one kind of separator between the %s groups are accepted.",
					kind->grouping));
			break;
		case NP_BAD_LENGTH:
			REFUSE(errmsg("invalid input for type %s: expected %d digits, found %d",
					kind->typname, kind->ndigits, d->ndigits),
				   errhint("A %s has exactly %d digits.", kind->typname, kind->ndigits));
			break;
		case NP_BAD_GROUPING:
			REFUSE(errmsg("invalid input for type %s: separators are not between the %s groups",
					kind->typname, kind->grouping),
				   errhint("Write the digits without separators, or grouped %s as printed on the card or notice.",
					kind->grouping));
			break;
		case NP_MIXED_SEPARATORS:
			REFUSE(errmsg("invalid input for type %s: different separators between groups",
					kind->typname),
				   errhint("Use the same separator (a space or a hyphen) between every group."));
			break;
		case NP_CHECK_DIGIT:
			REFUSE(errmsg("invalid input for type %s: check digit does not match", kind->typname),
				   errhint("The number was probably mistyped; compare it with the card or notice."));
			break;
		case NP_ALL_ZERO:
			REFUSE(errmsg("invalid input for type %s: the all-zero number is not accepted",
					kind->typname),
				   errhint("No real number is all zeros. For test data a superuser can set ledger.allow_all_zero_mynumber = on."));
			break;
		case NP_OK:
			elog(ERROR, "report_invalid called for a valid number");
			break;
	}
#undef REFUSE
}

/*
 * The parser reads UTF-8.  ASCII input (the common case) is the same in
 * every server encoding; anything else in a non-UTF-8 database (EUC_JP,
 * say) is converted first so full-width digits are recognised.
 */
static const char *
as_utf8(const char *s, int *len)
{
	int			enc = GetDatabaseEncoding();
	int			i;
	char	   *u;

	if (enc == PG_UTF8 || enc == PG_SQL_ASCII)
		return s;
	for (i = 0; i < *len; i++)
		if (IS_HIGHBIT_SET(s[i]))
			break;
	if (i == *len)
		return s;
	u = pg_server_to_any(s, *len, PG_UTF8);
	*len = strlen(u);
	return u;
}

static np_status
parse_mynumber(const char *s, int len, int64 *value, np_detail *d)
{
	int64_t		v = 0;
	np_status	st;

	s = as_utf8(s, &len);
	st = np_parse_mynumber(s, (size_t) len, mnl_allow_all_zero_mynumber, &v, d);
	*value = (int64) v;
	return st;
}

static np_status
parse_corporate(const char *s, int len, int64 *value, np_detail *d)
{
	int64_t		v = 0;
	np_status	st;

	s = as_utf8(s, &len);
	st = np_parse_corporate(s, (size_t) len, &v, d);
	*value = (int64) v;
	return st;
}

static int64
mynumber_from_cstring(const char *s, int len)
{
	int64		v;
	np_detail	d = {0, 0};
	np_status	st = parse_mynumber(s, len, &v, &d);

	if (st != NP_OK)
		report_invalid(&MYNUMBER, st, &d, ERRCODE_INVALID_TEXT_REPRESENTATION);
	return v;
}

static int64
corporate_from_cstring(const char *s, int len)
{
	int64		v;
	np_detail	d = {0, 0};
	np_status	st = parse_corporate(s, len, &v, &d);

	if (st != NP_OK)
		report_invalid(&CORPORATE, st, &d, ERRCODE_INVALID_TEXT_REPRESENTATION);
	return v;
}

/* Split a stored value into its digits for the check-digit formulas. */
static void
value_digits(int64 v, int n, uint8_t *digits)
{
	int			k;

	for (k = n - 1; k >= 0; k--)
	{
		digits[k] = (uint8_t) (v % 10);
		v /= 10;
	}
}

/* Validation of a value arriving in binary, without the text parser. */
static np_status
check_mynumber_value(int64 v)
{
	uint8_t		digits[NP_MYNUMBER_DIGITS];

	if (v < 0 || v >= MYNUMBER_LIMIT)
		return NP_BAD_LENGTH;
	value_digits(v, NP_MYNUMBER_DIGITS, digits);
	if (np_mynumber_check_digit(digits) != digits[11])
		return NP_CHECK_DIGIT;
	if (v == 0 && !mnl_allow_all_zero_mynumber)
		return NP_ALL_ZERO;
	return NP_OK;
}

static np_status
check_corporate_value(int64 v)
{
	uint8_t		digits[NP_CORPORATE_DIGITS];

	if (v < 0 || v >= CORPORATE_LIMIT)
		return NP_BAD_LENGTH;
	value_digits(v, NP_CORPORATE_DIGITS, digits);
	if (np_corporate_check_digit(digits + 1) != digits[0])
		return NP_CHECK_DIGIT;
	return NP_OK;
}

/* A refused binary value: out of range, or the formula fails. */
static void
report_invalid_binary(const number_kind *kind, np_status st)
{
	np_detail	d = {0, 0};

	if (st == NP_BAD_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary input for type %s: value out of range",
						kind->typname),
				 errhint("The binary form is the %d-digit number as a big-endian int8.",
						 kind->ndigits),
				 errhidestmt(true), errhidecontext(true)));
	report_invalid(kind, st, &d, ERRCODE_INVALID_BINARY_REPRESENTATION);
}

/* ---------------------------------------------------------------------
 * ledger.mynumber
 * ---------------------------------------------------------------------
 */

Datum
mynumber_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);

	PG_RETURN_INT64(mynumber_from_cstring(s, strlen(s)));
}

Datum
mynumber_out(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);
	char	   *out = palloc(NP_MYNUMBER_DIGITS + 1);

	np_format(v, NP_MYNUMBER_DIGITS, out);
	PG_RETURN_CSTRING(out);
}

Datum
mynumber_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		v = pq_getmsgint64(buf);
	np_status	st = check_mynumber_value(v);

	if (st != NP_OK)
		report_invalid_binary(&MYNUMBER, st);
	PG_RETURN_INT64(v);
}

Datum
mynumber_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, PG_GETARG_INT64(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
mynumber_from_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_INT64(mynumber_from_cstring(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

Datum
mynumber_is_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int64		v;
	np_detail	d = {0, 0};

	PG_RETURN_BOOL(parse_mynumber(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &v, &d) == NP_OK);
}

/*
 * Shared by both check-digit helpers: read exactly n base digits or raise
 * 22P02 saying what is wrong.
 */
static void
read_base(const number_kind *kind, text *t, int n, uint8_t *digits)
{
	int			len = VARSIZE_ANY_EXHDR(t);
	const char *s = as_utf8(VARDATA_ANY(t), &len);
	np_detail	d = {0, 0};
	np_status	st = np_parse_base(s, (size_t) len, n, digits, &d);

	switch (st)
	{
		case NP_OK:
			return;
		case NP_EMPTY:
		case NP_BAD_LENGTH:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid base for a %s check digit: expected %d digits, found %d",
							kind->typname, n, st == NP_EMPTY ? 0 : d.ndigits),
					 errhint("Give the %d digits of the number without its check digit.", n),
					 errhidestmt(true), errhidecontext(true)));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid base for a %s check digit: unexpected character at position %d",
							kind->typname, d.position),
					 errhint("Give the %d digits of the number, without separators.", n),
					 errhidestmt(true), errhidecontext(true)));
			break;
	}
}

Datum
mynumber_check_digit(PG_FUNCTION_ARGS)
{
	uint8_t		base[NP_MYNUMBER_DIGITS - 1];

	read_base(&MYNUMBER, PG_GETARG_TEXT_PP(0), NP_MYNUMBER_DIGITS - 1, base);
	PG_RETURN_INT32(np_mynumber_check_digit(base));
}

Datum
mynumber_mask(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);
	char		digits[NP_MYNUMBER_DIGITS + 1];

	np_format(v, NP_MYNUMBER_DIGITS, digits);
	memset(digits, '*', NP_MYNUMBER_DIGITS - 4);
	PG_RETURN_TEXT_P(cstring_to_text(digits));
}

/* ---------------------------------------------------------------------
 * ledger.corporate_number
 * ---------------------------------------------------------------------
 */

Datum
corporate_number_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);

	PG_RETURN_INT64(corporate_from_cstring(s, strlen(s)));
}

Datum
corporate_number_out(PG_FUNCTION_ARGS)
{
	int64		v = PG_GETARG_INT64(0);
	char	   *out = palloc(NP_CORPORATE_DIGITS + 1);

	np_format(v, NP_CORPORATE_DIGITS, out);
	PG_RETURN_CSTRING(out);
}

Datum
corporate_number_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		v = pq_getmsgint64(buf);
	np_status	st = check_corporate_value(v);

	if (st != NP_OK)
		report_invalid_binary(&CORPORATE, st);
	PG_RETURN_INT64(v);
}

Datum
corporate_number_send(PG_FUNCTION_ARGS)
{
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendint64(&buf, PG_GETARG_INT64(0));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

Datum
corporate_number_from_text(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_INT64(corporate_from_cstring(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

Datum
corporate_number_is_valid(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int64		v;
	np_detail	d = {0, 0};

	PG_RETURN_BOOL(parse_corporate(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &v, &d) == NP_OK);
}

Datum
corporate_number_check_digit(PG_FUNCTION_ARGS)
{
	uint8_t		base[NP_CORPORATE_DIGITS - 1];

	read_base(&CORPORATE, PG_GETARG_TEXT_PP(0), NP_CORPORATE_DIGITS - 1, base);
	PG_RETURN_INT32(np_corporate_check_digit(base));
}
