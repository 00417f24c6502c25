// Loaded into the replicas of peer-membership.test.ts (node --import): `*.peers.test` names
// resolve to 127.0.0.1. No DNS server runs here, and the EndpointSlice API refuses loopback IP
// addresses, so the slices name the replicas by FQDN and this stands in for cluster DNS.
import dns from "node:dns";

const resolveName = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof hostname !== "string" || !hostname.endsWith(".peers.test")) {
    return resolveName.call(this, hostname, options, callback);
  }
  const done = typeof options === "function" ? options : callback;
  const all = typeof options === "object" && options !== null && options.all === true;
  if (all) process.nextTick(done, null, [{ address: "127.0.0.1", family: 4 }]);
  else process.nextTick(done, null, "127.0.0.1", 4);
};
