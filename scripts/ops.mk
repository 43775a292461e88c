# SPDX-License-Identifier: BSD-2-Clause
# Installing xtap: `make install`, `make uninstall`, `make deb`, `make
# test-deb`. Included at the end of the top-level Makefile.
#
# GNU directory variables (override on the command line, DESTDIR for staged
# installs: `make install DESTDIR=/tmp/stage prefix=/usr`). PREFIX is accepted
# as another name for prefix. sysconfdir and localstatedir default to /etc
# and /var, not $(prefix)/etc: xtapd's compiled-in defaults
# (/etc/xtap/xtapd.conf, /var/lib/xtap/state, /var/log/xtap/audit.log) and
# the unit's ConfigurationDirectory= are there.

PREFIX        ?= /usr/local
prefix        ?= $(PREFIX)
exec_prefix   ?= $(prefix)
bindir        ?= $(exec_prefix)/bin
sbindir       ?= $(exec_prefix)/sbin
datarootdir   ?= $(prefix)/share
mandir        ?= $(datarootdir)/man
docdir        ?= $(datarootdir)/doc/xtap
sysconfdir    ?= /etc
# systemd reads /usr/local/lib/systemd/system as well as /lib/systemd/system
systemdunitdir ?= $(prefix)/lib/systemd/system
# the SSH worker's user in the installed unit (the package makes `xtap`)
WORKER_USER   ?= nobody
INSTALL       ?= install

# A distribution's build flags (dpkg-buildflags, through debian/rules'
# environment) reach every shipped program through the top-level Makefile's
# one build: CFLAGS (`CFLAGS ?=`), CPPFLAGS and LDFLAGS in every compile and
# link. Empty in a developer's build.
LDLIBS    += $(LDFLAGS)
DT_LIBS   += $(LDFLAGS)
CD_LIBS   += $(LDFLAGS)

# the package version: debian/changelog's first line, `xtap (VERSION) ...`
XTAP_VERSION := $(shell head -n 1 debian/changelog | cut -d ' ' -f 2 | tr -d '()')


.PHONY: install uninstall deb test-deb

# The unit names the installed paths; everything else is copied as is. The
# example configuration is installed only where none is: never over an
# operator's file (mode 0600: it holds password hashes and DTCP keys).
install: all
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(bindir) $(DESTDIR)$(systemdunitdir) \
		$(DESTDIR)$(sysconfdir)/logrotate.d $(DESTDIR)$(docdir)/examples
	$(INSTALL) -m 0755 $(BUILD)/xtapd $(BUILD)/xtapctl $(DESTDIR)$(sbindir)/
	$(INSTALL) -m 0755 $(BUILD)/dtcp $(BUILD)/xtap-cd $(BUILD)/xtap-x3d $(DESTDIR)$(bindir)/
	for p in $(MAN_PAGES); do \
		s=$${p##*.}; $(INSTALL) -d $(DESTDIR)$(mandir)/man$$s && \
		$(INSTALL) -m 0644 $$p $(DESTDIR)$(mandir)/man$$s/ || exit 1; \
	done
	sed -e 's|/usr/local/sbin/xtapd|$(sbindir)/xtapd|g' \
	    -e 's|/etc/xtap/xtapd.conf|$(sysconfdir)/xtap/xtapd.conf|g' \
	    -e 's|^\(ExecStart=.*xtapd\) -f|\1 -u $(WORKER_USER) -f|' \
	    scripts/xtapd.service > $(DESTDIR)$(systemdunitdir)/xtapd.service.tmp
	chmod 0644 $(DESTDIR)$(systemdunitdir)/xtapd.service.tmp
	mv $(DESTDIR)$(systemdunitdir)/xtapd.service.tmp $(DESTDIR)$(systemdunitdir)/xtapd.service
	$(INSTALL) -m 0644 scripts/xtapd.logrotate $(DESTDIR)$(sysconfdir)/logrotate.d/xtapd
	$(INSTALL) -m 0644 examples/xtapd.conf $(DESTDIR)$(docdir)/examples/xtapd.conf
	$(INSTALL) -d -m 0700 $(DESTDIR)$(sysconfdir)/xtap
	if [ -e $(DESTDIR)$(sysconfdir)/xtap/xtapd.conf ]; then \
		echo "install: keeping $(DESTDIR)$(sysconfdir)/xtap/xtapd.conf (the example is in $(docdir)/examples)"; \
	else \
		$(INSTALL) -m 0600 examples/xtapd.conf $(DESTDIR)$(sysconfdir)/xtap/xtapd.conf; \
	fi

# Removes what install copied. The configuration goes only if it is still
# the example unchanged; the state file, the audit log and the SSH host key
# are records, never removed here (the package's purge does).
uninstall:
	rm -f $(DESTDIR)$(sbindir)/xtapd $(DESTDIR)$(sbindir)/xtapctl $(DESTDIR)$(bindir)/dtcp \
	      $(DESTDIR)$(bindir)/xtap-cd $(DESTDIR)$(bindir)/xtap-x3d $(DESTDIR)$(systemdunitdir)/xtapd.service \
	      $(DESTDIR)$(sysconfdir)/logrotate.d/xtapd $(DESTDIR)$(docdir)/examples/xtapd.conf
	for p in $(MAN_PAGES); do s=$${p##*.}; rm -f $(DESTDIR)$(mandir)/man$$s/$${p#man/}; done
	-rmdir $(DESTDIR)$(docdir)/examples $(DESTDIR)$(docdir) 2>/dev/null
	if cmp -s examples/xtapd.conf $(DESTDIR)$(sysconfdir)/xtap/xtapd.conf; then \
		rm -f $(DESTDIR)$(sysconfdir)/xtap/xtapd.conf; \
		rmdir $(DESTDIR)$(sysconfdir)/xtap 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(sysconfdir)/xtap/xtapd.conf ]; then \
		echo "uninstall: $(DESTDIR)$(sysconfdir)/xtap/xtapd.conf differs from the example: kept"; \
	fi

# The Debian package, built in debian/build (apart from a developer's
# build/). debian/rules is run directly rather than through
# dpkg-buildpackage, so that nothing is written beside the source folder:
# the .deb goes to $(BUILD) (no .changes or .buildinfo: this is not an
# upload). `dpkg-buildpackage -us -uc -b` works too and writes to ../.
deb:
	dpkg-checkbuilddeps
	mkdir -p $(BUILD)
	debian/rules clean
	debian/rules build
	DEB_DESTDIR=$(abspath $(BUILD)) debian/rules binary
	@echo "  DEB      $(BUILD)/xtap_$(XTAP_VERSION)_amd64.deb"

# Installs the built package on this machine, checks it and purges it
# (tests/deb/test_deb.sh; root; refuses when xtap is installed or its paths
# exist). Not in `make test`: it changes the host's package database.
test-deb: deb
	$(Q)tests/run.sh "tests/deb/test_deb.sh $(BUILD)/xtap_$(XTAP_VERSION)_amd64.deb"

# make install and uninstall into a staging folder (no root, a few seconds)
TESTS_EXTRA += 'tests/install/test_install.sh $(BUILD)'
