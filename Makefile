# mynumber_ledger — built with PGXS.
#
#   make                 build the module and the install script (warnings are errors)
#   make install         install into the server that pg_config names
#   scripts/test.sh      build, then run every suite against a throwaway cluster
#
# The install script mynumber_ledger--<version>.sql is the concatenation of SQL_PARTS in the
# order given here: each part may use what the parts before it created.

EXTENSION  = mynumber_ledger
EXTVERSION = $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)

SQL_PARTS  = src/core/init.sql \
             src/keys/keys.sql \
             src/numbers/numbers.sql \
             src/sealed/sealed.sql \
             src/audit/audit.sql \
             src/audit/audit_reports.sql \
             src/staff/staff.sql \
             src/ledger/ledger.sql \
             src/guard/files.sql \
             src/network/network.sql \
             src/linkage/linkage.sql \
             src/disclosure/disclosure.sql \
             src/retention/retention.sql \
             src/allowance/allowance.sql \
             src/allowance/payments.sql \
             src/audit/access_history.sql

MODULE_big = $(EXTENSION)
# One folder per room (src/README.md); every room's C files make the one library.
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*/*.c)))

DATA_built = $(EXTENSION)--$(EXTVERSION).sql
# the frozen install scripts of earlier releases and the upgrade scripts between them
DATA       = $(wildcard src/upgrade/$(EXTENSION)--*.sql)

REGRESS      = $(basename $(notdir $(sort $(wildcard sql/*.sql))))
# The suites share one database, mnl_regress, where scripts/test.sh has created the extension
# and where the audit writer runs (ledger.database).
REGRESS_OPTS = --inputdir=. --outputdir=test/results/regress --use-existing

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS   = -Wall -Werror -Wmissing-prototypes -Wno-declaration-after-statement
SHLIB_LINK  = -lcrypto

EXTRA_CLEAN = $(DATA_built) test/results test/fuzz/fuzz_numbers po/*.mo

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# After the include: PGXS sets its own default.
CONTRIB_TESTDB = mnl_regress

# Message catalogs (core/nls.c): po/<lang>.po compiled, installed beside PostgreSQL's own.
NLS_LANGUAGES = ja
NLS_MO        = $(addprefix po/,$(addsuffix .mo,$(NLS_LANGUAGES)))
all: $(NLS_MO)
po/%.mo: po/%.po
	msgfmt --check -o $@ $<
install: install-nls
.PHONY: install-nls
install-nls: $(NLS_MO)
	@for lang in $(NLS_LANGUAGES); do \
	    $(MKDIR_P) '$(DESTDIR)$(localedir)'/$$lang/LC_MESSAGES && \
	    $(INSTALL_DATA) po/$$lang.mo '$(DESTDIR)$(localedir)'/$$lang/LC_MESSAGES/$(EXTENSION)-$(MAJORVERSION).mo || exit 1; \
	done
# po/mynumber_ledger.pot: every message id of the C sources (test/process/messages_ja.sh
# checks that each has a translation).  The keywords: ereport's parts and the helpers that
# take a message, its hint or a fragment of it; a helper that takes two (the message and its
# hint) is read in a second pass, xgettext taking one string per call.
XGETTEXT_KEYWORDS  = -k -kerrmsg -kerrhint -kerrdetail -kerrmsg_plural:1,2 -kmnl_gettext -kmnl_gettext_noop \
    -kmnl_sql_msgid --flag=mnl_sql_msgid:1:no-c-format \
    -kguard_refuse:2 -kqueue_refuse:1 -krefuse:1 -krefuse_pooled:2 -krefuse_format:1 -kdeny:3 \
    -krequire_trigger:4 -krefuse_commit:2
XGETTEXT_KEYWORDS2 = -k -kguard_refuse:3 -kqueue_refuse:2 -krefuse:3
POT_OUT ?= po/$(EXTENSION).pot
.PHONY: pot
pot:
	xgettext --from-code=UTF-8 --no-location --sort-output $(XGETTEXT_KEYWORDS) \
	    --package-name=$(EXTENSION) -o $(POT_OUT).1 $(sort $(wildcard src/*/*.c))
	xgettext --from-code=UTF-8 --no-location --sort-output $(XGETTEXT_KEYWORDS2) \
	    --package-name=$(EXTENSION) -o $(POT_OUT).2 $(sort $(wildcard src/*/*.c))
	sed -i 's/charset=CHARSET/charset=UTF-8/' $(POT_OUT).1 $(POT_OUT).2
	msgcat --use-first --sort-output -o $(POT_OUT) $(POT_OUT).1 $(POT_OUT).2
	rm -f $(POT_OUT).1 $(POT_OUT).2

# CREATE EXTENSION converts the script to the database encoding: it must fit EUC_JP too.
$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) $(EXTENSION).control
	cat $(SQL_PARTS) > $@
	@iconv -f UTF-8 -t EUC-JP $@ >/dev/null 2>&1 || { \
	    echo "$@: a character EUC_JP cannot hold (use ASCII punctuation)" >&2; rm -f $@; exit 1; }

# The fuzz target links the parser alone, outside the server.
FUZZ_CC ?= $(CLANG)
test/fuzz/fuzz_numbers: test/fuzz/fuzz_numbers.c src/numbers/numparse.c src/numbers/nummask.c src/numbers/numparse.h
	$(FUZZ_CC) -g -O1 -Wall -Werror -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all -I src -o $@ test/fuzz/fuzz_numbers.c src/numbers/numparse.c src/numbers/nummask.c

.PHONY: fuzz
fuzz: test/fuzz/fuzz_numbers
