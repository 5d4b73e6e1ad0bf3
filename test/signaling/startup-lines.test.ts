// The start-up lines people read: where to go, the certificate to compare, and what the ICE
// configuration means for peers on other networks.
import { describe, expect, it } from 'vitest';
import { certificateLines, iceLines, urlLines } from '../../signaling/startup-lines.ts';
import type { PreparedTls } from '../../signaling/tls-setup.ts';

const fingerprint = Array.from({ length: 32 }, () => 'AB').join(':');
const tls = (generated: boolean, madeBecause: string | null): PreparedTls =>
  ({
    generated,
    madeBecause,
    material: { certFile: '/data/tls/cert.pem', fingerprint256: fingerprint, notAfter: new Date('2027-12-06T00:00:00Z') },
  }) as PreparedTls;

describe('urlLines', () => {
  it('sends this machine to http://localhost and other devices to https', () => {
    expect(urlLines({ local: ['http://localhost:8080/'], lan: ['https://192.168.1.20:8080/'] }, tls(true, null))).toEqual([
      'Tabmesh is running. Open it in several tabs on this machine:',
      '  http://localhost:8080/',
      'On other devices on your network (HTTPS, same port):',
      '  https://192.168.1.20:8080/',
    ]);
  });

  it('warns that other devices cannot run Tabmesh over plain HTTP when TLS is off', () => {
    expect(urlLines({ local: ['http://localhost:8080/'], lan: ['http://192.168.1.20:8080/'] }, null).at(-1)).toMatch(/TLS is off.*no secure context/);
  });
});

describe('certificateLines', () => {
  it('prints the fingerprint of a generated certificate, whether made now and why', () => {
    const made = certificateLines(tls(true, 'the stored one does not name 10.0.0.7'));
    expect(made[0]).toBe('TLS certificate: self-signed, made now (the stored one does not name 10.0.0.7) in /data/tls/cert.pem, valid until 2027-12-06.');
    expect(made).toContain(`  ${fingerprint}`);
    expect(certificateLines(tls(true, null))[0]).toContain('self-signed, kept in /data/tls/cert.pem');
    expect(certificateLines(tls(false, null))).toEqual([
      'TLS certificate: /data/tls/cert.pem (valid until 2027-12-06), SHA-256 fingerprint:',
      `  ${fingerprint}`,
    ]);
    expect(certificateLines(null)).toEqual([]);
  });
});

describe('iceLines', () => {
  it('says what no ICE servers mean, and where to read on', () => {
    expect(iceLines([], 'all', null).join(' ')).toMatch(
      /^ICE servers for pages: none\. .*other networks .*a TURN server: --turn-urls with TABMESH_TURN_SECRET .*or --ice-servers \(see README, "Across networks"\)\.$/,
    );
  });

  it('lists the URLs without credentials, and warns when there is no TURN server', () => {
    const stunOnly = iceLines([{ urls: ['stun:a.example:3478', 'stun:b.example:3478'] }], 'all', null);
    expect(stunOnly[0]).toBe('ICE servers for pages: stun:a.example:3478, stun:b.example:3478.');
    expect(stunOnly[1]).toMatch(/No TURN server: peers behind symmetric NATs/);
    const turn = iceLines([{ urls: 'turn:t.example:3478', username: 'u', credential: 'secret-pass' }], 'relay', null);
    expect(turn).toEqual(['ICE servers for pages: turn:t.example:3478 (relay only: every link goes through TURN).']);
    expect(iceLines([], 'all', { urls: ['turns:t.example:5349'], secret: 'x'.repeat(32), ttlS: 3600 })).toEqual([
      'ICE servers for pages: turns:t.example:5349.',
      '  TURN credentials from the shared secret, valid for 3600 s, issued in /config.json.',
    ]);
  });
});
