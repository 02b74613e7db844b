#!/usr/bin/env sh
# Regenerates the TLS fixtures under test/fixtures/certs: a test CA, a server certificate for
# 127.0.0.1/localhost, a client certificate signed by the CA, and a "bad" client certificate from an
# unrelated CA. Everything is valid for 100 years so the committed files never need refreshing.
set -eu

DIR="$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/certs"
DAYS=36500
mkdir -p "$DIR"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$DIR"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# Test CA.
key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$DAYS" -subj "/O=Hermod Test/CN=Hermod Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem

# Server certificate for 127.0.0.1 and localhost; also its key encrypted with the passphrase 'hermod'.
key server.key
openssl req -new -key server.key -subj "/O=Hermod Test/CN=localhost" -out "$TMP/server.csr"
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$TMP/server.ext"
openssl x509 -req -in "$TMP/server.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$DAYS" \
  -extfile "$TMP/server.ext" -out server.pem
openssl pkey -in server.key -aes256 -passout pass:hermod -out server-encrypted.key

# Client certificate signed by the test CA (subject O=Acme, CN=dev1).
key client.key
openssl req -new -key client.key -subj "/O=Acme/CN=dev1" -out "$TMP/client.csr"
printf 'extendedKeyUsage=clientAuth\n' > "$TMP/client.ext"
openssl x509 -req -in "$TMP/client.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$DAYS" \
  -extfile "$TMP/client.ext" -out client.pem

# A client certificate the test CA never signed.
key bad-client.key
openssl req -x509 -new -key bad-client.key -sha256 -days "$DAYS" -subj "/O=Mallory/CN=intruder" \
  -out bad-client.pem

rm -f ca.srl
echo "certificates written to $DIR"
