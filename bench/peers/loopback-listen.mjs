// Preloaded into y-webrtc's signaling server (node --import): its server.js listens on every
// interface; the benchmark's servers listen on loopback only. A listen(port) without a host
// gets 127.0.0.1, and the port actually bound is printed for the harness to read.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    args = [Number(first), '127.0.0.1', ...args.slice(1).filter((a) => typeof a === 'function')];
  }
  this.once('listening', () => console.log(`LISTENING ${this.address().port}`));
  return listen.apply(this, args);
};
