import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText } from "./signals-text";

describe("Prometheus text", () => {
  it("reads names, labels (with escapes) and values, and skips comments and junk", () => {
    const text = [
      "# HELP holdfast_responses_total Responses.",
      "# TYPE holdfast_responses_total counter",
      'holdfast_responses_total{instance="i1",route="/api/register",code="ok"} 12',
      'odd{v="a \\"quoted\\" \\\\ value\\nnext", w="x",} 1.5e3 1700000000000',
      "bare_metric 7",
      'h_bucket{le="+Inf"} +Inf',
      'broken{v="unterminated} 1',
      "not a metric line",
      "",
    ].join("\n");
    assert.deepEqual(parsePrometheusText(text), [
      { name: "holdfast_responses_total", labels: { instance: "i1", route: "/api/register", code: "ok" }, value: 12 },
      { name: "odd", labels: { v: 'a "quoted" \\ value\nnext', w: "x" }, value: 1500 },
      { name: "bare_metric", labels: {}, value: 7 },
      { name: "h_bucket", labels: { le: "+Inf" }, value: Infinity },
    ]);
  });
});
