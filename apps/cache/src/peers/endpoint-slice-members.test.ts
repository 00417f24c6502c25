import { expect, test } from "vitest";
import { membersOfEndpointSlices } from "./endpoint-slice-members.js";

const list = {
  items: [
    {
      ports: [
        { name: "metrics", port: 9090 },
        { name: "registry", port: 5000 },
      ],
      endpoints: [
        { addresses: ["10.0.0.1"], conditions: { ready: true } },
        { addresses: ["10.0.0.2"], conditions: { ready: false } },
        { addresses: ["10.0.0.3"], conditions: {} },
        { addresses: [] },
      ],
    },
    { ports: [{ name: "registry", port: 5000 }], endpoints: [{ addresses: ["fd00::4"] }] },
    { ports: null, endpoints: [{ addresses: ["10.0.0.5"] }] },
  ],
};

test("ready endpoints (a missing condition counts as ready) on the named port are the members", () => {
  expect(membersOfEndpointSlices(list, { portName: "registry", scheme: "http" })).toEqual([
    "http://10.0.0.1:5000",
    "http://10.0.0.3:5000",
    "http://[fd00::4]:5000",
  ]);
});

test("without a port name the slice's first port is used", () => {
  expect(membersOfEndpointSlices(list, { portName: null, scheme: "https" })).toEqual([
    "https://10.0.0.1:9090",
    "https://10.0.0.3:9090",
    "https://[fd00::4]:5000",
  ]);
});

test("an empty answer gives no members", () => {
  expect(membersOfEndpointSlices({}, { portName: null, scheme: "http" })).toEqual([]);
});
