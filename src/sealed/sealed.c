/*
 * sealed.c — ledger.sealed_mynumber: a My Number encrypted at rest, its blind index, and
 * the only way back to the number (ledger.reveal).
 *
 * Binary layout (41 bytes, also the binary send/receive form):
 *   [0]      format version (1)
 *   [1..4]   data key id, big-endian
 *   [5..16]  nonce, 96 bits from OpenSSL's RNG, fresh for every seal
 *   [17..24] ciphertext of the number (its int8 value, big-endian)
 *   [25..40] GCM tag
 * AES-256-GCM under the "number" data key; the associated data is
 * "mnl-seal-v1|" || context, where the context names the row the value belongs to (the
 * caller passes the same context to seal and to reveal), so a value copied into another row
 * does not open there.
 *
 * The text form is "mnl1:" followed by the base64 of those bytes: pg_dump writes it and
 * pg_restore reads it back unchanged (input never encrypts; it checks the shape only).
 *
 * The blind index is HMAC-SHA256 of the 12 digits under the "blind_index" data key: equal
 * numbers have equal indexes, so a btree on it finds a person without decrypting anything.
 *
 * Must never: return a number, or put one in a message, without the reveal's audit event
 * having been accepted first.
 */
#include "postgres.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "audit/audit.h"
#include "keys/keys.h"
#include "sealed/sealed.h"
#include "core/mynumber_ledger.h"
#include "numbers/numparse.h"
#include "staff/session.h"

PG_FUNCTION_INFO_V1(sealed_in);
PG_FUNCTION_INFO_V1(sealed_out);
PG_FUNCTION_INFO_V1(sealed_recv);
PG_FUNCTION_INFO_V1(sealed_send);
PG_FUNCTION_INFO_V1(sealed_seal);
PG_FUNCTION_INFO_V1(sealed_reveal);
PG_FUNCTION_INFO_V1(sealed_mask);
PG_FUNCTION_INFO_V1(sealed_blind_index);
PG_FUNCTION_INFO_V1(sealed_key_id);
PG_FUNCTION_INFO_V1(sealed_reseal);
PG_FUNCTION_INFO_V1(sealed_seal_for_period);
PG_FUNCTION_INFO_V1(sealed_key_current);

#define SEALED_VERSION	1
#define SEALED_LEN		41
#define OFF_KEY			1
#define OFF_NONCE		5
#define OFF_CT			17
#define OFF_TAG			25
#define NONCE_LEN		12
#define TAG_LEN			16
#define TEXT_PREFIX		"mnl1:"
#define AAD_PREFIX		"mnl-seal-v1|"
#define REVEAL_ROLE		"ledger_revealer"
/* ledger.person_context(): numbers of the ledger's persons; opened only through the gate
 * (or by a superuser) */
#define PERSON_CONTEXT_PREFIX	"person:"

static void
refuse_format(const char *what, int sqlstate)
{
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("invalid input for type sealed_mynumber: %s", mnl_gettext(what)),
			 errhint("A sealed number is written \"mnl1:\" followed by base64, as this extension prints it; make one with ledger.seal().")));
}

static bytea *
check_sealed(const uint8 *p, int len, int sqlstate)
{
	bytea	   *b;

	if (len != SEALED_LEN)
		refuse_format("wrong length", sqlstate);
	if (p[0] != SEALED_VERSION)
		refuse_format("unknown format version", sqlstate);
	b = palloc(VARHDRSZ + SEALED_LEN);
	SET_VARSIZE(b, VARHDRSZ + SEALED_LEN);
	memcpy(VARDATA(b), p, SEALED_LEN);
	return b;
}

Datum
sealed_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	size_t		plen = strlen(TEXT_PREFIX);
	size_t		len = strlen(s);
	uint8		buf[64];
	int			n;

	if (len < plen || strncmp(s, TEXT_PREFIX, plen) != 0)
		refuse_format("missing \"mnl1:\" prefix", ERRCODE_INVALID_TEXT_REPRESENTATION);
	s += plen;
	len -= plen;
	if (len != 56)				/* base64 of 41 bytes */
		refuse_format("wrong length", ERRCODE_INVALID_TEXT_REPRESENTATION);
	n = EVP_DecodeBlock(buf, (const unsigned char *) s, (int) len);
	if (n != 42 || s[55] != '=' || s[54] == '=')
		refuse_format("not base64", ERRCODE_INVALID_TEXT_REPRESENTATION);
	PG_RETURN_BYTEA_P(check_sealed(buf, SEALED_LEN, ERRCODE_INVALID_TEXT_REPRESENTATION));
}

Datum
sealed_out(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	char	   *out = palloc(strlen(TEXT_PREFIX) + 57);

	strcpy(out, TEXT_PREFIX);
	EVP_EncodeBlock((unsigned char *) out + strlen(TEXT_PREFIX),
					(const unsigned char *) VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	PG_RETURN_CSTRING(out);
}

Datum
sealed_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	const char *p = pq_getmsgbytes(buf, len);

	PG_RETURN_BYTEA_P(check_sealed((const uint8 *) p, len, ERRCODE_INVALID_BINARY_REPRESENTATION));
}

Datum
sealed_send(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * One AES-256-GCM context per direction per backend, keyed once per data key: a seal or
 * open then sets only the nonce (the key schedule is not recomputed for every value).
 */
typedef struct GcmContext
{
	EVP_CIPHER_CTX *ctx;
	int32		key_id;			/* key loaded into ctx, 0 for none */
	bool		encrypt;
} GcmContext;

static GcmContext enc_ctx = {NULL, 0, true};
static GcmContext dec_ctx = {NULL, 0, false};

/* One HMAC context per blind-index key per backend, re-used for every value. */
static EVP_MAC_CTX *hmac_ctx = NULL;
static int32 hmac_key_id = 0;

static void
hmac_key_id_reset(void)
{
	hmac_key_id = 0;
}

/*
 * Contexts keyed with a key keys.c has since forgotten (an abort, a key destroyed) must be
 * re-keyed: the key id alone does not say the key is still the same one.
 */
static void
forget_stale_keys(void)
{
	static uint64 keyed_in_epoch = 0;
	uint64		epoch = keys_cache_epoch();

	if (epoch != keyed_in_epoch)
	{
		enc_ctx.key_id = 0;
		dec_ctx.key_id = 0;
		hmac_key_id_reset();
		keyed_in_epoch = epoch;
	}
}

/* At backend exit: free (and so cleanse) the key schedules held by OpenSSL. */
static void
free_contexts(int code, Datum arg)
{
	if (enc_ctx.ctx)
		EVP_CIPHER_CTX_free(enc_ctx.ctx);
	if (dec_ctx.ctx)
		EVP_CIPHER_CTX_free(dec_ctx.ctx);
	enc_ctx.ctx = dec_ctx.ctx = NULL;
}

static EVP_CIPHER_CTX *
gcm_for(GcmContext *g, int32 key_id, const uint8 *key, const uint8 *nonce)
{
	int			ok;
	static bool exit_registered = false;

	if (!exit_registered)
	{
		on_proc_exit(free_contexts, (Datum) 0);
		exit_registered = true;
	}
	if (g->ctx == NULL)
	{
		g->ctx = EVP_CIPHER_CTX_new();
		if (g->ctx == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("could not allocate a cipher context")));
		g->key_id = 0;
	}
	forget_stale_keys();
	if (g->key_id != key_id)
	{
		ok = g->encrypt ? EVP_EncryptInit_ex(g->ctx, EVP_aes_256_gcm(), NULL, key, nonce)
			: EVP_DecryptInit_ex(g->ctx, EVP_aes_256_gcm(), NULL, key, nonce);
		g->key_id = ok == 1 ? key_id : 0;
	}
	else
		ok = g->encrypt ? EVP_EncryptInit_ex(g->ctx, NULL, NULL, NULL, nonce)
			: EVP_DecryptInit_ex(g->ctx, NULL, NULL, NULL, nonce);
	if (ok != 1)
		elog(ERROR, "AES-256-GCM initialisation failed");
	return g->ctx;
}

/* The data key id written into a sealed value. */
static int32
sealed_key(const uint8 *p)
{
	return (int32) ((uint32) p[OFF_KEY] << 24 | (uint32) p[OFF_KEY + 1] << 16 |
					(uint32) p[OFF_KEY + 2] << 8 | (uint32) p[OFF_KEY + 3]);
}

/* "mnl-seal-v1|" || context, in a palloc'd buffer. */
static char *
aad_for(text *context, int *len)
{
	int			clen = VARSIZE_ANY_EXHDR(context);
	int			plen = strlen(AAD_PREFIX);
	char	   *aad = palloc(plen + clen);

	memcpy(aad, AAD_PREFIX, plen);
	memcpy(aad + plen, VARDATA_ANY(context), clen);
	*len = plen + clen;
	return aad;
}

static void
require_context(text *context)
{
	if (VARSIZE_ANY_EXHDR(context) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a sealed number needs a non-empty context"),
				 errhint("Pass what identifies the row, e.g. 'ledger.person:131016:42', the same to seal and to reveal.")));
}

/* Seal value for context under the active key of purpose ("number" or "number:<period>"). */
static bytea *
seal_under(int64 value, text *context, const char *purpose)
{
	int32		key_id;
	const uint8 *key;
	uint8		out[SEALED_LEN];
	uint8		plain[8];
	uint64		be = pg_hton64((uint64) value);
	EVP_CIPHER_CTX *ctx;
	char	   *aad;
	int			aadlen;
	int			len;
	bool		ok;

	require_context(context);
	key = keys_active(purpose, &key_id);
	out[0] = SEALED_VERSION;
	out[OFF_KEY] = (uint8) (key_id >> 24);
	out[OFF_KEY + 1] = (uint8) (key_id >> 16);
	out[OFF_KEY + 2] = (uint8) (key_id >> 8);
	out[OFF_KEY + 3] = (uint8) key_id;
	if (RAND_bytes(out + OFF_NONCE, NONCE_LEN) != 1)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a nonce")));
	memcpy(plain, &be, 8);
	aad = aad_for(context, &aadlen);
	ctx = gcm_for(&enc_ctx, key_id, key, out + OFF_NONCE);
	ok = EVP_EncryptUpdate(ctx, NULL, &len, (uint8 *) aad, aadlen) == 1 &&
		EVP_EncryptUpdate(ctx, out + OFF_CT, &len, plain, 8) == 1 &&
		EVP_EncryptFinal_ex(ctx, out + OFF_CT + len, &len) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + OFF_TAG) == 1;
	explicit_bzero(plain, sizeof(plain));
	if (!ok)
		elog(ERROR, "AES-256-GCM failed while sealing");
	return check_sealed(out, SEALED_LEN, ERRCODE_INTERNAL_ERROR);
}

/* The number inside sealed, sealed again for the same context under purpose's active key. */
static bytea *
reseal_under(bytea *sealed, text *context, const char *purpose)
{
	int64		value = sealed_open(sealed, context);
	bytea	   *out = seal_under(value, context, purpose);

	value = 0;
	return out;
}

/* ledger.seal(mn mynumber, context text) RETURNS sealed_mynumber */
Datum
sealed_seal(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(seal_under(PG_GETARG_INT64(0), PG_GETARG_TEXT_PP(1), KEY_PURPOSE_NUMBER));
}

/*
 * ledger._seal_for_period(value, context, period) RETURNS sealed_mynumber: the same number
 * sealed again under the key of the retention period in which it expires (crypto-shredding);
 * owner only.  The number never leaves this function.
 */
Datum
sealed_seal_for_period(PG_FUNCTION_ARGS)
{
	char	   *period = text_to_cstring(PG_GETARG_TEXT_PP(2));

	PG_RETURN_BYTEA_P(reseal_under(PG_GETARG_BYTEA_PP(0), PG_GETARG_TEXT_PP(1),
								   psprintf("%s%s", KEY_PURPOSE_PERIOD_PREFIX, period)));
}
/* Decrypt; raises when the value does not open in this context. */
int64
sealed_open(bytea *sealed, text *context)
{
	const uint8 *p = (const uint8 *) VARDATA_ANY(sealed);
	int32		key_id;
	const uint8 *key;
	uint8		plain[8];
	uint64		be;
	EVP_CIPHER_CTX *ctx;
	char	   *aad;
	int			aadlen;
	int			len;
	bool		ok;

	if (VARSIZE_ANY_EXHDR(sealed) != SEALED_LEN || p[0] != SEALED_VERSION)
		refuse_format("malformed value", ERRCODE_DATA_CORRUPTED);
	require_context(context);
	key_id = sealed_key(p);
	key = keys_by_id(key_id, KEY_PURPOSE_NUMBER);
	aad = aad_for(context, &aadlen);
	ctx = gcm_for(&dec_ctx, key_id, key, p + OFF_NONCE);
	ok = EVP_DecryptUpdate(ctx, NULL, &len, (uint8 *) aad, aadlen) == 1 &&
		EVP_DecryptUpdate(ctx, plain, &len, p + OFF_CT, 8) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, (void *) (p + OFF_TAG)) == 1 &&
		EVP_DecryptFinal_ex(ctx, plain + len, &len) == 1;
	if (!ok)
	{
		explicit_bzero(plain, sizeof(plain));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("sealed number does not open in this context"),
				 errhint("The value belongs to another row or context, or it was altered.")));
	}
	memcpy(&be, plain, 8);
	explicit_bzero(plain, sizeof(plain));
	return (int64) pg_ntoh64(be);
}

/*
 * Is s empty or only white space and invisible characters?  The same set as ledger._is_blank:
 * ASCII white space, U+00A0, U+1680, U+2000-U+200D, U+2028, U+2029, U+202F, U+205F, U+2060,
 * U+3000, U+FEFF (in UTF-8; in EUC_JP the ideographic space).
 */
static bool
is_blank(const char *str)
{
	const unsigned char *s = (const unsigned char *) str;
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	while (*s)
	{
		if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
			s++;
		else if (utf8 && s[0] == 0xC2 && s[1] == 0xA0)
			s += 2;				/* U+00A0 */
		else if (utf8 && s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80)
			s += 3;				/* U+1680 */
		else if (utf8 && s[0] == 0xE2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8D) || s[2] == 0xA8 ||
														  s[2] == 0xA9 || s[2] == 0xAF))
			s += 3;				/* U+2000-U+200D, U+2028, U+2029, U+202F */
		else if (utf8 && s[0] == 0xE2 && s[1] == 0x81 && (s[2] == 0x9F || s[2] == 0xA0))
			s += 3;				/* U+205F, U+2060 */
		else if (utf8 && s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)
			s += 3;				/* U+3000 */
		else if (utf8 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
			s += 3;				/* U+FEFF */
		else if (!utf8 && GetDatabaseEncoding() == PG_EUC_JP && s[0] == 0xA1 && s[1] == 0xA1)
			s += 2;
		else
			return false;
	}
	return true;
}

/*
 * The subject of a reveal, from its context: a person of the ledger ("person:<6-digit
 * 団体コード>:<id>", exactly as ledger.person_context() makes it; the form is reserved for the
 * ledger) is ledger.person with the key (団体コード, id), and true is returned; any other
 * context (a DBA's own sealed column, say "person:1") is its own key, with no relation.
 */
static bool
reveal_subject(text *context, Oid *relid, const char **keys, int *nkeys)
{
	char	   *ctx = text_to_cstring(context);
	char	   *p = ctx + strlen(PERSON_CONTEXT_PREFIX);
	int			i;

	*relid = InvalidOid;
	keys[0] = ctx;
	*nkeys = 1;
	if (strncmp(ctx, PERSON_CONTEXT_PREFIX, strlen(PERSON_CONTEXT_PREFIX)) != 0)
		return false;
	for (i = 0; i < 6; i++)
		if (!isdigit((unsigned char) p[i]))
			return false;
	if (p[6] != ':' || !isdigit((unsigned char) p[7]))
		return false;
	for (i = 8; p[i]; i++)
		if (!isdigit((unsigned char) p[i]))
			return false;
	p[6] = '\0';
	keys[0] = p;
	keys[1] = p + 7;
	*nkeys = 2;
	*relid = get_relname_relid("person", get_namespace_oid("ledger", true));
	return true;
}

/*
 * ledger.reveal(value sealed_mynumber, context text, purpose text, legal_basis text DEFAULT
 * NULL) RETURNS mynumber: the caller must be a member of ledger_revealer; the reveal's audit
 * event (purpose, and the legal basis when the number is disclosed outside the affair) is
 * accepted by the writer before the number is decrypted, so a rolled-back reveal is still on
 * record.  Not STRICT: a NULL legal basis is allowed, a NULL anything else gives NULL.
 */
Datum
sealed_reveal(PG_FUNCTION_ARGS)
{
	bytea	   *sealed;
	text	   *context;
	char	   *purpose;
	char	   *basis = NULL;
	Oid			role = get_role_oid(REVEAL_ROLE, true);
	char		detail[512];
	Oid			relid;
	const char *keys[AUDIT_MAX_KEYS];
	int			nkeys;
	bool		subject;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	staff_session_check(NULL);	/* a fast-path call meets no executor hook */
	sealed = PG_GETARG_BYTEA_PP(0);
	context = PG_GETARG_TEXT_PP(1);
	purpose = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		basis = text_to_cstring(PG_GETARG_TEXT_PP(3));

	if (!OidIsValid(role) || !has_privs_of_role(GetUserId(), role))
	{
		audit_refuse(InvalidOid, "reveal refused: not a member of ledger_revealer", AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied to reveal a My Number"),
					  errhint("Only members of ledger_revealer may reveal numbers; the masked form needs no privilege.")));
	}
	subject = reveal_subject(context, &relid, keys, &nkeys);
	if (subject && !OidIsValid(mnl_acting_for) && !superuser())
	{
		/*
		 * A number of the ledger's own files opens only through the gated functions, which
		 * check the reveal duty, the org unit and the quota: membership of ledger_revealer
		 * (for a DBA's own sealed columns) is no way around them.
		 */
		audit_refuse(relid, "reveal refused: a ledger number outside the gated reveal", AUDIT_MUST_RECORD,
					 (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					  errmsg("permission denied to reveal a number of the ledger with ledger.reveal"),
					  errhint("Use ledger.reveal_person_number() or ledger.reveal_people(); they need the reveal duty for the person's org unit.")));
	}
	if (is_blank(purpose))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a reveal needs a purpose"),
				 errhint("Say why the number is needed, e.g. 'examining a child allowance claim'.")));
	if (basis != NULL && is_blank(basis))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an empty legal basis was given"),
				 errhint("Name the provision, e.g. 'My Number Act, article 19, item 8', or pass NULL when nothing is disclosed.")));
	/* the record keeps the whole purpose and legal basis, or the reveal does not happen */
	if (strlen(purpose) + (basis ? strlen(basis) : 0) + 20 >= sizeof(detail))
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("the purpose and legal basis of a reveal are too long to be recorded whole"),
				 errhint("Keep them under %d bytes together.", (int) sizeof(detail) - 20)));
	if (basis != NULL)
		snprintf(detail, sizeof(detail), "%s (legal basis: %s)", purpose, basis);
	else
		snprintf(detail, sizeof(detail), "%s", purpose);
	/* committed, naming whose number, before the number is opened */
	audit_emit_durable(AUDIT_KIND_REVEAL, relid, 1, keys, nkeys, detail);
	PG_RETURN_INT64(sealed_open(sealed, context));
}

/*
 * ledger.mask(value sealed_mynumber, context text) RETURNS text: ************, no privilege;
 * the last ledger.mask_digits digits shown (********9018 with 4).
 */
Datum
sealed_mask(PG_FUNCTION_ARGS)
{
	int64		v = sealed_open(PG_GETARG_BYTEA_PP(0), PG_GETARG_TEXT_PP(1));
	char		digits[NP_MYNUMBER_DIGITS + 1];
	text	   *t;

	np_format(v, NP_MYNUMBER_DIGITS, digits);
	memset(digits, '*', NP_MYNUMBER_DIGITS - mnl_mask_digits);
	t = cstring_to_text(digits);
	explicit_bzero(digits, sizeof(digits));
	PG_RETURN_TEXT_P(t);
}



/*
 * HMAC-SHA256 of the 12 digits of value under the active key of purpose (the blind index,
 * an affair's pseudonym): 32 bytes.  One context per backend, keyed again only when the key
 * changes.  The digits are zeroed before anything can raise.
 */
bytea *
sealed_digits_mac(int64 value, const char *purpose)
{
	char		digits[NP_MYNUMBER_DIGITS + 1];
	int32		key_id;
	const uint8 *key = keys_active(purpose, &key_id);
	bytea	   *out = palloc(VARHDRSZ + 32);
	size_t		outlen = 0;
	bool		ok;

	forget_stale_keys();
	if (hmac_ctx == NULL || hmac_key_id != key_id)
	{
		EVP_MAC    *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM	params[2];

		if (hmac_ctx)
			EVP_MAC_CTX_free(hmac_ctx);
		hmac_key_id = 0;
		hmac_ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		if (hmac_ctx == NULL || EVP_MAC_init(hmac_ctx, key, KEY_LEN, params) != 1)
			elog(ERROR, "could not set up HMAC-SHA256");
		hmac_key_id = key_id;
	}
	else if (EVP_MAC_init(hmac_ctx, NULL, 0, NULL) != 1)
		elog(ERROR, "could not reset HMAC-SHA256");
	np_format(value, NP_MYNUMBER_DIGITS, digits);
	ok = EVP_MAC_update(hmac_ctx, (uint8 *) digits, NP_MYNUMBER_DIGITS) == 1 &&
		EVP_MAC_final(hmac_ctx, (uint8 *) VARDATA(out), &outlen, 32) == 1 && outlen == 32;
	explicit_bzero(digits, sizeof(digits));
	if (!ok)
		elog(ERROR, "HMAC-SHA256 failed");
	SET_VARSIZE(out, VARHDRSZ + 32);
	return out;
}

/* ledger.blind_index(mn mynumber) RETURNS bytea: HMAC-SHA256 of the 12 digits. */
Datum
sealed_blind_index(PG_FUNCTION_ARGS)
{
	PG_RETURN_BYTEA_P(sealed_digits_mac(PG_GETARG_INT64(0), KEY_PURPOSE_BLIND_INDEX));
}

/* ledger.sealed_key_id(value) RETURNS integer: which data key sealed it (for rekeying). */
Datum
sealed_key_id(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const uint8 *p = (const uint8 *) VARDATA_ANY(b);

	if (VARSIZE_ANY_EXHDR(b) != SEALED_LEN)
		refuse_format("malformed value", ERRCODE_DATA_CORRUPTED);
	PG_RETURN_INT32(sealed_key(p));
}

/* The key family of a sealed value's key; NULL when the key was destroyed. */
static const char *
family_of(bytea *sealed)
{
	if (VARSIZE_ANY_EXHDR(sealed) != SEALED_LEN)
		refuse_format("malformed value", ERRCODE_DATA_CORRUPTED);
	return keys_purpose_of(sealed_key((const uint8 *) VARDATA_ANY(sealed)));
}

/*
 * ledger._reseal(value, context) RETURNS sealed_mynumber: the same number sealed again under
 * the active data key of its own key family, for rekeying: a value under a retention
 * period's key stays under that period's key (ATTACKS.md §9: rotation must not move a value
 * out of the family whose destruction shreds it).  The number never leaves this function.
 */
Datum
sealed_reseal(PG_FUNCTION_ARGS)
{
	bytea	   *sealed = PG_GETARG_BYTEA_PP(0);
	const char *family = family_of(sealed);

	if (family == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the key of a sealed value was destroyed"),
				 errhint("Values whose key was destroyed (crypto-shredding) cannot be opened or re-sealed.")));
	PG_RETURN_BYTEA_P(reseal_under(sealed, PG_GETARG_TEXT_PP(1), family));
}

/*
 * ledger._sealed_key_current(value) RETURNS boolean: is the value sealed under the active
 * key of its own family?  True too when its key was destroyed: nothing can re-seal it, and
 * nothing must bring it back.
 */
Datum
sealed_key_current(PG_FUNCTION_ARGS)
{
	bytea	   *sealed = PG_GETARG_BYTEA_PP(0);
	const char *family = family_of(sealed);
	int32		active;

	if (family == NULL)
		PG_RETURN_BOOL(true);
	(void) keys_active(family, &active);
	PG_RETURN_BOOL(sealed_key((const uint8 *) VARDATA_ANY(sealed)) == active);
}
