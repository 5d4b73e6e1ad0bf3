// room.compute over a node the test plays: one Compute per room, node refusals become typed
// ComputeErrors, a kernel the node hands a task to answers through computeTaskDone, and leaving
// the room lets go of everything (no more answers, jobs reject, calls refused).
import { describe, expect, it } from 'vitest';
import { ComputeError } from '../../../src/api/compute.ts';
import { RoomClosedError, TabmeshError } from '../../../src/api/errors.ts';
import { RoomImpl } from '../../../src/api/room.ts';
import { CommandError } from '../../../src/worker/command-error.ts';
import { FakeBackend, nodeId } from './fake-backend.ts';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('room.compute', () => {
  it('is one object per room, registers kernels with the node and runs the tasks it hands over', async () => {
    const backend = new FakeBackend();
    const room = new RoomImpl(backend, nodeId(0), 'r');
    expect(room.compute).toBe(room.compute);
    const kernel = await room.compute.register('triple', (n: number) => n * 3, { concurrency: 2 });
    expect(kernel.kind).toBe('triple');
    expect(backend.commands.find((c) => c.name === 'computeKinds')?.args).toEqual([[{ kind: 'triple', concurrency: 2 }]]);
    backend.publishEvent('compute-task', { key: 'k1', kind: 'triple', input: 5, job: 'j', index: 0, attempt: 1 });
    await settle();
    expect(backend.commands.find((c) => c.name === 'computeTaskDone')?.args).toEqual(['k1', { ok: true, output: 15 }]);
    expect(room.compute.stats()).toMatchObject({ completed: 1, failed: 0 });
  });

  it("turns the node's refusal codes into ComputeErrors, which are TabmeshErrors", async () => {
    const backend = new FakeBackend();
    backend.answer = (name) => {
      if (name === 'computeSubmit') throw new CommandError('no-runner', 'no node runs "blur"');
      return name === 'members' ? [] : true;
    };
    const room = new RoomImpl(backend, nodeId(0), 'r');
    const error = await room.compute
      .submit('blur', { input: 1 })
      .result()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComputeError);
    expect(error).toBeInstanceOf(TabmeshError);
    expect(error).toMatchObject({ code: 'compute-no-runner', message: 'no node runs "blur"' });
  });

  it('after leave: jobs in flight reject, kernels stop answering, calls are refused', async () => {
    const backend = new FakeBackend();
    backend.answer = (name) => (name === 'computeSubmit' ? { id: 'job-1', total: 2 } : name === 'members' ? [] : true);
    const room = new RoomImpl(backend, nodeId(0), 'r');
    await room.compute.register('k', (n: number) => n);
    const job = room.compute.submit('k', { tasks: [1, 2] });
    expect(await job.submitted).toBe('job-1');
    const compute = room.compute;
    await room.leave();
    expect(await job.result().catch((e: unknown) => (e as ComputeError).code)).toBe('compute-unavailable');
    const before = backend.commands.length;
    backend.publishEvent('compute-task', { key: 'k2', kind: 'k', input: 1, job: 'j', index: 0, attempt: 1 });
    await settle();
    expect(backend.commands.length).toBe(before);
    expect(() => room.compute).toThrow(RoomClosedError);
    expect(() => compute.submit('k', { input: 1 })).toThrow(ComputeError);
  });
});
