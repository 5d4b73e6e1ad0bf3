// A Node peer pointed at `wss://` on a server with its generated, self-signed certificate cannot
// connect: Node trusts only its CA list. The socket just closes (1006) and the peer retries, so
// without this a person sees "closed (code 1006)" again and again and never learns why.

/** TLS errors that mean "this certificate is not trusted here", by Node's error code. */
const untrustedCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** What to do about a socket error, when it is a certificate problem; null for anything else. */
export function certificateProblemNote(error: unknown, url: string): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return null;
  if (untrustedCodes.has(code)) {
    return (
      // Short enough for one log line (log-format.ts cuts at 200 characters); README says more.
      `${url}: certificate not trusted by Node (${code}); trust it with NODE_EXTRA_CA_CERTS=<server's .tabmesh-data>/tls/cert.pem, or use ws://`
    );
  }
  if (code === 'CERT_HAS_EXPIRED') return `${url}: the server's certificate has expired (${code}); the server must renew it.`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `${url}: the server's certificate does not name this address (${code}); use a name or address it covers.`;
  return null;
}
