/**
 * The worker: TsTicketWorkflow on one task queue.
 *
 *   TEMPORAL_ADDRESS=127.0.0.1:7233 TASK_QUEUE=ts-tickets npm run worker
 *
 * It prints `worker running` once it polls; SIGINT or SIGTERM stops it gracefully.
 */
import { NativeConnection, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.TASK_QUEUE;
  if (!taskQueue) throw new Error('TASK_QUEUE is missing, and has no default.');

  const began = Date.now();
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      // Bundled with webpack here, at start: the compiled workflows module and its imports.
      workflowsPath: require.resolve('./workflows'),
    });
    const running = worker.run();
    console.log(`worker running on ${taskQueue} after ${Date.now() - began} ms`);
    await running;
  } finally {
    await connection.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
