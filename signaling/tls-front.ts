// One port for both: a TLS connection starts with a handshake record (first byte 0x16), plain
// HTTP with a method name (a letter), so the first byte says which server gets the socket.
// That way `http://localhost:8080/` keeps working on this machine while other devices open
// `https://<lan-address>:8080/` — the very URL the QR code carries — with no second port to
// open in a firewall or to remember.
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';

/** A client that connects and says nothing is dropped after this long (a port scanner, a stuck client). */
export const firstByteDeadlineMs = 10_000;
/** TLS record type of a handshake: every ClientHello starts with it. */
const tlsHandshakeByte = 0x16;

export interface FrontCounters {
  /** Connections closed before their first byte (silent, or reset). */
  silentConnections: number;
}

export interface ProtocolFront {
  server: NetServer;
  /** Ends every connection the front took (handed on or not): shutdown does not wait for a scanner's half handshake. */
  destroyAll(): void;
}

export function createProtocolFront(plain: HttpServer, secure: HttpsServer, counters: FrontCounters, silentDeadlineMs = firstByteDeadlineMs): ProtocolFront {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Until a server takes it, errors (a reset) are the front's to swallow: nobody else is hurt.
    const onEarlyError = (): void => {
      counters.silentConnections++;
      socket.destroy();
    };
    socket.on('error', onEarlyError);
    socket.setTimeout(silentDeadlineMs, () => {
      counters.silentConnections++;
      socket.destroy();
    });
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.off('error', onEarlyError);
      // Put the byte(s) back so the chosen server reads the stream from its start.
      socket.pause();
      socket.unshift(chunk);
      // The TLS server drains what is buffered on the socket itself, then reads from the
      // handle; it must not be resumed here (that would race it for the bytes).
      if (chunk[0] === tlsHandshakeByte) {
        secure.emit('connection', socket);
      } else {
        plain.emit('connection', socket);
        // The HTTP server reads in flowing mode; the pause above would hold it forever.
        socket.resume();
      }
    });
  });
  return {
    server,
    destroyAll: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}
