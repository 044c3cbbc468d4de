// Preloaded (`node --import`) into every server the harness starts. The harness keeps the write
// end of the server's stdin open; when the harness goes away for any reason (even SIGKILL) that
// pipe closes and the server exits instead of lingering as an orphan holding a port.
// Only active when BENCH_EXIT_WITH_PARENT=1, so the servers stay runnable by hand.
import process from 'node:process';

if (process.env.BENCH_EXIT_WITH_PARENT === '1') {
  const stdin = process.stdin;
  stdin.on('end', () => process.exit(0));
  stdin.on('close', () => process.exit(0));
  stdin.on('error', () => process.exit(0));
  stdin.resume();
  // Do not keep the process alive by itself: the server's own listener does that.
  stdin.unref?.();
}
