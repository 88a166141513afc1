import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runOrderedWindow } from '../src/util/ordered-window.js';

/** Tasks the test settles by hand: which started, and a way to finish each. */
function manualTasks() {
  const started: number[] = [];
  const finish = new Map<number, (v: string) => void>();
  let running = 0;
  let maxRunning = 0;
  const start = (item: number) => {
    started.push(item);
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<string>((resolve) => {
      finish.set(item, (v) => {
        running--;
        resolve(v);
      });
    });
  };
  return { started, finish, start, maxRunning: () => maxRunning };
}

/** Lets settled tasks' callbacks and the starts they make run. */
async function tick() {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

test('a slow first task does not hold the other slot: finished tasks free it, results stay in order', async () => {
  const t = manualTasks();
  const handed: string[] = [];
  const run = runOrderedWindow(
    [0, 1, 2, 3, 4],
    t.start,
    (r) => {
      handed.push(r);
      return undefined;
    },
    { concurrency: 2, window: 8 },
  );
  await tick();
  assert.deepEqual(t.started, [0, 1]);
  // Items 1, 2 and 3 finish while 0 still runs: each frees its slot for the next one.
  t.finish.get(1)!('b');
  await tick();
  assert.deepEqual(t.started, [0, 1, 2]);
  t.finish.get(2)!('c');
  await tick();
  t.finish.get(3)!('d');
  await tick();
  assert.deepEqual(t.started, [0, 1, 2, 3, 4]);
  assert.deepEqual(handed, [], 'nothing is handed over before the first item');
  t.finish.get(0)!('a');
  t.finish.get(4)!('e');
  const { handedOver, leftOver } = await run;
  assert.deepEqual(handed, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(handedOver, 5);
  assert.equal(leftOver.length, 0);
  assert.equal(t.maxRunning(), 2);
});

test('the window bounds tasks started and not handed over', async () => {
  const t = manualTasks();
  const run = runOrderedWindow([0, 1, 2, 3, 4, 5], t.start, () => undefined, {
    concurrency: 2,
    window: 3,
  });
  await tick();
  t.finish.get(1)!('b');
  await tick();
  t.finish.get(2)!('c');
  await tick();
  assert.deepEqual(t.started, [0, 1, 2], 'three started while the first runs: the window is full');
  t.finish.get(0)!('a');
  await tick();
  assert.deepEqual(t.started, [0, 1, 2, 3, 4]);
  for (const i of [3, 4]) t.finish.get(i)!('x');
  await tick();
  t.finish.get(5)!('y');
  assert.equal((await run).handedOver, 6);
});

test('handOver returning true stops: nothing new starts and the started tasks are left over', async () => {
  const t = manualTasks();
  const handed: string[] = [];
  const run = runOrderedWindow(
    [0, 1, 2, 3],
    t.start,
    (r) => {
      handed.push(r);
      return r === 'enough';
    },
    { concurrency: 2, window: 4 },
  );
  await tick();
  t.finish.get(0)!('enough');
  const { handedOver, leftOver } = await run;
  assert.deepEqual(handed, ['enough']);
  assert.equal(handedOver, 1);
  assert.equal(leftOver.length, 1, 'item 1 had started and is left to settle');
  assert.deepEqual(t.started, [0, 1]);
  t.finish.get(1)!('late');
  assert.equal(await leftOver[0], 'late');
});

test('stopStarting lets the started tasks finish and hands them over, and starts nothing more', async () => {
  const t = manualTasks();
  let stop = false;
  const handed: string[] = [];
  const run = runOrderedWindow(
    [0, 1, 2, 3],
    t.start,
    (r) => {
      handed.push(r);
      return undefined;
    },
    { concurrency: 2, window: 4, stopStarting: () => stop },
  );
  await tick();
  stop = true;
  t.finish.get(1)!('b');
  t.finish.get(0)!('a');
  const { handedOver, leftOver } = await run;
  assert.deepEqual(handed, ['a', 'b']);
  assert.equal(handedOver, 2);
  assert.equal(leftOver.length, 0);
  assert.deepEqual(t.started, [0, 1]);
});

test('a task that rejects rejects the call, and a task settling after it starts no other', async () => {
  const started: number[] = [];
  const finish: ((v: string) => void)[] = [];
  const run = runOrderedWindow(
    [0, 1, 2, 3],
    (i) => {
      started.push(i);
      if (i === 0) return Promise.reject(new Error('task 0 failed'));
      return new Promise<string>((resolve) => finish.push(resolve));
    },
    () => undefined,
    { concurrency: 2, window: 4 },
  );
  await assert.rejects(run, /task 0 failed/);
  finish[0]!('b');
  await tick();
  assert.deepEqual(started, [0, 1]);
});

test('no items: nothing runs', async () => {
  const r = await runOrderedWindow(
    [],
    () => Promise.resolve(1),
    () => undefined,
    {
      concurrency: 2,
      window: 2,
    },
  );
  assert.deepEqual(r, { handedOver: 0, leftOver: [] });
});
