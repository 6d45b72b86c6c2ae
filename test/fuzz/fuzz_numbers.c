/*
 * fuzz_numbers.c — libFuzzer target over the number parser (src/numbers/numparse.c), built and run
 * outside the server by test/fuzz/run.sh.
 *
 * For every input it asserts, besides "no crash, no undefined behaviour, no read past the
 * end" (ASan and UBSan watch those):
 *   - an accepted My Number satisfies the formula of 平成26年総務省令第85号 第5条, written
 *     here a second time, independently, in its own words (Pn counted from the right);
 *   - an accepted corporate number satisfies 平成26年財務省令第70号 第2条, likewise;
 *   - the digits of an accepted input, read independently, are the digits stored;
 *   - the stored value prints and parses back to itself, plain and grouped;
 *   - the all-zero number is accepted only when allowed;
 *   - a refusal never reports a position past the input;
 *   - the log masker (src/numbers/nummask.c) changes only digits, keeps the length, leaves
 *     nothing it would mask a second time, and masks every input the type accepts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numbers/numparse.h"

#define CHECK(cond) \
	do { if (!(cond)) { fprintf(stderr, "property failed: %s (line %d)\n", #cond, __LINE__); abort(); } } while (0)

/* The law's own statement: Pn is the n-th digit from the right of the 11-digit base. */
static int
reference_mynumber_check(const char *twelve)
{
	int			sum = 0;

	for (int n = 1; n <= 11; n++)
	{
		int			p = twelve[11 - n] - '0';
		int			q = n <= 6 ? n + 1 : n - 5;

		sum += p * q;
	}
	return (sum % 11) <= 1 ? 0 : 11 - (sum % 11);
}

static int
reference_corporate_check(const char *thirteen)
{
	int			sum = 0;

	for (int n = 1; n <= 12; n++)
	{
		int			p = thirteen[13 - n] - '0';

		sum += p * ((n % 2) ? 1 : 2);
	}
	return 9 - sum % 9;
}

/* The digits of the input, ASCII or full-width (EF BC 90..99), in order. */
static size_t
input_digits(const uint8_t *data, size_t size, char *out, size_t cap)
{
	size_t		n = 0;

	for (size_t i = 0; i < size; i++)
	{
		int			d = -1;

		if (data[i] >= '0' && data[i] <= '9')
			d = data[i] - '0';
		else if (i + 2 < size && data[i] == 0xEF && data[i + 1] == 0xBC &&
				 data[i + 2] >= 0x90 && data[i + 2] <= 0x99)
		{
			d = data[i + 2] - 0x90;
			i += 2;
		}
		if (d >= 0)
		{
			if (n < cap)
				out[n] = (char) ('0' + d);
			n++;
		}
	}
	return n;
}

static void
check_mynumber(const uint8_t *data, size_t size, int allow_zero)
{
	int64_t		v = -1;
	np_detail	d = {0, 0};
	np_status	st = np_parse_mynumber((const char *) data, size, allow_zero, &v, &d);

	if (st == NP_OK)
	{
		char		text[NP_MYNUMBER_DIGITS + 1];
		char		seen[32];
		char		grouped[15];
		int64_t		again = -1;

		CHECK(v >= 0 && v < 1000000000000LL);
		CHECK(v != 0 || allow_zero);
		np_format(v, NP_MYNUMBER_DIGITS, text);
		CHECK(reference_mynumber_check(text) == text[11] - '0');
		CHECK(input_digits(data, size, seen, sizeof(seen)) == NP_MYNUMBER_DIGITS);
		CHECK(memcmp(seen, text, NP_MYNUMBER_DIGITS) == 0);
		CHECK(np_parse_mynumber(text, strlen(text), allow_zero, &again, &d) == NP_OK && again == v);
		snprintf(grouped, sizeof(grouped), "%.4s-%.4s-%.4s", text, text + 4, text + 8);
		CHECK(np_parse_mynumber(grouped, strlen(grouped), allow_zero, &again, &d) == NP_OK && again == v);
	}
	else if (st == NP_BAD_CHAR)
		CHECK(d.position >= 1 && (size_t) d.position <= size);
}

static void
check_corporate(const uint8_t *data, size_t size)
{
	int64_t		v = -1;
	np_detail	d = {0, 0};
	np_status	st = np_parse_corporate((const char *) data, size, &v, &d);

	if (st == NP_OK)
	{
		char		text[NP_CORPORATE_DIGITS + 1];
		char		seen[32];
		int64_t		again = -1;

		CHECK(v >= 0 && v < 10000000000000LL);
		np_format(v, NP_CORPORATE_DIGITS, text);
		CHECK(text[0] != '0');
		CHECK(reference_corporate_check(text) == text[0] - '0');
		CHECK(input_digits(data, size, seen, sizeof(seen)) == NP_CORPORATE_DIGITS);
		CHECK(memcmp(seen, text, NP_CORPORATE_DIGITS) == 0);
		CHECK(np_parse_corporate(text, strlen(text), &again, &d) == NP_OK && again == v);
	}
	else if (st == NP_BAD_CHAR)
		CHECK(d.position >= 1 && (size_t) d.position <= size);
}

static void
check_base(const uint8_t *data, size_t size)
{
	uint8_t		base[12];
	np_detail	d = {0, 0};

	if (np_parse_base((const char *) data, size, 11, base, &d) == NP_OK)
	{
		int			c = np_mynumber_check_digit(base);
		char		text[13];

		CHECK(c >= 0 && c <= 9);
		for (int k = 0; k < 11; k++)
			text[k] = (char) ('0' + base[k]);
		text[11] = (char) ('0' + c);
		text[12] = '\0';
		CHECK(reference_mynumber_check(text) == c);
	}
	if (np_parse_base((const char *) data, size, 12, base, &d) == NP_OK)
	{
		int			c = np_corporate_check_digit(base);

		CHECK(c >= 1 && c <= 9);
	}
}

static void
check_mask(const uint8_t *data, size_t size)
{
	char	   *text = malloc(size ? size : 1);

	memcpy(text, data, size);
	np_mask_numbers(text, size);
	for (size_t i = 0; i < size; i++)
	{
		unsigned char before = data[i];
		unsigned char after = (unsigned char) text[i];

		if (before == after)
			continue;
		/* an ASCII digit became '*', or the last byte of a full-width digit became 0x8A */
		CHECK((before >= '0' && before <= '9' && after == '*') ||
			  (before >= 0x90 && before <= 0x99 && after == 0x8A && i >= 2 &&
			   data[i - 2] == 0xEF && data[i - 1] == 0xBC));
	}
	CHECK(!np_mask_numbers(text, size));	/* idempotent: nothing valid left */
	/* whatever the type accepts is masked: the masked input no longer parses */
	{
		int64_t		v;
		np_detail	d;
		size_t		a = 0, b = size;

		/* the parser allows surrounding blanks; the masker starts and ends at digits */
		while (a < b && (data[a] == ' ' || (data[a] >= '\t' && data[a] <= '\r')))
			a++;
		while (b > a && (data[b - 1] == ' ' || (data[b - 1] >= '\t' && data[b - 1] <= '\r')))
			b--;
		if (a == 0 && b == size && np_parse_mynumber((const char *) data, size, false, &v, &d) == NP_OK)
			CHECK(np_parse_mynumber(text, size, false, &v, &d) != NP_OK);
	}
	free(text);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t    *copy = malloc(size ? size : 1);

	memcpy(copy, data, size);
	check_mynumber(copy, size, 0);
	check_mynumber(copy, size, 1);
	check_corporate(copy, size);
	check_base(copy, size);
	check_mask(copy, size);
	free(copy);
	return 0;
}
