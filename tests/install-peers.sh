#!/usr/bin/env bash
# Installs the real peers the end-to-end tests talk to: Postfix (told not to
# configure itself, so nothing starts on port 25; the tests run their own
# instances on 127.0.0.1), swaks with the Perl TLS modules for STARTTLS, and
# LibreOffice without a GUI, which must open every disarmed document,
# poppler-utils, which must open, render and read every rebuilt PDF, and
# oletools and pikepdf (PyPI), which must find nothing active in what mugai
# delivers, and PostgreSQL's server, for the shared store (the tests run
# their own clusters with initdb and pg_ctl; none is created at install).
# Debian/Ubuntu, as root (or through sudo). Does nothing when all are there.
set -euo pipefail
if command -v postfix >/dev/null && command -v swaks >/dev/null \
   && perl -MIO::Socket::SSL -e 1 2>/dev/null && command -v soffice >/dev/null \
   && command -v pdftoppm >/dev/null \
   && python3 -c 'import oletools, pikepdf' 2>/dev/null \
   && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
$sudo mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/mugai-tests.conf >/dev/null
$sudo apt-get install -y -qq --no-install-recommends \
  postfix swaks libnet-ssleay-perl libio-socket-ssl-perl \
  libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui poppler-utils \
  postgresql >/dev/null
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore oletools==0.60.2 pikepdf==10.18.0
