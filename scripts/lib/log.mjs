// Progress lines for the project's scripts: a timestamp and a step name, so a long CI log
// shows where the time went.
const started = Date.now();

export function step(message) {
  const seconds = ((Date.now() - started) / 1000).toFixed(0).padStart(4, " ");
  console.log(`[regmirror ${seconds}s] ${message}`);
}
