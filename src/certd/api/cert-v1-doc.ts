// The API's documentation in Markdown, served at the `doc` link of discovery. Written for
// certd: what this server does, in short; the OpenAPI document has every field's rule.
import { CERT_V1_BASE } from './cert-v1';

export const CERT_V1_DOC = `# cert.v1: certificates, CA certificates and key stores

Base URL: \`${CERT_V1_BASE}\` (\`${CERT_V1_BASE}beta\` answers the same). Every body is JSON.
A request carries its input as \`{"data": …}\`; an answer is \`{"status":"success"}\`, with
\`"data"\` when there is something to return, or \`{"status":"error","error":{"code":N,"message":"…"}}\`
with an HTTP error status. Reading needs the viewer role or higher; every change needs admin.

## Resources

| Path | What it is |
| --- | --- |
| \`/\` | the whole tree: the four collections below |
| \`/certificates\` | certificates whose private key is in a key store; key \`alias\` |
| \`/ca_certificates\` | trusted CA certificates; key \`alias\` |
| \`/keystores\` | the key stores (\`id\`, \`security_level\`, \`certifications\`, \`key_types\`), read only |
| \`/settings\` | \`keystore\`: where new keys go when a request names none |

An alias is 1 to 128 characters and names one entry across both collections; put it in a
URL percent-encoded. A single field can be read at \`…/<alias>/<field>\`.

## Changes

- Add: \`POST /certificates\` with \`alias\`, \`certificate\` (PEM), \`private_key\` (PEM) and
  optionally \`keystore\`; \`POST /ca_certificates\` with \`alias\` and \`certificate\`. Both answer
  201 with the new entry. A private key is never returned by any request.
- Replace a certificate: \`PATCH /certificates/<alias>\` with \`{"data":{"certificate":…}}\`
  (or \`PATCH …/certificate\` with the PEM as \`data\`). The new certificate must carry the
  same public key; the key stays where it is.
- Remove: \`DELETE /certificates/<alias>\` (its key goes too) or \`DELETE /ca_certificates/<alias>\`.
- Default key store: \`PATCH /settings\` with \`{"data":{"keystore":"<id>"}}\`.

## Actions (POST)

- \`/create_certificate\`: a new key in a key store and a self-signed certificate for it.
  \`alias\` and \`subject\` (e.g. \`CN=camera.example,O=Example\`) are required; \`key_type\`
  (\`EC-P256\` unless given), \`keystore\`, \`subject_alt_names\` (\`["DNS:…","IP:…"]\`),
  \`valid_from\` and \`valid_to\` (Unix seconds; now and a year on unless given) are optional.
- \`/install_from_pkcs12\`: \`alias\`, \`pkcs12\` (the file, base64), \`passphrase\`, optionally
  \`keystore\`.
- \`/certificates/<alias>/get_csr\`: a PKCS#10 request for the entry's key, answered as a PEM
  string in \`data\`. \`subject\` and \`subject_alt_names\` are optional: left out, they are
  taken from the certificate; given empty, they are left out of the request.

## Older clients and options

- PUT is taken wherever PATCH or an action's POST is, with the same meaning (clients
  written for AXIS OS 11.10 and earlier send PUT).
- Unknown fields inside \`data\` are refused (400, code 5) unless the URL carries
  \`?strict=false\`; then they are ignored. Keys beside \`data\` are ignored.

## Errors

Code 1 (404) is a missing resource, code 2 (409) an alias already in use, code 5 (400)
input the rules refuse; the message names the field. The README of certd lists every code.
`;
