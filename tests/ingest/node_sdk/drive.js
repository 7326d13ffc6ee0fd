// Drives the official node SDK against a trackway server: node drive.js HOST:PORT TOKEN
// Each call is awaited in turn so the log holds them in this order; exits non-zero on any error.
"use strict";
const Mixpanel = require("mixpanel");

const [host, token] = process.argv.slice(2);
const mp = Mixpanel.init(token, { host, protocol: "http" });

function call(fn, ...args) {
  return new Promise((resolve, reject) => {
    fn(...args, (err) => {
      if (err && (!Array.isArray(err) || err.length)) reject(new Error(String(err)));
      else resolve();
    });
  });
}

async function main() {
  // Single events go out as GET with base64 in the query string.
  await call(mp.track.bind(mp), "Opened app", { distinct_id: "n1", screen: "home" });
  await call(mp.track.bind(mp), "Clicked", { distinct_id: "n1", time: new Date(Date.now() - 60000) });
  // Batches go out as POST with base64 in the body, its "+" left unescaped.
  const batch = [];
  for (let i = 0; i < 120; i++) {
    batch.push({ event: "Batched", properties: { distinct_id: `n${i % 5}`, i, text: "??>>~~".repeat(i % 7) } });
  }
  await call(mp.track_batch.bind(mp), batch, { max_batch_size: 50 });
  await call(mp.people.set.bind(mp.people), "n1", { plan: "pro", seats: 3 }, {});
  await call(mp.people.set_once.bind(mp.people), "n1", "first", "yes", {});
  await call(mp.people.increment.bind(mp.people), "n1", "logins", 2, {});
  await call(mp.people.append.bind(mp.people), "n1", "pages", "/a", {});
  await call(mp.people.union.bind(mp.people), "n1", { colors: "red" }, {});
  await call(mp.people.remove.bind(mp.people), "n1", { colors: "red" }, {});
  await call(mp.people.unset.bind(mp.people), "n1", ["first"], {});
  await call(mp.people.track_charge.bind(mp.people), "n1", 9.99, {}, {});
  await call(mp.people.clear_charges.bind(mp.people), "n1", {});
  await call(mp.people.delete_user.bind(mp.people), "n1", {});
  await call(mp.groups.set.bind(mp.groups), "company", "acme", { size: 7 }, {});
  await call(mp.groups.delete_group.bind(mp.groups), "company", "acme", {});
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
