/*
 * keys.c — the key-encryption key (KEK) and the data keys (DEKs) it wraps.
 *
 * The KEK comes from the command named by ledger.kek_command (superuser-only, read at server
 * start, like ssl_passphrase_command): it prints 32 random bytes as 64 hex digits or as
 * base64.  The postmaster runs it once while loading the library and keeps the key in one
 * page of its own memory, locked (never swapped) and excluded from core dumps; backends
 * inherit it.  It is never written to a table, a setting, a log line or WAL.
 *
 * Data keys, one family per purpose ("number" encrypts numbers, "blind_index" keys the
 * HMAC), are random 32-byte keys stored in ledger.data_key wrapped by the KEK with
 * AES-256-GCM (fresh nonce, the purpose and version as associated data).  A purpose's newest
 * unretired version seals new values; older versions still open what they sealed.
 * Unwrapped data keys live only in backend memory and are zeroed when dropped.
 *
 * Must never: put key material, or the command's output, into a message or a palloc'd
 * buffer that is not zeroed before it is freed.
 */
#include "postgres.h"

#include <sys/mman.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "access/htup_details.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "keys/keys.h"
#include "core/mynumber_ledger.h"

#define WRAP_NONCE	12
#define WRAP_TAG	16
#define WRAPPED_LEN (WRAP_NONCE + KEY_LEN + WRAP_TAG)

PG_FUNCTION_INFO_V1(keys_require_kek);
PG_FUNCTION_INFO_V1(keys_rotate);
PG_FUNCTION_INFO_V1(keys_rewrap);
PG_FUNCTION_INFO_V1(keys_forget_period);
PG_FUNCTION_INFO_V1(keys_period_of);
PG_FUNCTION_INFO_V1(keys_active_id);

static uint8 *kek = NULL;		/* KEY_LEN bytes in a locked page, or NULL */
static uint8 *kek_next = NULL;	/* from ledger.kek_command_next, for KEK rotation */

/* Unwrapped data keys of this backend. */
typedef struct CachedKey
{
	int32		key_id;
	char		purpose[KEY_PURPOSE_MAX];
	bool		active;			/* newest usable version of its purpose, as last read */
	uint8		key[KEY_LEN];
} CachedKey;

#define MAX_CACHED_KEYS 32
static CachedKey *cache = NULL; /* MAX_CACHED_KEYS entries in a locked page */
static int	ncached = 0;
static LocalTransactionId active_checked_in = InvalidLocalTransactionId;

/* One page, locked in memory and left out of core dumps, for secrets. */
static void *
secret_page(Size size)
{
	void	   *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		ereport(FATAL,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not allocate memory for keys: %m")));
	(void) mlock(p, size);		/* best effort: RLIMIT_MEMLOCK may forbid it */
#ifdef MADV_DONTDUMP
	(void) madvise(p, size, MADV_DONTDUMP);
#endif
	memset(p, 0, size);
	return p;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 64 hex digits or base64 of 32 bytes, into out.  Returns false if it is neither. */
static bool
parse_key(const char *s, int len, uint8 *out)
{
	if (len == KEY_LEN * 2)
	{
		int			i;

		for (i = 0; i < KEY_LEN; i++)
		{
			int			hi = hexval(s[2 * i]),
						lo = hexval(s[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return false;
			out[i] = (uint8) (hi << 4 | lo);
		}
		return true;
	}
	if (len == 44)
	{
		uint8		buf[48];
		int			n = EVP_DecodeBlock(buf, (const unsigned char *) s, len);
		bool		ok = (n == 33 && s[43] == '=' && s[42] != '=');

		if (ok)
			memcpy(out, buf, KEY_LEN);
		explicit_bzero(buf, sizeof(buf));
		return ok;
	}
	return false;
}

/* A key command's output: the key, with surrounding white space allowed. */
static bool
parse_key_output(char *buf, uint8 *out)
{
	char	   *s = buf;
	int			len;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	return parse_key(s, len, out);
}

/*
 * Run a key command and return the key in a locked page.  A command that fails or prints
 * anything but a key stops the server (we are in the postmaster, loading the library).
 */
static uint8 *
run_key_command(const char *setting, const char *command)
{
	char		buf[256];
	FILE	   *fh;
	size_t		n;
	int			rc;
	uint8	   *key;

	fh = OpenPipeStream(command, "r");
	if (fh == NULL)
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not run %s: %m", setting),
				 errhint("Check the command in postgresql.conf; it must print the key-encryption key.")));
	n = fread(buf, 1, sizeof(buf) - 1, fh);
	rc = ClosePipeStream(fh);
	buf[n] = '\0';
	if (rc != 0)
	{
		explicit_bzero(buf, sizeof(buf));
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s failed (exit status %d)", setting, rc),
				 errhint("The command must exit with status 0 after printing the key.")));
	}
	key = secret_page(KEY_LEN);
	if (!parse_key_output(buf, key))
	{
		explicit_bzero(buf, sizeof(buf));
		explicit_bzero(key, KEY_LEN);
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("%s did not print a 32-byte key", setting),
				 errhint("Print 64 hexadecimal digits or 44 characters of base64, e.g. the output of \"openssl rand -hex 32\".")));
	}
	explicit_bzero(buf, sizeof(buf));
	return key;
}

/* Load the key-encryption key (and the next one, during a KEK rotation) at server start. */
void
keys_load_kek(void)
{
	if (mnl_kek_command != NULL && mnl_kek_command[0] != '\0')
		kek = run_key_command("ledger.kek_command", mnl_kek_command);
	if (mnl_kek_command_next != NULL && mnl_kek_command_next[0] != '\0')
		kek_next = run_key_command("ledger.kek_command_next", mnl_kek_command_next);
}

static void
require_kek(void)
{
	if (kek == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no key-encryption key is configured"),
				 errhint("Set ledger.kek_command in postgresql.conf to a command that prints the key, and restart the server.")));
}

/* ledger._require_kek(): the install script's first check. */
Datum
keys_require_kek(PG_FUNCTION_ARGS)
{
	require_kek();
	PG_RETURN_VOID();
}

static void
aad_for(const char *purpose, int32 version, char *aad, size_t size)
{
	snprintf(aad, size, "mnl-dek-v1|%s|%d", purpose, version);
}

/*
 * Retention-period keys (crypto-shredding).  A data key of purpose "number:<period>" is
 * wrapped not by the KEK itself but by SHA-256 of the KEK and a secret that
 * ledger.period_key_command prints for the period ("get") and can be told to forget
 * ("forget").  Once forgotten, every copy of that data key — in the database and in any
 * backup taken before — is useless, while the keys of other periods still open.
 */
static bool
is_period_purpose(const char *purpose)
{
	return strncmp(purpose, KEY_PURPOSE_PERIOD_PREFIX, strlen(KEY_PURPOSE_PERIOD_PREFIX)) == 0;
}

static void
check_period(const char *period)
{
	int			i;

	for (i = 0; period[i] != '\0'; i++)
		if (period[i] < '0' || period[i] > '9')
			break;
	if (i != 4 || period[i] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a retention period is a year of four digits"),
				 errhint("For example 2031: the year in which the numbers sealed under it expire.")));
}

/* Run ledger.period_key_command with %o = op and %p = period; output (up to size-1) in buf. */
static int
run_period_command(const char *op, const char *period, char *buf, size_t size)
{
	StringInfoData cmd;
	const char *c;
	FILE	   *fh;
	size_t		n = 0;
	int			rc;
	bool		has_op = false;
	bool		has_period = false;

	if (mnl_period_key_command == NULL || mnl_period_key_command[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no ledger.period_key_command is configured"),
				 errhint("Set it in postgresql.conf to a command that prints (%%o = get) or forgets (%%o = forget) the secret of period %%p.")));
	initStringInfo(&cmd);
	for (c = mnl_period_key_command; *c; c++)
	{
		if (c[0] == '%' && c[1] == 'o')
			appendStringInfoString(&cmd, op), c++, has_op = true;
		else if (c[0] == '%' && c[1] == 'p')
			appendStringInfoString(&cmd, period), c++, has_period = true;
		else if (c[0] == '%' && c[1] == '%')
			appendStringInfoChar(&cmd, '%'), c++;
		else
			appendStringInfoChar(&cmd, *c);
	}
	/* without them every period would get the same answer, or a "forget" would read as "get" */
	if (!has_op || !has_period)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ledger.period_key_command must contain %%o (the operation) and %%p (the period)"),
				 errhint("For example '/usr/local/sbin/ledger-period-key %%o %%p': the server runs it with %%o = get or forget and %%p = the year.")));
	fh = OpenPipeStream(cmd.data, "r");
	if (fh == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not run ledger.period_key_command: %m"),
				 errhint("Check the command in postgresql.conf.")));
	if (buf != NULL)
		n = fread(buf, 1, size - 1, fh);
	rc = ClosePipeStream(fh);
	if (buf != NULL)
		buf[n] = '\0';
	pfree(cmd.data);
	return rc;
}

/* The key that wraps data keys of purpose, derived from base (a KEK). */
static void
wrapping_key(const uint8 *base, const char *purpose, uint8 *out)
{
	char		buf[256];
	uint8		secret[KEY_LEN];
	const char *period;
	EVP_MD_CTX *md;
	unsigned int mdlen = 0;
	bool		ok;

	if (!is_period_purpose(purpose))
	{
		memcpy(out, base, KEY_LEN);
		return;
	}
	period = purpose + strlen(KEY_PURPOSE_PERIOD_PREFIX);
	check_period(period);
	if (run_period_command("get", period, buf, sizeof(buf)) != 0)
	{
		explicit_bzero(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the key of retention period %s was destroyed", period),
				 errhint("Numbers sealed under it were deleted when their retention ended (crypto-shredding); they cannot be opened, from a backup either.")));
	}
	ok = parse_key_output(buf, secret);
	explicit_bzero(buf, sizeof(buf));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("ledger.period_key_command did not print a 32-byte secret"),
				 errhint("Print 64 hexadecimal digits or 44 characters of base64.")));
	md = EVP_MD_CTX_new();
	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		EVP_DigestUpdate(md, "mnl-period-v1|", 14) == 1 &&
		EVP_DigestUpdate(md, period, strlen(period)) == 1 &&
		EVP_DigestUpdate(md, base, KEY_LEN) == 1 &&
		EVP_DigestUpdate(md, secret, KEY_LEN) == 1 &&
		EVP_DigestFinal_ex(md, out, &mdlen) == 1 && mdlen == KEY_LEN;
	EVP_MD_CTX_free(md);
	explicit_bzero(secret, sizeof(secret));
	if (!ok)
		elog(ERROR, "SHA-256 failed while deriving a period wrapping key");
}

static void
wrap_key(const uint8 *base_kek, const uint8 *dek, const char *purpose, int32 version, uint8 *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	char		aad[96];
	int			len;
	uint8		kek_to_use[KEY_LEN];

	aad_for(purpose, version, aad, sizeof(aad));
	wrapping_key(base_kek, purpose, kek_to_use);
	if (RAND_bytes(out, WRAP_NONCE) != 1)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a nonce")));
	if (ctx == NULL ||
		EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek_to_use, out) != 1 ||
		EVP_EncryptUpdate(ctx, NULL, &len, (const uint8 *) aad, strlen(aad)) != 1 ||
		EVP_EncryptUpdate(ctx, out + WRAP_NONCE, &len, dek, KEY_LEN) != 1 ||
		EVP_EncryptFinal_ex(ctx, out + WRAP_NONCE + len, &len) != 1 ||
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, WRAP_TAG, out + WRAP_NONCE + KEY_LEN) != 1)
	{
		EVP_CIPHER_CTX_free(ctx);
		explicit_bzero(kek_to_use, KEY_LEN);
		elog(ERROR, "AES-256-GCM failed while wrapping a data key");
	}
	EVP_CIPHER_CTX_free(ctx);
	explicit_bzero(kek_to_use, KEY_LEN);
}

/* value of a wrapped key as a bytea for ledger.data_key */
static bytea *
wrapped_bytea(const uint8 *wrapped)
{
	bytea	   *b = palloc(VARHDRSZ + WRAPPED_LEN);

	SET_VARSIZE(b, VARHDRSZ + WRAPPED_LEN);
	memcpy(VARDATA(b), wrapped, WRAPPED_LEN);
	return b;
}

/* A fresh random data key for purpose and version, wrapped with the KEK (never kept clear). */
static bytea *
new_wrapped_key(const char *purpose, int32 version)
{
	uint8		dek[KEY_LEN];
	uint8		wrapped[WRAPPED_LEN];

	if (RAND_bytes(dek, KEY_LEN) != 1)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate a data key")));
	wrap_key(kek, dek, purpose, version, wrapped);
	explicit_bzero(dek, KEY_LEN);
	return wrapped_bytea(wrapped);
}

static bool
try_unwrap(const uint8 *kek_to_use, const uint8 *wrapped, const char *aad, uint8 *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int			len;
	bool		ok;

	ok = ctx != NULL &&
		EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek_to_use, wrapped) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &len, (const uint8 *) aad, strlen(aad)) == 1 &&
		EVP_DecryptUpdate(ctx, out, &len, wrapped + WRAP_NONCE, KEY_LEN) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, WRAP_TAG,
							(void *) (wrapped + WRAP_NONCE + KEY_LEN)) == 1 &&
		EVP_DecryptFinal_ex(ctx, out + len, &len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		explicit_bzero(out, KEY_LEN);
	return ok;
}

/*
 * Unwrap with the key-encryption key; during a KEK rotation (after rewrap_data_keys, before
 * the restart that makes the next key current) with the next one too.
 */
static void
unwrap_key(const uint8 *wrapped, int wlen, int32 key_id, const char *purpose, int32 version,
		   uint8 *out)
{
	char		aad[96];
	uint8		k[KEY_LEN];
	bool		ok;

	if (wlen != WRAPPED_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("data key %d is malformed", key_id),
				 errhint("ledger.data_key was altered outside the extension.")));
	aad_for(purpose, version, aad, sizeof(aad));
	wrapping_key(kek, purpose, k);
	ok = try_unwrap(k, wrapped, aad, out);
	if (!ok && kek_next != NULL)
	{
		wrapping_key(kek_next, purpose, k);
		ok = try_unwrap(k, wrapped, aad, out);
	}
	explicit_bzero(k, KEY_LEN);
	if (ok)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("data key %d does not open with the configured key-encryption key", key_id),
			 errhint("ledger.kek_command returns a different key from the one this database's keys were wrapped with.")));
}

/*
 * Bumped whenever the cached keys are forgotten (an abort, a key destroyed anywhere): a user
 * of this file's keys that keeps state keyed with one (a cipher context) compares it with
 * keys_cache_epoch() and re-keys when it moved.  Keys never call into their users.
 */
static uint64 cache_epoch = 1;

uint64
keys_cache_epoch(void)
{
	return cache_epoch;
}

/*
 * A transaction that aborts may have made a key that was never committed: forget every
 * unwrapped key (zeroed) so that nothing sealed later uses it.
 */
static void
keys_xact_callback(XactEvent event, void *arg)
{
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) && cache != NULL)
	{
		explicit_bzero(cache, sizeof(CachedKey) * MAX_CACHED_KEYS);
		ncached = 0;
		active_checked_in = InvalidLocalTransactionId;
		cache_epoch++;
	}
}

/* At backend exit, zero the unwrapped data keys. */
static void
zero_cache(int code, Datum arg)
{
	if (cache != NULL)
		explicit_bzero(cache, sizeof(CachedKey) * MAX_CACHED_KEYS);
	ncached = 0;
}

static CachedKey *
cache_slot(void)
{
	if (cache == NULL)
	{
		cache = secret_page(sizeof(CachedKey) * MAX_CACHED_KEYS);
		on_proc_exit(zero_cache, (Datum) 0);
		RegisterXactCallback(keys_xact_callback, NULL);
	}
	if (ncached == MAX_CACHED_KEYS)
	{
		/* Full: forget everything (zeroed) and start again. */
		explicit_bzero(cache, sizeof(CachedKey) * MAX_CACHED_KEYS);
		ncached = 0;
		cache_epoch++;
	}
	return &cache[ncached++];
}

/*
 * A counter in shared memory bumped whenever a data key is destroyed (crypto-shredding):
 * every backend drops its unwrapped keys at its next use.
 */
typedef struct KeysShared
{
	pg_atomic_uint64 generation;
} KeysShared;

static KeysShared *keys_shared = NULL;

void
keys_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(KeysShared)));
}

void
keys_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	keys_shared = ShmemInitStruct("mynumber_ledger keys", sizeof(KeysShared), &found);
	if (!found)
		pg_atomic_init_u64(&keys_shared->generation, 0);
	LWLockRelease(AddinShmemInitLock);
}

static uint64
keys_generation(void)
{
	return keys_shared ? pg_atomic_read_u64(&keys_shared->generation) : 0;
}

static CachedKey *
cached(int32 key_id)
{
	static uint64 seen_generation = 0;
	uint64		gen = keys_generation();
	int			i;

	/* A key destroyed anywhere (crypto-shredding) must not stay usable here. */
	if (gen != seen_generation)
	{
		if (cache != NULL)
			explicit_bzero(cache, sizeof(CachedKey) * MAX_CACHED_KEYS);
		ncached = 0;
		active_checked_in = InvalidLocalTransactionId;
		cache_epoch++;
		seen_generation = gen;
	}
	for (i = 0; i < ncached; i++)
		if (cache[i].key_id == key_id)
			return &cache[i];
	return NULL;
}

/* Read and unwrap key rows matching the query (in SPI, as owner) into the cache. */
static void
load_keys(const char *where, Datum arg, Oid argtype)
{
	char	   *sql = psprintf("SELECT key_id, purpose, version, wrapped FROM ledger.data_key "
							   "WHERE destroyed_at IS NULL AND %s", where);
	uint64		i;

	/* Not read-only: a key made earlier in this transaction must be seen. */
	if (SPI_execute_with_args(sql, 1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ledger.data_key");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		TupleDesc	d = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		key_id = DatumGetInt32(SPI_getbinval(t, d, 1, &isnull));
		char	   *purpose = TextDatumGetCString(SPI_getbinval(t, d, 2, &isnull));
		int32		version = DatumGetInt32(SPI_getbinval(t, d, 3, &isnull));
		bytea	   *w = DatumGetByteaPP(SPI_getbinval(t, d, 4, &isnull));
		CachedKey  *k = cached(key_id);

		if (k == NULL)
		{
			uint8		dek[KEY_LEN];

			/* Cache only a key that unwrapped: a failure must leave no entry behind. */
			unwrap_key((uint8 *) VARDATA_ANY(w), VARSIZE_ANY_EXHDR(w), key_id, purpose, version, dek);
			k = cache_slot();
			k->key_id = key_id;
			k->active = false;
			strlcpy(k->purpose, purpose, sizeof(k->purpose));
			memcpy(k->key, dek, KEY_LEN);
			explicit_bzero(dek, KEY_LEN);
		}
	}
}

/* Arguments and result of find_active_key. */
typedef struct ActiveKeyWork
{
	const char *purpose;
	CachedKey  *found;
} ActiveKeyWork;

/* In SPI as the key owner: find (or, on first use, make) the purpose's active key. */
static void
find_active_key(void *arg)
{
	ActiveKeyWork *w = arg;
	Datum		p = CStringGetTextDatum(w->purpose);
	Oid			t = TEXTOID;
	int			i;

	if (SPI_execute_with_args("SELECT key_id FROM ledger.data_key WHERE purpose = $1 "
							  "AND retired_at IS NULL AND destroyed_at IS NULL "
							  "ORDER BY version DESC LIMIT 1", 1, &t, &p, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read ledger.data_key");
	if (SPI_processed == 0)
	{
		/* First use of this purpose: make its first key (serialised by a lock). */
		Oid			types[3] = {TEXTOID, INT4OID, BYTEAOID};
		Datum		args[3];

		SPI_execute("LOCK TABLE ledger.data_key IN SHARE ROW EXCLUSIVE MODE", false, 0);
		if (SPI_execute_with_args("SELECT key_id FROM ledger.data_key WHERE purpose = $1 "
								  "AND retired_at IS NULL AND destroyed_at IS NULL",
								  1, &t, &p, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read ledger.data_key");
		if (SPI_processed == 0)
		{
			args[0] = p;
			args[1] = Int32GetDatum(1);
			args[2] = PointerGetDatum(new_wrapped_key(w->purpose, 1));
			if (SPI_execute_with_args("INSERT INTO ledger.data_key (key_id, purpose, version, wrapped) "
									  "SELECT coalesce(max(key_id), 0) + 1, $1, $2, $3 FROM ledger.data_key",
									  3, types, args, NULL, false, 0) != SPI_OK_INSERT)
				elog(ERROR, "could not store a new data key");
			CommandCounterIncrement();
		}
		SPI_execute_with_args("SELECT key_id FROM ledger.data_key WHERE purpose = $1 "
							  "AND retired_at IS NULL AND destroyed_at IS NULL "
							  "ORDER BY version DESC LIMIT 1", 1, &t, &p, NULL, false, 1);
	}
	if (SPI_processed == 1)
	{
		bool		isnull;
		int32		id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		load_keys("key_id = $1", Int32GetDatum(id), INT4OID);
		for (i = 0; i < ncached; i++)
			if (strcmp(cache[i].purpose, w->purpose) == 0)
				cache[i].active = (cache[i].key_id == id);
		w->found = cached(id);
	}
}

/* The newest usable key of a purpose, created on first use. */
const uint8 *
keys_active(const char *purpose, int32 *key_id)
{
	int			i;
	ActiveKeyWork w = {purpose, NULL};

	require_kek();
	/* Rotation is seen by the next transaction: look the active key up once per transaction. */
	if (active_checked_in == MNL_MY_LXID)
	{
		for (i = 0; i < ncached; i++)
			if (cache[i].active && strcmp(cache[i].purpose, purpose) == 0)
			{
				*key_id = cache[i].key_id;
				return cache[i].key;
			}
	}
	mnl_as_owner(find_active_key, &w, MNL_OWNER_RESTRICTED);
	if (w.found == NULL)
		elog(ERROR, "no data key for purpose \"%s\"", purpose);
	active_checked_in = MNL_MY_LXID;
	*key_id = w.found->key_id;
	return w.found->key;
}

static void
load_key_by_id(void *arg)
{
	load_keys("key_id = $1", Int32GetDatum(*(int32 *) arg), INT4OID);
}

/* The key with this id (any version), to open what it sealed. */
const uint8 *
keys_by_id(int32 key_id, const char *purpose)
{
	CachedKey  *k = cached(key_id);

	require_kek();
	if (k == NULL)
	{
		mnl_as_owner(load_key_by_id, &key_id, MNL_OWNER_RESTRICTED);
		k = cached(key_id);
	}
	/* a retention-period key ("number:<period>") opens what it sealed like any number key */
	if (k == NULL || !(strcmp(k->purpose, purpose) == 0 ||
					   (strcmp(purpose, KEY_PURPOSE_NUMBER) == 0 && is_period_purpose(k->purpose))))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("sealed value names data key %d, which does not exist or was destroyed", key_id),
				 errhint("Values whose key was destroyed (crypto-shredding) cannot be opened.")));
	return k->key;
}

/*
 * The purpose (key family) of the key with this id: "number", "number:<period>", ... in a
 * string the caller may keep for the transaction; NULL when it does not exist or was
 * destroyed.
 */
const char *
keys_purpose_of(int32 key_id)
{
	CachedKey  *k = cached(key_id);

	require_kek();
	if (k == NULL)
	{
		mnl_as_owner(load_key_by_id, &key_id, MNL_OWNER_RESTRICTED);
		k = cached(key_id);
	}
	return k ? pstrdup(k->purpose) : NULL;
}

/* ledger.active_key_id(purpose): the key id new values are sealed with. */
Datum
keys_active_id(PG_FUNCTION_ARGS)
{
	char	   *purpose = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		id;

	(void) keys_active(purpose, &id);
	PG_RETURN_INT32(id);
}

typedef struct RotateWork
{
	const char *purpose;
	int32		new_id;
} RotateWork;

/* In SPI as the key owner: retire the purpose's key and store the next version. */
static void
rotate_work(void *arg)
{
	RotateWork *r = arg;
	Oid			types[3] = {TEXTOID, INT4OID, BYTEAOID};
	Datum		args[3];
	bool		isnull;
	int32		version;

	SPI_execute("LOCK TABLE ledger.data_key IN SHARE ROW EXCLUSIVE MODE", false, 0);
	args[0] = CStringGetTextDatum(r->purpose);
	SPI_execute_with_args("SELECT coalesce(max(version), 0) + 1 FROM ledger.data_key WHERE purpose = $1",
						  1, types, args, NULL, false, 1);
	version = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	args[1] = Int32GetDatum(version);
	args[2] = PointerGetDatum(new_wrapped_key(r->purpose, version));
	if (SPI_execute_with_args("UPDATE ledger.data_key SET retired_at = now() WHERE purpose = $1 AND retired_at IS NULL",
							  1, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not retire the data key");
	if (SPI_execute_with_args("INSERT INTO ledger.data_key (key_id, purpose, version, wrapped) "
							  "SELECT coalesce(max(key_id), 0) + 1, $1, $2, $3 FROM ledger.data_key RETURNING key_id",
							  3, types, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "could not store the new data key");
	r->new_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * ledger.rotate_key(purpose) RETURNS integer: a new version of the purpose's data key seals
 * from now on; the previous one is retired (still opens what it sealed, until rekeyed).
 */
Datum
keys_rotate(PG_FUNCTION_ARGS)
{
	RotateWork	r = {text_to_cstring(PG_GETARG_TEXT_PP(0)), 0};
	int32		old_id;

	if (strcmp(r.purpose, KEY_PURPOSE_NUMBER) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("only the \"number\" data key can be rotated"),
				 errhint("Rotating the blind-index key would need every stored index recomputed; it is not supported yet.")));
	(void) keys_active(r.purpose, &old_id);
	mnl_as_owner(rotate_work, &r, MNL_OWNER_RESTRICTED);
	active_checked_in = InvalidLocalTransactionId;
	PG_RETURN_INT32(r.new_id);
}

/* In SPI as the key owner: wrap every data key again with the next KEK; counts them. */
static void
rewrap_work(void *arg)
{
	int32	   *count = arg;
	SPITupleTable *keys;
	uint64		nkeys;
	uint64		i;

	SPI_execute("LOCK TABLE ledger.data_key IN SHARE ROW EXCLUSIVE MODE", false, 0);
	if (SPI_execute("SELECT key_id, purpose, version, wrapped FROM ledger.data_key "
					"WHERE destroyed_at IS NULL ORDER BY key_id", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ledger.data_key");
	keys = SPI_tuptable;
	nkeys = SPI_processed;
	for (i = 0; i < nkeys; i++)
	{
		bool		isnull;
		int32		key_id = DatumGetInt32(SPI_getbinval(keys->vals[i], keys->tupdesc, 1, &isnull));
		char	   *purpose = TextDatumGetCString(SPI_getbinval(keys->vals[i], keys->tupdesc, 2, &isnull));
		int32		version = DatumGetInt32(SPI_getbinval(keys->vals[i], keys->tupdesc, 3, &isnull));
		bytea	   *old = DatumGetByteaPP(SPI_getbinval(keys->vals[i], keys->tupdesc, 4, &isnull));
		uint8		dek[KEY_LEN];
		uint8		wrapped[WRAPPED_LEN];
		Oid			types[2] = {BYTEAOID, INT4OID};
		Datum		args[2];

		unwrap_key((uint8 *) VARDATA_ANY(old), VARSIZE_ANY_EXHDR(old), key_id, purpose, version, dek);
		wrap_key(kek_next, dek, purpose, version, wrapped);
		explicit_bzero(dek, KEY_LEN);
		args[0] = PointerGetDatum(wrapped_bytea(wrapped));
		args[1] = Int32GetDatum(key_id);
		if (SPI_execute_with_args("UPDATE ledger.data_key SET wrapped = $1 WHERE key_id = $2",
								  2, types, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not rewrap data key %d", key_id);
		(*count)++;
	}
}

/*
 * ledger.rewrap_data_keys() RETURNS integer: KEK rotation.  Every data key is unwrapped with
 * the current key-encryption key and wrapped again with the one ledger.kek_command_next
 * supplied; the operator then makes that the ledger.kek_command and restarts.
 */
Datum
keys_rewrap(PG_FUNCTION_ARGS)
{
	int32		count = 0;

	require_kek();
	if (kek_next == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no next key-encryption key is configured"),
				 errhint("Set ledger.kek_command_next to a command printing the new key and restart the server first.")));
	mnl_as_owner(rewrap_work, &count, MNL_OWNER_RESTRICTED);
	PG_RETURN_INT32(count);
}

typedef struct ForgetWork
{
	const char *period;
	int32		count;
} ForgetWork;

static void
forget_work(void *arg)
{
	ForgetWork *w = arg;
	Datum		p = CStringGetTextDatum(psprintf(KEY_PURPOSE_PERIOD_PREFIX "%s", w->period));
	Oid			t = TEXTOID;

	if (SPI_execute_with_args("UPDATE ledger.data_key SET destroyed_at = pg_catalog.now() "
							  "WHERE purpose = $1 AND destroyed_at IS NULL", 1, &t, &p, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not mark the period's keys destroyed");
	w->count = (int32) SPI_processed;
}

/*
 * SQL function ledger._key_period(purpose text) RETURNS text: the retention period of a
 * period key's purpose ("number:2031" gives "2031"), NULL for any other purpose.  The one
 * place SQL learns how a period key is named.
 */
Datum
keys_period_of(PG_FUNCTION_ARGS)
{
	char	   *purpose = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (!is_period_purpose(purpose))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(purpose + strlen(KEY_PURPOSE_PERIOD_PREFIX)));
}

/*
 * ledger._forget_period_key(period text) RETURNS integer: crypto-shredding.  Tells
 * ledger.period_key_command to forget the period's secret, marks the period's data keys
 * destroyed and drops every unwrapped key this backend holds.  Owner only; the retention run
 * calls it once no live value is sealed under the period.
 */
Datum
keys_forget_period(PG_FUNCTION_ARGS)
{
	ForgetWork	w;
	int			rc;

	w.period = text_to_cstring(PG_GETARG_TEXT_PP(0));
	w.count = 0;
	check_period(w.period);
	require_kek();
	rc = run_period_command("forget", w.period, NULL, 0);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("ledger.period_key_command could not forget period %s (exit status %d)", w.period, rc),
				 errhint("The period's keys were left as they are; check the command.")));
	mnl_as_owner(forget_work, &w, MNL_OWNER_RESTRICTED);
	if (keys_shared)			/* every backend drops its unwrapped keys at its next use */
		pg_atomic_fetch_add_u64(&keys_shared->generation, 1);
	(void) cached(0);
	PG_RETURN_INT32(w.count);
}
