#!/usr/bin/env bash
# A test grid CA on localhost for pipekit's credential, VOMS, GSI XRootD and ARC tests (no daemon):
# plain openssl makes the CA, a host certificate for localhost and two user certificates; the
# grid tools (voms-proxy-init, arcproxy) make RFC 3820 proxies from them.
#
# usage: tests/infra/gridca.sh start|stop|status|proxy H:M OUT
#   start   install when missing; create the CA and certificates unless they exist; (re)make the
#           standard proxies when missing or past half their lifetime; idempotent
#   proxy   `gridca.sh proxy 0:10 /tmp/p`: a plain RFC proxy of the Test User valid 10 minutes
#   stop    no daemon: removes the proxies (the CA stays, so the other services keep trusting it)
# env knob: GRIDCA_BASE=/tmp/infra/gridca
#
# Layout under $GRIDCA_BASE:
#   ca/                 CA key and openssl ca database
#   certificates/       X509_CERT_DIR in the IGTF layout: <hash>.0 (new and old openssl hash),
#                       .signing_policy (Globus, VOMS, ARC), .namespaces (ARC), <hash>.r0 (CRL)
#   vomsdir/ vomses/    X509_VOMS_DIR and the client vomses (filled by tests/infra/voms.sh)
#   host/hostcert.pem   /DC=org/DC=pipekit-test/CN=localhost (SAN DNS:localhost, IP:127.0.0.1)
#   user/usercert.pem   /DC=org/DC=pipekit-test/CN=Test User (key unencrypted, 0400)
#   other/usercert.pem  /DC=org/DC=pipekit-test/CN=Other User (valid, but no service authorizes it)
#   proxy/x509up_12h    RFC 3820 proxy, 12 h (X509_USER_PROXY of env.sh)
#   proxy/x509up_1h     RFC 3820 proxy, 1 h        proxy/x509up_expired  expired in 2020
#   env.sh              source it: X509_CERT_DIR, X509_VOMS_DIR, X509_VOMSES, VOMS_USERCONF,
#                       X509_USER_CERT/KEY/PROXY
#
# Changes against the prototype (shared/recipes/gridca.sh): state under /tmp/infra; a 12 h proxy
# (a real job's walltime plus pipekit's default margin fits in it); `start` keeps proxies that
# are still fresh (tests running meanwhile read them) and writes new ones to a temporary name
# first; one start at a time (flock).
set -euo pipefail
BASE=${GRIDCA_BASE:-/tmp/infra/gridca}
CA=$BASE/ca
CERTDIR=$BASE/certificates
DCBASE=/DC=org/DC=pipekit-test
CA_DN="$DCBASE/CN=Pipekit Test CA"

install_pkgs() {
    local pkgs="openssl voms-clients nordugrid-arc-client"
    # shellcheck disable=SC2086
    if ! dpkg -s $pkgs >/dev/null 2>&1; then
        # the mirror comes from the machine's own apt configuration
        [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -1)" ] || apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
            --no-install-recommends $pkgs >/dev/null
    fi
}

write_cnf() {
    cat > "$CA/openssl.cnf" <<EOF
[ ca ]
default_ca = testca
[ testca ]
dir = $CA
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir/newcerts
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = anything
unique_subject = no
copy_extensions = none
preserve = yes
[ anything ]
domainComponent = optional
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_host ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_user ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature,keyEncipherment,dataEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

# issue DIR CN EXT: DIR/${PFX}cert.pem + DIR/${PFX}key.pem signed by the CA (once)
issue() {
    local dir=$1 cn=$2 ext=$3 pfx=$4
    [ -s "$dir/${pfx}cert.pem" ] && return 0
    mkdir -p "$dir"
    openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/${pfx}key.pem" -out "$dir/${pfx}.csr" \
        -subj "$DCBASE/CN=$cn" -config "$CA/openssl.cnf" 2>/dev/null
    openssl ca -batch -config "$CA/openssl.cnf" -extensions "$ext" -in "$dir/${pfx}.csr" \
        -out "$dir/${pfx}cert.tmp" -notext >/dev/null 2>&1
    mv "$dir/${pfx}cert.tmp" "$dir/${pfx}cert.pem"
    chmod 0644 "$dir/${pfx}cert.pem"; chmod 0400 "$dir/${pfx}key.pem"; rm -f "$dir/${pfx}.csr"
}

make_ca() {
    mkdir -p "$CA/newcerts" "$CERTDIR" "$BASE/vomsdir" "$BASE/vomses" "$BASE/proxy"
    touch "$BASE/.rnd"   # voms-proxy-init complains "Cannot open file Filename=~/.rnd" without it
    chmod 0700 "$CA"
    # everyone may read the trust anchors: A-REX runs jobs as nobody, xrootd as its own user
    chmod 0755 "$BASE" "$CERTDIR" "$BASE/vomsdir" "$BASE/vomses"
    write_cnf
    if [ ! -s "$CA/ca.pem" ]; then
        : > "$CA/index.txt"; echo 1000 > "$CA/serial"; echo 1000 > "$CA/crlnumber"
        openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout "$CA/ca.key" \
            -out "$CA/ca.pem" -subj "$CA_DN" -config "$CA/openssl.cnf" -extensions v3_ca 2>/dev/null
        chmod 0400 "$CA/ca.key"
    fi
    issue "$BASE/host" localhost v3_host host
    issue "$BASE/user" "Test User" v3_user user
    issue "$BASE/other" "Other User" v3_user user
    [ -s "$CA/crl.pem" ] || openssl ca -gencrl -config "$CA/openssl.cnf" -out "$CA/crl.pem" 2>/dev/null
    local h ho x
    h=$(openssl x509 -in "$CA/ca.pem" -noout -hash)
    ho=$(openssl x509 -in "$CA/ca.pem" -noout -subject_hash_old)
    cp "$CA/ca.pem" "$CERTDIR/pipekit-test-ca.pem"
    cat > "$CERTDIR/pipekit-test-ca.signing_policy" <<EOF
access_id_CA   X509   '$CA_DN'
pos_rights     globus CA:sign
cond_subjects  globus '"$DCBASE/*"'
EOF
    cat > "$CERTDIR/pipekit-test-ca.namespaces" <<EOF
TO Issuer "$CA_DN" \\
  PERMIT Subject "$DCBASE/.*"
EOF
    for x in $h $ho; do
        ln -sf pipekit-test-ca.pem "$CERTDIR/$x.0"
        ln -sf pipekit-test-ca.signing_policy "$CERTDIR/$x.signing_policy"
        ln -sf pipekit-test-ca.namespaces "$CERTDIR/$x.namespaces"
        cp "$CA/crl.pem" "$CERTDIR/$x.r0"
    done
    cat > "$BASE/env.sh" <<EOF
export X509_CERT_DIR=$CERTDIR
export X509_VOMS_DIR=$BASE/vomsdir
export X509_VOMSES=$BASE/vomses
export VOMS_USERCONF=$BASE/vomses
export RANDFILE=$BASE/.rnd
export X509_USER_CERT=$BASE/user/usercert.pem
export X509_USER_KEY=$BASE/user/userkey.pem
export X509_USER_PROXY=$BASE/proxy/x509up_12h
EOF
}

# make_proxy H:M OUT: a plain RFC 3820 proxy of the Test User, written to OUT.tmp first
make_proxy() {
    # shellcheck disable=SC1091
    . "$BASE/env.sh"
    voms-proxy-init -quiet -rfc -valid "$1" -bits 2048 -cert "$X509_USER_CERT" -key "$X509_USER_KEY" \
        -certdir "$X509_CERT_DIR" -out "$2.tmp"
    chmod 0600 "$2.tmp"
    mv -f "$2.tmp" "$2"
}

# fresh FILE SECONDS: FILE exists and lives at least SECONDS more
fresh() {
    [ -s "$1" ] && openssl x509 -in "$1" -noout -checkend "$2" >/dev/null 2>&1
}

start() {
    install_pkgs
    make_ca
    fresh "$BASE/proxy/x509up_12h" 21600 || make_proxy 12:00 "$BASE/proxy/x509up_12h"
    fresh "$BASE/proxy/x509up_1h" 1800 || make_proxy 1:00 "$BASE/proxy/x509up_1h"
    if [ ! -s "$BASE/proxy/x509up_expired" ]; then
        # voms-proxy-init cannot backdate a proxy; arcproxy can (validity constraints)
        X509_CERT_DIR=$CERTDIR arcproxy -C "$BASE/user/usercert.pem" -K "$BASE/user/userkey.pem" \
            -T "$CERTDIR" -P "$BASE/proxy/x509up_expired.tmp" \
            -c validityStart=2020-01-01T00:00:00Z -c validityEnd=2020-01-01T01:00:00Z >/dev/null 2>&1
        chmod 0600 "$BASE/proxy/x509up_expired.tmp"
        mv -f "$BASE/proxy/x509up_expired.tmp" "$BASE/proxy/x509up_expired"
    fi
    status
}

status() {
    local p
    [ -s "$CA/ca.pem" ] || { echo "no test CA under $BASE"; return 1; }
    echo "CA:    $(openssl x509 -in "$CA/ca.pem" -noout -subject -nameopt compat)"
    for p in "$BASE"/proxy/x509up_*; do
        [ -f "$p" ] || continue
        echo "proxy: $p ($(openssl x509 -in "$p" -noout -enddate))"
    done
    echo "source $BASE/env.sh"
}

mkdir -p /tmp/infra
exec 9>/tmp/infra/gridca.sh.lock
flock 9
case "${1:-start}" in
    start) start ;;
    stop) rm -f "$BASE"/proxy/x509up_* ;;
    status) status ;;
    proxy) [ $# -eq 3 ] || { echo "usage: $0 proxy H:M OUTFILE" >&2; exit 2; }; make_proxy "$2" "$3" ;;
    *) echo "usage: $0 start|stop|status|proxy H:M OUT" >&2; exit 2 ;;
esac
