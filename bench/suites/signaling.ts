// `npm run bench -- signaling [--quick] …`: the signaling server under load and under abuse.
// The suite lives in bench/signaling/ (one file per job); see suite.ts for its flags.
export { run } from '../signaling/suite.ts';
