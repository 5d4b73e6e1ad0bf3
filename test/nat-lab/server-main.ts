// The real Tabmesh server for the NAT lab, run inside the lab's public namespace
// (`ip netns exec … node`): createTabmeshServer from signaling/server.ts on the given address,
// handing pages the ICE servers of the case. Prints one JSON line {"url":…} once it listens,
// and stops on SIGTERM.
import { createTabmeshServer } from '../../signaling/server.ts';
import type { IceServerConfig } from '../../signaling/ice-config.ts';
import type { TurnRestConfig } from '../../signaling/turn-credentials.ts';

const args = JSON.parse(process.argv[2] ?? '{}') as { host: string; port: number; staticDir: string; iceServers: IceServerConfig; turnRest?: TurnRestConfig };
const server = createTabmeshServer({
  host: args.host,
  port: args.port,
  staticDir: args.staticDir,
  iceServers: args.iceServers,
  ...(args.turnRest ? { turnRest: args.turnRest } : {}),
});
const { url } = await server.listen();
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => void server.close().finally(() => process.exit(0)));
