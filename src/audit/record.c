/*
 * audit/record.c — the canonical encoding of an audit record and the hashes of the chain.
 *
 * record_hash = SHA-256( "mnl-audit-record-v1" || field(1) || ... || field(22) )
 *
 * where field(i) is column i of ledger.audit_event in the COPY BINARY field framing: a
 * 4-byte big-endian length followed by that many bytes, or the length -1 for NULL.  The
 * bytes are:
 *   int8, xid8, timestamptz   8 bytes big-endian (timestamptz: microseconds since 2000-01-01)
 *   int4, oid                 4 bytes big-endian
 *   text                      the text's bytes in the server encoding
 *   inet                      its text form (as inet_out prints it)
 *   text[]                    4-byte element count, then each element framed as above
 *
 * block_hash = SHA-256( "mnl-audit-block-v1" || prev_hash(32) || block_seq(8) || xact_lo(8)
 *                       || xact_hi(8) || record_hash(1) || ... || record_hash(n) || n(8) )
 *
 * An auditor can recompute both with nothing but SQL (sha256(), int8send(), ...): see
 * test/pgtap/audit.sql, which does exactly that, and docs/audit.md.
 *
 * Must never: depend on a setting (DateStyle, TimeZone, extra_float_digits) — the encoding
 * reads stored values only.
 */
#include "postgres.h"

#include <openssl/evp.h>

#include "audit/audit.h"
#include "catalog/pg_type.h"
#include "port/pg_bswap.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/lsyscache.h"

#include "core/compat.h"
#include "core/mynumber_ledger.h"

#define RECORD_DOMAIN	"mnl-audit-record-v1"
#define BLOCK_DOMAIN	"mnl-audit-block-v1"

/* How each column is encoded. */
typedef enum
{
	ENC_INT8, ENC_INT4, ENC_TEXT, ENC_INET, ENC_TEXT_ARRAY
} Encoding;

static const Encoding column_encoding[AUDIT_NATTS] = {
	[AA_EVENT_ID - 1] = ENC_INT8,
	[AA_XACT_ID - 1] = ENC_INT8,
	[AA_LOGGED_AT - 1] = ENC_INT8,
	[AA_STATEMENT_AT - 1] = ENC_INT8,
	[AA_KIND - 1] = ENC_TEXT,
	[AA_DATABASE_NAME - 1] = ENC_TEXT,
	[AA_SESSION_ROLE - 1] = ENC_TEXT,
	[AA_CURRENT_ROLE - 1] = ENC_TEXT,
	[AA_STAFF_ID - 1] = ENC_INT8,
	[AA_BACKEND_PID - 1] = ENC_INT4,
	[AA_CLIENT_ADDR - 1] = ENC_INET,
	[AA_APPLICATION_NAME - 1] = ENC_TEXT,
	[AA_RELATION_ID - 1] = ENC_INT4,
	[AA_RELATION_NAME - 1] = ENC_TEXT,
	[AA_ROW_KEY - 1] = ENC_TEXT_ARRAY,
	[AA_COLUMNS - 1] = ENC_TEXT_ARRAY,
	[AA_SENSITIVE_COLUMNS - 1] = ENC_TEXT_ARRAY,
	[AA_OLD_VALUES - 1] = ENC_TEXT_ARRAY,
	[AA_NEW_VALUES - 1] = ENC_TEXT_ARRAY,
	[AA_ROW_COUNT - 1] = ENC_INT8,
	[AA_QUERY_ID - 1] = ENC_INT8,
	[AA_DETAIL - 1] = ENC_TEXT,
};

static EVP_MD_CTX *md_ctx = NULL;

static EVP_MD_CTX *
digest_begin(const char *domain)
{
	if (md_ctx == NULL)
	{
		md_ctx = EVP_MD_CTX_new();
		if (md_ctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not allocate a SHA-256 context")));
	}
	if (EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL) != 1)
		elog(ERROR, "EVP_DigestInit_ex failed for SHA-256");
	EVP_DigestUpdate(md_ctx, domain, strlen(domain));
	return md_ctx;
}

static void
digest_end(EVP_MD_CTX *ctx, uint8 *out)
{
	unsigned int len = 0;

	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != AUDIT_HASH_LEN)
		elog(ERROR, "EVP_DigestFinal_ex failed for SHA-256");
}

static inline void
put_be32(StringInfo buf, int32 v)
{
	uint32		n = pg_hton32((uint32) v);

	appendBinaryStringInfo(buf, (char *) &n, 4);
}

static inline void
put_be64(StringInfo buf, int64 v)
{
	uint64		n = pg_hton64((uint64) v);

	appendBinaryStringInfo(buf, (char *) &n, 8);
}

static inline void
put_bytes(StringInfo buf, const char *p, int len)
{
	put_be32(buf, len);
	appendBinaryStringInfo(buf, p, len);
}

static void
put_text_array(StringInfo buf, Datum d)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *elem_nulls;
	int			n;
	int			i;
	int			start;
	uint32		len;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
	/* The field's length is known only at the end: reserve it, then fill it in. */
	start = buf->len;
	put_be32(buf, 0);
	put_be32(buf, n);
	for (i = 0; i < n; i++)
	{
		if (elem_nulls[i])
			put_be32(buf, -1);
		else
		{
			text	   *t = DatumGetTextPP(elems[i]);

			put_bytes(buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
		}
	}
	len = pg_hton32((uint32) (buf->len - start - 4));
	memcpy(buf->data + start, &len, 4);
	pfree(elems);
	pfree(elem_nulls);
}

/*
 * Are the record's arrays in the shape the writer gives them: one dimension counted from 1
 * (or empty)?  The hash covers an array's elements, not its bounds, and the reports compare
 * whole arrays (row_key = ...) or take elements by subscript: an array rewritten as
 * '[0:1]={...}' or '{{...}}' would hash the same and drop out of them.
 */
bool
audit_record_arrays_canonical(const Datum *values, const bool *nulls)
{
	int			i;

	for (i = 0; i < AUDIT_NATTS - 1; i++)
	{
		ArrayType  *arr;

		if (nulls[i] || column_encoding[i] != ENC_TEXT_ARRAY)
			continue;
		arr = DatumGetArrayTypeP(values[i]);
		if (ARR_NDIM(arr) == 0)
			continue;
		if (ARR_NDIM(arr) != 1 || ARR_LBOUND(arr)[0] != 1)
			return false;
	}
	return true;
}

/*
 * Hash of one record given as the values of columns 1..AUDIT_NATTS (record_hash itself
 * is not read).
 */
void
audit_record_hash(const Datum *values, const bool *nulls, uint8 *out)
{
	StringInfoData buf;
	EVP_MD_CTX *ctx;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < AUDIT_NATTS - 1; i++)
	{
		Datum		d = values[i];

		if (nulls[i])
		{
			put_be32(&buf, -1);
			continue;
		}
		switch (column_encoding[i])
		{
			case ENC_INT8:
				put_be32(&buf, 8);
				put_be64(&buf, DatumGetInt64(d));
				break;
			case ENC_INT4:
				put_be32(&buf, 4);
				put_be32(&buf, DatumGetInt32(d));
				break;
			case ENC_TEXT:
				{
					text	   *t = DatumGetTextPP(d);

					put_bytes(&buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
					break;
				}
			case ENC_INET:
				{
					char	   *s = DatumGetCString(DirectFunctionCall1(inet_out, d));

					put_bytes(&buf, s, strlen(s));
					pfree(s);
					break;
				}
			case ENC_TEXT_ARRAY:
				put_text_array(&buf, d);
				break;
		}
	}

	ctx = digest_begin(RECORD_DOMAIN);
	EVP_DigestUpdate(ctx, buf.data, buf.len);
	digest_end(ctx, out);
	pfree(buf.data);
}

/* Streaming block hash: records are added in chain order without holding them all. */
struct AuditBlockHasher
{
	EVP_MD_CTX *ctx;
};

AuditBlockHasher *
audit_block_hasher_begin(const uint8 *prev_hash, int64 block_seq, uint64 xact_lo,
						 uint64 xact_hi)
{
	AuditBlockHasher *h = palloc(sizeof(AuditBlockHasher));
	uint64		be;

	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate a SHA-256 context")));
	EVP_DigestUpdate(h->ctx, BLOCK_DOMAIN, strlen(BLOCK_DOMAIN));
	EVP_DigestUpdate(h->ctx, prev_hash, AUDIT_HASH_LEN);
	be = pg_hton64((uint64) block_seq);
	EVP_DigestUpdate(h->ctx, &be, 8);
	be = pg_hton64(xact_lo);
	EVP_DigestUpdate(h->ctx, &be, 8);
	be = pg_hton64(xact_hi);
	EVP_DigestUpdate(h->ctx, &be, 8);
	return h;
}

void
audit_block_hasher_add(AuditBlockHasher *h, const uint8 *record_hash)
{
	EVP_DigestUpdate(h->ctx, record_hash, AUDIT_HASH_LEN);
}

void
audit_block_hasher_end(AuditBlockHasher *h, int64 count, uint8 *out)
{
	uint64		be = pg_hton64((uint64) count);
	unsigned int len = 0;

	EVP_DigestUpdate(h->ctx, &be, 8);
	if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != AUDIT_HASH_LEN)
		elog(ERROR, "EVP_DigestFinal_ex failed for SHA-256");
	EVP_MD_CTX_free(h->ctx);
	pfree(h);
}
